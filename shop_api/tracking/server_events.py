"""Server-side events: what the API itself witnesses, in the event v1 shape.

Endpoints call ``track(request, name, ...)`` after the fact happened. It never raises and
never waits for the disk (the event is queued on the app's ``EventSink``), so it adds a
few microseconds to hot read paths such as search and ``GET /listings/{id}``.

Identity of a server-side event:

* ``event_id``: the request's ``X-Event-Id`` header when it is a UUID, else a new one. A
  page that also reports the action through tag.js sends the tag's event_id in this
  header; both copies then share one ``event_id`` and the warehouse keeps one.
* ``client_id``: the ``X-Client-Id`` header (the tag.js device id) when present; else a
  stable pseudonym of the signed-in user; else a keyed hash of IP and user agent that
  changes daily. The IP itself is never stored.
* ``user_id``: only for a signed-in caller.
* ``session_id``: the ``X-Session-Id`` header (tag.js's session) when sent.

purchase, refund and write_review are not emitted here: they are written to the event
outbox inside their business transaction and drained by ``dispatch.dispatch_outbox``.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy.orm import Session

from shop_api.core.deps import token_holder
from shop_api.core.errors import Unauthorized
from shop_api.tracking.outbox import to_major

log = structlog.get_logger(__name__)

MAX_CLIENT_ID = 64


def listing_item(listing: Any, *, quantity: int | None = None) -> dict[str, Any]:
    """An event item for a listing (ORM row or public schema)."""
    item: dict[str, Any] = {
        "item_id": str(listing.id),
        "item_name": listing.title[:512],
        "item_category": str(listing.category_id),
        "price": to_major(listing.price_minor),
        "seller_id": str(listing.seller_id),
    }
    if quantity is not None:
        item["quantity"] = quantity
    return item


_WANTED = frozenset({b"x-event-id", b"x-client-id", b"x-session-id", b"user-agent"})


def _headers(request: Request) -> dict[bytes, str]:
    """The few headers an event uses, in one pass (``request.headers`` scans per key)."""
    return {
        name: value.decode("latin-1") for name, value in request.scope["headers"] if name in _WANTED
    }


def _event_id(headers: dict[bytes, str]) -> str:
    header = headers.get(b"x-event-id")
    if header:
        try:
            return str(uuid.UUID(header))
        except ValueError:
            pass
    return str(uuid.uuid4())


def client_id_for(
    request: Request, tracking: Any, user_id: uuid.UUID | None, headers: dict[bytes, str]
) -> str:
    header = headers.get(b"x-client-id", "").strip()
    if header and len(header) <= MAX_CLIENT_ID:
        return header
    if user_id is not None:
        return tracking.user_client_id(user_id)
    host = request.client.host if request.client else ""
    return tracking.anonymous_client_id(host, headers.get(b"user-agent", ""))


def track(
    request: Request,
    event_name: str,
    *,
    user_id: uuid.UUID | None = None,
    params: dict[str, Any] | None = None,
    items: list[dict[str, Any]] | None = None,
) -> None:
    """Queue one server-side event; failures are logged, never raised."""
    tracking = getattr(request.app.state, "tracking", None)
    if tracking is None:
        return
    try:
        headers = _headers(request)
        context: dict[str, Any] = {"source": "server"}
        user_agent = headers.get(b"user-agent")
        if user_agent:
            context["user_agent"] = user_agent[:1024]
        tracking.emit_server(
            [
                {
                    "event_id": _event_id(headers),
                    "event_name": event_name,
                    "event_time": tracking.clock.now().isoformat(),
                    "client_id": client_id_for(request, tracking, user_id, headers),
                    "user_id": str(user_id) if user_id is not None else None,
                    "session_id": headers.get(b"x-session-id", "")[:64] or None,
                    "page": None,
                    "params": params or {},
                    "items": items or [],
                    "context": context,
                }
            ]
        )
    except Exception:  # analytics must never break the request that it describes
        log.exception("server_event_failed", event_name=event_name)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def verified_user_id(request: Request, session: Session, token: str) -> uuid.UUID | None:
    """The token holder by the API's own rules (``token_holder``), leniently: an
    invalid, expired or revoked token gives None instead of an error."""
    state = request.app.state
    try:
        return token_holder(session, state.settings, state.clock.now(), token).id
    except Unauthorized:
        return None


def caller_id(request: Request, session: Session) -> uuid.UUID | None:
    """The signed-in caller of an endpoint that does not require one; an invalid token
    makes the event anonymous instead of failing the request."""
    token = bearer_token(request)
    return verified_user_id(request, session, token) if token else None
