"""The objects the sandbox providers' own endpoints answer with (Stripe-like shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from shop_api.models.payments import PaymentStatus
from shop_api.models.shipping import ShipmentStatus


class CardSummary(BaseModel):
    brand: str
    last4: str


class PaymentErrorPublic(BaseModel):
    code: str
    message: str


class NextAction(BaseModel):
    """What the buyer must do next: open ``url`` to approve or deny the payment."""

    type: Literal["authenticate"]
    url: str


class PaymentIntentPublic(BaseModel):
    id: str
    object: Literal["payment_intent"]
    amount: int
    currency: str
    status: PaymentStatus
    amount_refunded: int
    metadata: dict[str, str]
    last_payment_error: PaymentErrorPublic | None
    payment_method: CardSummary | None
    next_action: NextAction | None


class TrackingUpdatePublic(BaseModel):
    object: Literal["tracking_update"]
    tracking_number: str
    reference: str
    status: ShipmentStatus
    description: str
    location: str | None
    occurred_at: str
