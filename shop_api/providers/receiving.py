"""The one way in for every provider's webhooks (``POST /webhooks/payments``,
``POST /webhooks/shipping``).

``receive`` reads the body (at most ``MAX_WEBHOOK_BYTES``), has the provider's adapter
verify its signature (``signing``: HMAC with a timestamp tolerance), parses the JSON,
has the adapter turn it into the shop's typed event, processes each event id once
(``webhook_receipts``, in the transaction that applies it) and answers:

======================================  =========================================
202 ``{"outcome": ...}``                applied (or ``duplicate``: seen before)
202 ``{"outcome": "ignored"}``          an event type the shop does not act on;
                                        never interpreted, not remembered
400 ``bad_request``                     signature header missing or malformed; body
                                        not plain JSON; a signed event that breaks
                                        the provider's contract (a field missing,
                                        of the wrong type or out of range)
401 ``unauthorized``                    signature wrong or outside the tolerance
409 ``event_mismatch``                  the event contradicts what the shop recorded
                                        (another amount): logged, nothing changes
413 ``payload_too_large``               body over the limit
503 ``retry_later`` (``Retry-After``)   about something the shop has not recorded
                                        yet: not remembered, so a redelivery counts
======================================  =========================================

A malformed but correctly signed event is refused with a 400 rather than acknowledged
and dropped: it means the provider's format changed under the adapter, and a refused
delivery shows in the provider's dashboard and is retried once the adapter is fixed,
where an acknowledged one would be lost. It is logged (``webhook_event_invalid``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import BadRequest, Conflict, PayloadTooLarge, Unauthorized, error_response
from shop_api.core.unit_of_work import Writes
from shop_api.models.payments import WebhookReceipt
from shop_api.providers.signing import SignatureError

log = structlog.get_logger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024
# No event is older than the Unix epoch, nor newer than the signature that carries it.
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidEvent(ValueError):
    """A verified webhook whose content breaks the provider's contract."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details


class EventMismatch(Conflict):
    """The event contradicts what the shop recorded (e.g. another amount or currency)."""

    code = "event_mismatch"


class RedeliverLater(Exception):
    """The event is about something not recorded yet: the provider should send it again."""


@dataclass(frozen=True)
class IgnoredEvent:
    """A well-formed event of a type the shop does not act on (providers send many)."""

    id: str
    type: str


class Event(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...


EventT = TypeVar("EventT", bound=Event)
EventT_co = TypeVar("EventT_co", bound=Event, covariant=True)


class WebhookAdapter(Protocol[EventT_co]):
    """What a provider's adapter does for ``receive``: its own signature scheme and its
    own event format; ``webhook_source`` names it in ``webhook_receipts``."""

    @property
    def webhook_source(self) -> str: ...

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str], now: datetime) -> None:
        """Raise ``SignatureError`` unless the provider signed this payload recently."""
        ...

    def parse_event(self, document: Any, now: datetime) -> EventT_co | IgnoredEvent:
        """The typed event, or ``IgnoredEvent``; raise ``InvalidEvent`` if malformed."""
        ...


@dataclass(frozen=True)
class Handled:
    """What applying an event came to, and what to do once it is committed."""

    outcome: str
    after_commit: Callable[[], None] | None = None


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, what: str) -> M:
    """``model`` validated from ``data``, or ``InvalidEvent`` naming the fields at fault
    (never their values: they may be anything)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {"loc": [what, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidEvent(f"malformed {what}", details) from None


def event_time(moment: datetime, now: datetime, skew: timedelta, what: str) -> datetime:
    """``moment`` (naive means UTC) if it can be the time of an event delivered at ``now``."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST_EVENT_TIME <= aware <= now + skew:
        raise InvalidEvent(
            f"{what} is not a plausible time",
            [{"loc": [what], "msg": "outside the epoch to now", "type": "time_range"}],
        )
    return aware


def unix_time(seconds: int, now: datetime, skew: timedelta, what: str) -> datetime:
    """Seconds since the epoch as a time, if plausible (``event_time``)."""
    latest = now + skew
    if not 0 <= seconds <= latest.timestamp():
        raise InvalidEvent(
            f"{what} is not a plausible time",
            [{"loc": [what], "msg": "outside the epoch to now", "type": "time_range"}],
        )
    return datetime.fromtimestamp(seconds, tz=UTC)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge(f"A webhook body is at most {MAX_WEBHOOK_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge(f"A webhook body is at most {MAX_WEBHOOK_BYTES} bytes")
    return bytes(body)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested beyond reason
        raise BadRequest(
            f"Malformed webhook payload: not plain JSON ({type(exc).__name__})"
        ) from None


def _seen(session: Session, source: str, event_id: str) -> bool:
    return (
        session.scalar(
            select(WebhookReceipt.id).where(
                WebhookReceipt.provider == source, WebhookReceipt.event_id == event_id
            )
        )
        is not None
    )


def record_receipt(session: Session, source: str, event: Event, received_at: datetime) -> bool:
    """Remember the event in the caller's transaction; False when it was seen before."""
    if _seen(session, source, event.id):
        return False
    session.add(
        WebhookReceipt(
            provider=source, event_id=event.id, event_type=event.type, received_at=received_at
        )
    )
    session.flush()
    return True


def _ack(outcome: str) -> JSONResponse:
    return JSONResponse({"received": True, "outcome": outcome}, status_code=202)


async def receive(
    request: Request,
    adapter: WebhookAdapter[EventT],
    writes: Writes,
    clock: Clock,
    handle: Callable[[Session, EventT], Handled],
) -> JSONResponse:
    """Receive one delivery and apply its event with ``handle`` (see the module's table).

    ``handle`` runs in the write unit of work that records the receipt; it raises
    ``RedeliverLater`` or ``EventMismatch`` to have that transaction undone.
    """
    now = clock.now()
    body = await _read_body(request)
    try:
        adapter.verify_webhook(body, request.headers, now)
    except SignatureError as exc:
        if exc.malformed:
            raise BadRequest(f"Invalid signature header: {exc}") from exc
        raise Unauthorized(f"Webhook signature rejected: {exc}") from exc
    document = _parse_json(body)
    try:
        event = adapter.parse_event(document, now)
    except InvalidEvent as exc:
        log.warning(
            "webhook_event_invalid", source=adapter.webhook_source, error=str(exc),
            details=exc.details,
        )  # fmt: skip
        raise BadRequest(f"Malformed webhook payload: {exc}", details=exc.details) from exc
    if isinstance(event, IgnoredEvent):
        log.info(
            "webhook_event_ignored", source=adapter.webhook_source, event_id=event.id,
            event_type=event.type,
        )  # fmt: skip
        return _ack("ignored")

    def process(session: Session) -> Handled:
        try:
            if not record_receipt(session, adapter.webhook_source, event, clock.now()):
                return Handled("duplicate")
            handled = handle(session, event)
            session.commit()
        except IntegrityError:
            # The same event delivered twice at once: the receipt's unique key made this
            # delivery wait for the other (at the INSERT on PostgreSQL; SQLite serialises
            # writers) and fail once it committed.
            session.rollback()
            if _seen(session, adapter.webhook_source, event.id):
                return Handled("duplicate")
            raise
        if handled.after_commit is not None:  # committed: nothing is held meanwhile
            handled.after_commit()
        return handled

    try:
        handled = await writes.run(process)
    except RedeliverLater as exc:  # the unit of work ended its transaction undone
        return error_response(503, "retry_later", str(exc), headers={"Retry-After": "1"})
    except EventMismatch as exc:
        log.warning(
            "webhook_event_mismatch", source=adapter.webhook_source, event_id=event.id,
            event_type=event.type, error=exc.message,
        )  # fmt: skip
        raise
    return _ack(handled.outcome)
