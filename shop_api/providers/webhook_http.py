"""What every provider webhook endpoint does first: read the raw body, verify, decode.

400 when the signature header or the payload is malformed, 401 when the signature is
wrong or outside the tolerance window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

from fastapi import Request

from shop_api.core.errors import BadRequest, Unauthorized
from shop_api.providers.signing import SignatureError

MAX_WEBHOOK_BYTES = 256 * 1024
Event = TypeVar("Event")


async def read_webhook_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise BadRequest("Webhook payload too large")
    return body


async def verified_event(
    request: Request,
    parse: Callable[[bytes, Mapping[str, str], datetime], Event],
    now: datetime,
) -> Event:
    """The provider's decoded event, or the 400/401 a bad delivery deserves."""
    body = await read_webhook_body(request)
    try:
        return parse(body, request.headers, now)
    except SignatureError as exc:
        if exc.malformed:
            raise BadRequest(f"Invalid signature header: {exc}") from exc
        raise Unauthorized(f"Webhook signature rejected: {exc}") from exc
    except ValueError as exc:
        raise BadRequest(f"Malformed webhook payload: {exc}") from exc
