"""State of the built-in sandbox gateway and carrier.

They stand in for external services (a card processor, a parcel carrier) and keep their
own tables, prefixed ``sandbox_``; the shop reads none of them and learns everything
through the provider interface and signed webhooks, exactly as with a real provider.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import MONEY, Base, utcnow


class SandboxPaymentMethod(Base):
    """A tokenised test card: only brand, last four digits and the behaviour it triggers."""

    __tablename__ = "sandbox_payment_methods"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    behaviour: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxPaymentIntent(Base):
    __tablename__ = "sandbox_payment_intents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_secret: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    payment_method_id: Mapped[str | None] = mapped_column(String(40))
    pending_outcome: Mapped[str | None] = mapped_column(String(32))
    process_after: Mapped[datetime | None] = mapped_column(index=True)
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    amount_refunded: Mapped[int] = mapped_column(MONEY, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxRefund(Base):
    __tablename__ = "sandbox_refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    process_after: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxShipment(Base):
    __tablename__ = "sandbox_shipments"

    tracking_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(32))
    step: Mapped[int] = mapped_column(default=0)
    next_step_at: Mapped[datetime | None] = mapped_column(index=True)
    address: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxWebhookDelivery(Base):
    """An event the sandbox must deliver, retried with backoff until acknowledged."""

    __tablename__ = "sandbox_webhook_deliveries"
    __table_args__ = (
        Index("ix_sandbox_webhook_deliveries_due", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    event_type: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(500))
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
