"""The /collect rate limit: one token bucket per client address (the connection's peer,
or the address trusted proxies forwarded), whatever ids the client sends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shop_api.core.config import Settings
from shop_api.main import create_app
from shop_api.tracking.ratelimit import TokenBuckets
from shop_api.tracking.service import Tracking
from tests.factories import assert_error
from tests.tracking.conftest import make_event


def post(client: TestClient, events: list[dict[str, Any]], **headers: str) -> Any:
    return client.post("/collect", json={"events": events}, headers=headers)


def device() -> str:
    return f"c-{uuid.uuid4().hex}"


@pytest.fixture
def small_buckets(tracking: Tracking, monkeypatch: pytest.MonkeyPatch) -> TokenBuckets:
    buckets = TokenBuckets(rate=1.0, burst=10)
    monkeypatch.setattr(tracking, "buckets", buckets)
    return buckets


def test_rotating_the_client_id_header_does_not_escape_the_limit(
    client: TestClient, small_buckets: TokenBuckets
):
    first = post(client, [make_event() for _ in range(10)], **{"X-Client-Id": device()})

    rotated = post(client, [make_event()], **{"X-Client-Id": device()})

    assert first.status_code == 200, first.text
    assert_error(rotated, 429, "rate_limited")
    assert int(rotated.headers["Retry-After"]) >= 1


def test_rotating_the_events_client_id_does_not_escape_the_limit(
    client: TestClient, small_buckets: TokenBuckets
):
    first = post(client, [make_event(client_id=device()) for _ in range(10)])

    rotated = post(client, [make_event(client_id=device())])

    assert first.status_code == 200, first.text
    assert_error(rotated, 429, "rate_limited")


def test_answers_carry_rate_limit_headers(client: TestClient, small_buckets: TokenBuckets):
    accepted = post(client, [make_event() for _ in range(4)])
    refused = post(client, [make_event() for _ in range(8)])

    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["RateLimit-Limit"] == "10"
    assert accepted.headers["RateLimit-Remaining"] == "6"
    assert int(accepted.headers["RateLimit-Reset"]) >= 1
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["RateLimit-Remaining"] == "6"
    assert refused.headers["RateLimit-Reset"] == refused.headers["Retry-After"]


@pytest.fixture
def behind_proxy(settings: Settings, tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient]]:
    """The shop behind a reverse proxy at 127.0.0.1, which it trusts."""
    trusting = settings.model_copy(
        update={"home": tmp_path, "trusted_proxies": [ip_network("127.0.0.1/32")]}
    )
    app = create_app(trusting)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        yield app, client


def test_each_client_address_has_its_own_bucket(
    behind_proxy: tuple[FastAPI, TestClient], monkeypatch: pytest.MonkeyPatch
):
    app, client = behind_proxy
    monkeypatch.setattr(app.state.tracking, "buckets", TokenBuckets(rate=1.0, burst=10))
    noisy, quiet = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.8"}

    filled = post(client, [make_event() for _ in range(10)], **noisy)
    again = post(client, [make_event()], **noisy)
    other = post(client, [make_event()], **quiet)
    spoofed = post(client, [make_event()], **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})

    assert filled.status_code == 200, filled.text
    assert_error(again, 429, "rate_limited")
    assert other.status_code == 200, other.text
    assert_error(spoofed, 429, "rate_limited")  # the proxy's hop names the client
