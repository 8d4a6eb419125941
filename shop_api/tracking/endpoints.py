"""``POST /collect``: the clickstream collector (HTTP only; rules live in ``service``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from pydantic_core import from_json, to_json
from sqlalchemy.orm import Session

from shop_api.core.client_address import client_address, rate_limit_subject
from shop_api.core.deps import ReadsDep
from shop_api.core.errors import (
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unprocessable,
    error_responses,
)
from shop_api.core.rate_limit_headers import rate_limit_headers, refused_headers
from shop_api.core.security import decode_access_token
from shop_api.core.unit_of_work import Reads
from shop_api.tracking.schemas import CollectRequest, CollectResult
from shop_api.tracking.server_events import bearer_token, verified_user_id
from shop_api.tracking.service import Tracking, process_batch

router = APIRouter(tags=["tracking"])

BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CollectRequest.model_json_schema()}},
        "description": "Also accepted as text/plain, which navigator.sendBeacon sends.",
    }
}


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than ``limit`` bytes before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"A batch is limited to {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A batch is limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def verified_user(request: Request, reads: Reads) -> uuid.UUID | None:
    """The caller's id when a valid bearer token is sent. A missing, invalid or expired
    token makes the batch anonymous rather than refused, so no events are lost."""
    token = bearer_token(request)
    state = request.app.state
    if token is None or decode_access_token(state.settings, token, state.clock.now()) is None:
        return None  # no database round trip for anonymous batches or garbage tokens

    def lookup(session: Session) -> uuid.UUID | None:
        return verified_user_id(request, session, token)

    return await reads.run(lookup)


def _invalid(message: str) -> Unprocessable:
    return Unprocessable(message, details=[{"loc": ["body"], "msg": message, "type": "invalid"}])


@router.post(
    "/collect",
    response_model=CollectResult,
    responses=error_responses(413, 422, 429, 503),
    openapi_extra=BODY_DOC,
)
async def collect(request: Request, reads: ReadsDep) -> Response:
    """Take a batch of clickstream events (event v1). Valid ones are durably in the
    landing zone when this answers 200; invalid ones are quarantined with reasons.

    The answer lists accepted event_ids and rejected events (index, event_id, reasons).
    413 over 500 events or 1 MB; 429 with ``Retry-After`` over the rate of the client's
    address (whatever ids it sends). Answers carry ``RateLimit-*`` headers."""
    tracking: Tracking = request.app.state.tracking
    settings = tracking.settings
    body = await read_body(request, settings.collect_max_bytes)
    try:
        payload = from_json(body, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        raise _invalid("The body is not valid JSON") from None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise _invalid('The body must be an object {"events": [...]}')
    if len(events) > settings.collect_max_events:
        raise PayloadTooLarge(f"A batch is limited to {settings.collect_max_events} events")

    buckets = tracking.buckets
    taken = buckets.take(
        tracking.rate_key(rate_limit_subject(client_address(request))), max(1, len(events))
    )
    if not taken.admitted:
        raise RateLimited(
            "Too many events from this client; retry later",
            headers=refused_headers(int(buckets.burst), taken.remaining, taken.wait),
        )

    outcome = process_batch(
        events,
        verified_user=await verified_user(request, reads),
        now=tracking.clock.now(),
        max_future=tracking.max_future,
        max_age=tracking.max_age,
    )
    if outcome.events or outcome.rejects:
        try:
            await tracking.sink.write(outcome.events, outcome.rejects)
        except Exception:  # logged by the sink; nothing was acknowledged
            raise ServiceUnavailable(
                "The events could not be stored; retry later", headers={"Retry-After": "1"}
            ) from None
    result = {"accepted": outcome.accepted, "rejected": outcome.rejected}
    return Response(
        to_json(result),
        media_type="application/json",
        headers=rate_limit_headers(int(buckets.burst), taken.remaining, taken.full_in),
    )
