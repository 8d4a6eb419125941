"""Which address a request comes from (``MERCADO_TRUSTED_PROXIES`` and X-Forwarded-For)."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from shop_api.core.client_address import rate_limit_subject, resolve_client_address
from shop_api.core.config import Settings

PROXIES = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "client"),
    [
        pytest.param("203.0.113.5", [], [], "203.0.113.5", id="no proxies: the peer"),
        pytest.param(
            "203.0.113.5", ["198.51.100.1"], [], "203.0.113.5", id="no proxies: header ignored"
        ),
        pytest.param(
            "203.0.113.5",
            ["198.51.100.1"],
            PROXIES,
            "203.0.113.5",
            id="untrusted peer: header ignored",
        ),
        pytest.param("10.0.0.2", ["198.51.100.1"], PROXIES, "198.51.100.1", id="one trusted proxy"),
        pytest.param(
            "10.0.0.2",
            ["1.2.3.4, 198.51.100.1, 10.0.0.9"],
            PROXIES,
            "198.51.100.1",
            id="a chain of proxies; the client's own hops ignored",
        ),
        pytest.param(
            "10.0.0.2",
            ["1.2.3.4", "198.51.100.1"],
            PROXIES,
            "198.51.100.1",
            id="several headers read as one list",
        ),
        pytest.param(
            "10.0.0.2", ["10.0.0.7, 10.0.0.8"], PROXIES, "10.0.0.7", id="every hop trusted"
        ),
        pytest.param("10.0.0.2", [], PROXIES, "10.0.0.2", id="trusted peer without a header"),
        pytest.param(
            "fd00::1", ["2001:db8::5"], PROXIES, "2001:db8::5", id="IPv6 proxy and client"
        ),
        pytest.param(
            "::ffff:10.0.0.2",
            ["::ffff:198.51.100.1"],
            PROXIES,
            "198.51.100.1",
            id="IPv4-mapped addresses",
        ),
        pytest.param(
            "10.0.0.2", ["198.51.100.1, , "], PROXIES, "198.51.100.1", id="empty hops skipped"
        ),
        pytest.param("testclient", ["198.51.100.1"], PROXIES, "testclient", id="not an IP"),
    ],
)
def test_resolve_client_address(
    peer: str, forwarded_for: list[str], trusted: list, client: str
) -> None:
    assert resolve_client_address(peer, forwarded_for, trusted) == client


def test_ipv6_clients_are_counted_per_64() -> None:
    assert rate_limit_subject("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert rate_limit_subject("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert rate_limit_subject("198.51.100.1") == "198.51.100.1"
    assert rate_limit_subject("testclient") == "testclient"


def test_trusted_proxies_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERCADO_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.5,fd00::/8")

    assert Settings().trusted_proxies == [
        ip_network("10.0.0.0/8"),
        ip_network("192.168.1.5/32"),
        ip_network("fd00::/8"),
    ]
    assert Settings(trusted_proxies="").trusted_proxies == []
    assert Settings(_env_file=None, trusted_proxies=[]).trusted_proxies == []


def test_trusted_proxies_default_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MERCADO_TRUSTED_PROXIES", raising=False)
    assert Settings(_env_file=None).trusted_proxies == []
