from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shop_api.core.validation import MinorUnits, Text
from shop_api.models.payments import PaymentStatus, RefundStatus


class PaymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_id: uuid.UUID
    provider: str
    provider_payment_id: str
    status: PaymentStatus
    amount_minor: int
    currency: str
    refunded_minor: int
    failed_attempts: int
    last_error_code: str | None
    last_error_message: str | None
    method: str | None
    card_brand: str | None
    card_last4: str | None
    created_at: datetime


class PaymentSessionPublic(BaseModel):
    """Hand ``client_secret`` to the gateway's browser SDK to confirm with a card."""

    payment: PaymentPublic
    client_secret: str | None
    next_action: dict[str, Any] | None
    confirm_url: str | None = Field(description="Where the sandbox gateway takes the card")


class PaymentStatusChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    reason: str
    provider_event_id: str | None
    changed_at: datetime


class PaymentWithHistory(PaymentPublic):
    history: list[PaymentStatusChangePublic]


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_minor: MinorUnits | None = Field(
        default=None, gt=0, description="Omit for the full rest"
    )
    reason: Text = Field(default="", max_length=200)


class RefundPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payment_id: uuid.UUID
    order_id: uuid.UUID
    amount_minor: int
    reason: str
    status: RefundStatus
    created_at: datetime
    completed_at: datetime | None


class WebhookAck(BaseModel):
    received: bool = True
    outcome: str
