"""The shop's record of payments, refunds and the provider webhooks it has processed.

Only provider references, amounts and statuses are kept: card data never reaches the shop.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import MONEY, Base, RecordModel, utcnow
from shop_api.models.user import enum_column


class PaymentStatus(enum.StrEnum):
    requires_payment_method = "requires_payment_method"
    requires_action = "requires_action"
    processing = "processing"
    succeeded = "succeeded"
    canceled = "canceled"


class RefundStatus(enum.StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class Payment(RecordModel):
    __tablename__ = "payments"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    amount_minor: Mapped[int] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus, "payment_status"))
    refunded_minor: Mapped[int] = mapped_column(MONEY, default=0)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(String(255))
    # How the buyer paid, as the provider (``card``) or an imported source reports it.
    method: Mapped[str | None] = mapped_column(String(32))
    card_brand: Mapped[str | None] = mapped_column(String(32))
    card_last4: Mapped[str | None] = mapped_column(String(4))


class PaymentStatusChange(Base):
    __tablename__ = "payment_status_history"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200), default="")
    provider_event_id: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Refund(RecordModel):
    __tablename__ = "refunds"

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[RefundStatus] = mapped_column(
        enum_column(RefundStatus, "refund_status"), default=RefundStatus.pending
    )
    provider_refund_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]


class WebhookReceipt(Base):
    """One row per provider event processed: a redelivered event is recognised and ignored."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
