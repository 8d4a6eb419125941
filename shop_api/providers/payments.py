"""The payment-provider interface the shop talks to, whatever the gateway.

A real gateway plugs in by implementing ``PaymentProvider``: create a payment intent on
the gateway (the buyer's browser then confirms it with the gateway's own SDK, so card
data never passes through the shop), cancel and refund it, and turn the gateway's signed
webhooks into ``ProviderEvent``s. For Stripe that is ``PaymentIntent.create`` /
``cancel``, ``Refund.create`` and ``Webhook.construct_event``; for MercadoPago the
Payments and Refunds APIs and its ``x-signature`` webhook header. ``sandbox`` is built in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shop_api.models.payments import PaymentStatus, RefundStatus


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
    """A verified webhook: ``payment`` or ``refund`` is set according to ``type``."""

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

    def parse_webhook(
        self, payload: bytes, headers: Mapping[str, str], now: datetime
    ) -> ProviderEvent:
        """Verify the signature (raising ``SignatureError``) and decode the event
        (raising ``ValueError`` when it is malformed)."""
        ...
