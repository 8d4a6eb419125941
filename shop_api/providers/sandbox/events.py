"""The sandbox providers' webhook format, read strictly into the shop's typed events.

Every event is ``{"id", "type", "created", "data": {"object": {...}}}`` (Stripe's shape).
Each field is checked for its type and range: a number must be an integer (not a bool,
a float or text), amounts fit the shop's columns, times lie between the epoch and now,
text fits where the shop stores it. Fields the shop does not read are ignored, as a
real integration must (providers add fields). An event of a type the shop does not act
on is acknowledged unread (``IgnoredEvent``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from shop_api.models.payments import PaymentStatus, RefundStatus
from shop_api.models.shipping import ShipmentStatus
from shop_api.providers.payments import (
    MAX_AMOUNT_MINOR,
    PAYMENT_EVENT_STATUSES,
    REFUND_EVENT_STATUSES,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
)
from shop_api.providers.receiving import (
    IgnoredEvent,
    InvalidEvent,
    event_time,
    unix_time,
    validated,
)
from shop_api.providers.shipping import TRACKING_EVENT_TYPE, TrackingEvent

ObjectId = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
EventType = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_MINOR)]
Currency = Annotated[StrictStr, StringConstraints(pattern=r"^[A-Za-z]{3}$")]
CardBrand = Annotated[StrictStr, StringConstraints(min_length=1, max_length=32)]
CardLast4 = Annotated[StrictStr, StringConstraints(pattern=r"^[0-9]{4}$")]
ErrorCode = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
ErrorMessage = Annotated[StrictStr, StringConstraints(max_length=255)]
MetadataKey = Annotated[StrictStr, StringConstraints(min_length=1, max_length=40)]
MetadataValue = Annotated[StrictStr, StringConstraints(max_length=500)]
TrackingNumber = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
IsoTime = Annotated[StrictStr, StringConstraints(min_length=1, max_length=64)]
Description = Annotated[StrictStr, StringConstraints(max_length=255)]
Location = Annotated[StrictStr, StringConstraints(max_length=120)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Data(_Wire):
    object: dict[StrictStr, Any]


class Envelope(_Wire):
    id: ObjectId
    type: EventType
    created: StrictInt | None = None  # the carrier's events may leave it out
    data: _Data


class CardDetails(_Wire):
    brand: CardBrand
    last4: CardLast4


class PaymentError(_Wire):
    code: ErrorCode
    message: ErrorMessage | None = None


class IntentObject(_Wire):
    object: Literal["payment_intent"]
    id: ObjectId
    amount: Amount
    currency: Currency
    status: PaymentStatus
    metadata: dict[MetadataKey, MetadataValue] = Field(default_factory=dict, max_length=20)
    last_payment_error: PaymentError | None = None
    payment_method: CardDetails | None = None


class RefundObject(_Wire):
    object: Literal["refund"]
    id: ObjectId
    payment_intent: ObjectId
    amount: Amount
    status: RefundStatus


class TrackingObject(_Wire):
    object: Literal["tracking_update"]
    tracking_number: TrackingNumber
    status: ShipmentStatus
    occurred_at: IsoTime
    description: Description | None = None
    location: Location | None = None


def _reported(what: str, reported: str, expected: str) -> InvalidEvent:
    return InvalidEvent(
        f"{what} {reported!r} contradicts the event type",
        [{"loc": ["data", "object", "status"], "msg": f"expected {expected}", "type": "status"}],
    )


def payment_event(document: Any, now: datetime, skew: timedelta) -> ProviderEvent | IgnoredEvent:
    """The sandbox gateway's event as the shop's ``ProviderEvent``."""
    envelope = validated(Envelope, document, "event")
    if envelope.created is None:
        raise InvalidEvent(
            "malformed event", [{"loc": ["event", "created"], "msg": "required", "type": "missing"}]
        )
    created = unix_time(envelope.created, now, skew, "created")
    if envelope.type in PAYMENT_EVENT_STATUSES:
        intent = validated(IntentObject, envelope.data.object, "data.object")
        expected = PAYMENT_EVENT_STATUSES[envelope.type]
        if intent.status != expected:
            raise _reported("payment status", intent.status.value, expected.value)
        error, card = intent.last_payment_error, intent.payment_method
        payment = ProviderPayment(
            id=intent.id, status=intent.status, amount_minor=intent.amount,
            currency=intent.currency.upper(),
            last_error_code=error.code if error else None,
            last_error_message=error.message if error else None,
            card_brand=card.brand if card else None, card_last4=card.last4 if card else None,
        )  # fmt: skip
        return ProviderEvent(
            id=envelope.id, type=envelope.type, created=created, payment=payment,
            metadata=dict(intent.metadata),
        )  # fmt: skip
    if envelope.type in REFUND_EVENT_STATUSES:
        obj = validated(RefundObject, envelope.data.object, "data.object")
        expected_refund = REFUND_EVENT_STATUSES[envelope.type]
        if obj.status != expected_refund:
            raise _reported("refund status", obj.status.value, expected_refund.value)
        refund = ProviderRefund(
            id=obj.id, payment_id=obj.payment_intent, status=obj.status, amount_minor=obj.amount
        )
        return ProviderEvent(id=envelope.id, type=envelope.type, created=created, refund=refund)
    return IgnoredEvent(envelope.id, envelope.type)


def tracking_event(document: Any, now: datetime, skew: timedelta) -> TrackingEvent | IgnoredEvent:
    """The sandbox carrier's event as the shop's ``TrackingEvent``."""
    envelope = validated(Envelope, document, "event")
    if envelope.created is not None:
        unix_time(envelope.created, now, skew, "created")
    if envelope.type != TRACKING_EVENT_TYPE:
        return IgnoredEvent(envelope.id, envelope.type)
    update = validated(TrackingObject, envelope.data.object, "data.object")
    try:
        occurred = datetime.fromisoformat(update.occurred_at)
    except ValueError:
        raise InvalidEvent(
            "occurred_at is not an ISO 8601 time",
            [{"loc": ["data", "object", "occurred_at"], "msg": "not a time", "type": "datetime"}],
        ) from None
    return TrackingEvent(
        id=envelope.id, tracking_number=update.tracking_number, status=update.status,
        occurred_at=event_time(occurred, now, skew, "occurred_at"),
        description=update.description or "", location=update.location, type=envelope.type,
    )  # fmt: skip
