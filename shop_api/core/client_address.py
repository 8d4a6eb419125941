"""Which address a request comes from: the one rule that rate limits key on.

The connection's peer is the client, unless the peer is a trusted proxy
(``MERCADO_TRUSTED_PROXIES``): then ``X-Forwarded-For`` is read from the right, each hop
appended by the proxy before it, skipping trusted proxies; the first untrusted hop is the
client. Hops left of it were written by the client itself and are ignored (anyone can
send ``X-Forwarded-For: 1.2.3.4``).

Raw addresses are only held in memory: what is stored (the login throttle's counters) is
a keyed hash of ``rate_limit_subject``.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from starlette.requests import HTTPConnection

Network = IPv4Network | IPv6Network

# An IPv6 subscriber is usually given a whole /64: counting single addresses would give
# one client 2**64 fresh budgets.
IPV6_SUBJECT_PREFIX = 64


def client_address(request: HTTPConnection) -> str:
    """The client's address as this app's settings decide (see the module docstring)."""
    peer = request.client.host if request.client else ""
    trusted = request.app.state.settings.trusted_proxies
    if not trusted:
        return peer
    return resolve_client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)


def resolve_client_address(
    peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> str:
    """The rightmost address not in ``trusted``, walking from the peer back through the
    ``X-Forwarded-For`` hops (several headers count as one list, in order)."""
    address = _canonical(peer)
    if not _is_trusted(address, trusted):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        address = _canonical(hop)
        if not _is_trusted(address, trusted):
            return address
    return address  # every hop is a trusted proxy: the farthest one is the client


def rate_limit_subject(address: str) -> str:
    """What a per-address limit counts: the address, or for IPv6 its /64 network."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, IPv6Address):
        return str(ip_network(f"{parsed}/{IPV6_SUBJECT_PREFIX}", strict=False))
    return str(parsed)


def _canonical(address: str) -> str:
    """One spelling per address (``::ffff:10.0.0.1`` is ``10.0.0.1``); other text as is."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)
