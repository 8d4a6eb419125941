"""The payment-provider interface the shop talks to, whatever the gateway.

A real gateway plugs in by implementing ``PaymentProvider``: create a payment intent on
the gateway (the buyer's browser then confirms it with the gateway's own SDK, so card
data never passes through the shop), cancel and refund it, and, for the shop's one
webhook receiving path (``receiving``), verify the gateway's webhook signatures and turn
its events into ``ProviderEvent``s. For Stripe that is ``PaymentIntent.create`` /
``cancel``, ``Refund.create`` and ``WebhookSignature.verify_header``; for MercadoPago
the Payments and Refunds APIs and its ``x-signature`` webhook header. ``sandbox`` is
built in; ``registry`` picks the one ``MERCADO_PAYMENT_PROVIDER`` names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shop_api.core.validation import INT64_MAX
from shop_api.models.payments import PaymentStatus, RefundStatus
from shop_api.providers.receiving import IgnoredEvent

# Amounts the shop can record; an event beyond is malformed.
MAX_AMOUNT_MINOR = INT64_MAX  # the money columns are 64-bit (core.db.MONEY)

# The events the shop acts on, with the status each one reports. An adapter maps its
# gateway's events to these types (an event that reports another status is malformed)
# and any other event to ``IgnoredEvent``.
PAYMENT_EVENT_STATUSES: dict[str, PaymentStatus] = {
    "payment_intent.requires_action": PaymentStatus.requires_action,
    "payment_intent.processing": PaymentStatus.processing,
    "payment_intent.succeeded": PaymentStatus.succeeded,
    "payment_intent.payment_failed": PaymentStatus.requires_payment_method,
    "payment_intent.canceled": PaymentStatus.canceled,
}
REFUND_EVENT_STATUSES: dict[str, RefundStatus] = {
    "refund.succeeded": RefundStatus.succeeded,
    "refund.failed": RefundStatus.failed,
}


class ProviderError(Exception):
    """The provider refused a request (e.g. refunding more than was paid)."""


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: PaymentStatus
    amount_minor: int
    currency: str
    client_secret: str | None = None
    next_action: dict[str, Any] | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    payment_id: str
    status: RefundStatus
    amount_minor: int


@dataclass(frozen=True)
class ProviderEvent:
    """A verified, validated webhook of one of the types above: ``payment`` is set for
    ``payment_intent.*`` and ``refund`` for ``refund.*``."""

    id: str
    type: str
    created: datetime
    payment: ProviderPayment | None = None
    refund: ProviderRefund | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str

    def create_payment(
        self, *, amount_minor: int, currency: str, reference: str, idempotency_key: str
    ) -> ProviderPayment: ...

    def retrieve_payment(self, payment_id: str) -> ProviderPayment: ...

    def cancel_payment(self, payment_id: str) -> ProviderPayment: ...

    def refund(
        self, payment_id: str, *, amount_minor: int, idempotency_key: str
    ) -> ProviderRefund: ...

    # -- webhooks (``receiving.WebhookAdapter``) --------------------------------------
    @property
    def webhook_source(self) -> str:
        """The name its events are remembered under in ``webhook_receipts``."""
        ...

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str], now: datetime) -> None:
        """Raise ``signing.SignatureError`` unless the gateway signed it recently."""
        ...

    def parse_event(self, document: Any, now: datetime) -> ProviderEvent | IgnoredEvent:
        """The parsed JSON as a typed event; ``receiving.InvalidEvent`` if malformed."""
        ...
