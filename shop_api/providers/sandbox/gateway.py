"""The sandbox payment gateway: a small card processor that behaves like a real one.

Payment intents move requires_payment_method → processing → succeeded, a decline sends
them back to requires_payment_method with an error, some cards need a 3-D-Secure-like
``requires_action`` step, and every change is announced by a signed webhook. Test cards:

==================== ==================================
4242 4242 4242 4242  succeeds
5555 5555 5555 4444  succeeds (Mastercard)
4000 0000 0000 0002  declined (card_declined)
4000 0000 0000 9995  declined (insufficient_funds)
4000 0025 0000 3155  requires authentication, then succeeds if approved
==================== ==================================

Any other number that passes the Luhn check succeeds; one that fails it is refused
(incorrect_number). Only the brand and last four digits are ever stored.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.clock import Clock
from shop_api.core.typed_sql import rowcount
from shop_api.models.payments import PaymentStatus, RefundStatus
from shop_api.providers.payments import (
    ProviderError,
    ProviderEvent,
    ProviderPayment,
    ProviderRefund,
)
from shop_api.providers.receiving import IgnoredEvent
from shop_api.providers.sandbox import webhooks
from shop_api.providers.sandbox.events import payment_event
from shop_api.providers.sandbox.models import (
    SandboxPaymentIntent,
    SandboxPaymentMethod,
    SandboxRefund,
)
from shop_api.providers.signing import SIGNATURE_HEADER, verify

P = ParamSpec("P")
T = TypeVar("T")

AUTHENTICATE_PATH = "/sandbox/payments/v1/payment_intents"
SUCCEED = "succeed"
REQUIRES_ACTION = "requires_action"
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("visa", SUCCEED),
    "5555555555554444": ("mastercard", SUCCEED),
    "4000000000000002": ("visa", "card_declined"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000002500003155": ("visa", REQUIRES_ACTION),
}
DECLINE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "incorrect_number": "Your card number is incorrect.",
    "expired_card": "Your card has expired.",
    "authentication_failed": "The cardholder did not complete authentication.",
}


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        checksum += digit
    return checksum % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number[:1] == "2":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def _intent_object(intent: SandboxPaymentIntent, method: SandboxPaymentMethod | None) -> dict:
    return {
        "id": intent.id,
        "object": "payment_intent",
        "amount": intent.amount,
        "currency": intent.currency.lower(),
        "status": intent.status,
        "amount_refunded": intent.amount_refunded,
        "metadata": intent.metadata_,
        "last_payment_error": (
            {"code": intent.last_error_code, "message": DECLINE_MESSAGES[intent.last_error_code]}
            if intent.last_error_code
            else None
        ),
        "payment_method": (
            {"brand": method.brand, "last4": method.last4} if method is not None else None
        ),
        "next_action": (
            {"type": "authenticate", "url": f"{AUTHENTICATE_PATH}/{intent.id}/authenticate"}
            if intent.status == PaymentStatus.requires_action
            else None
        ),
    }  # fmt: skip


def _refund_object(refund: SandboxRefund) -> dict:
    return {
        "id": refund.id,
        "object": "refund",
        "payment_intent": refund.payment_intent_id,
        "amount": refund.amount,
        "status": refund.status,
    }


def payment_from_object(
    obj: Mapping[str, Any], client_secret: str | None = None
) -> ProviderPayment:
    error = obj.get("last_payment_error") or {}
    method = obj.get("payment_method") or {}
    return ProviderPayment(
        id=obj["id"],
        status=PaymentStatus(obj["status"]),
        amount_minor=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        client_secret=client_secret,
        next_action=obj.get("next_action"),
        last_error_code=error.get("code"),
        last_error_message=error.get("message"),
        card_brand=method.get("brand"),
        card_last4=method.get("last4"),
    )  # fmt: skip


def refund_from_object(obj: Mapping[str, Any]) -> ProviderRefund:
    return ProviderRefund(
        id=obj["id"],
        payment_id=obj["payment_intent"],
        status=RefundStatus(obj["status"]),
        amount_minor=int(obj["amount"]),
    )


class SandboxGateway:
    """The gateway's side: its own tables, its own transactions, webhooks out."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        *,
        webhook_url: str,
        processing_seconds: float,
        read_session_factory: sessionmaker[Session] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.read_session_factory = read_session_factory or session_factory
        self.clock = clock
        self.webhook_url = webhook_url
        self.processing = timedelta(seconds=processing_seconds)

    # -- helpers --------------------------------------------------------------
    def _emit(self, session: Session, event_type: str, obj: dict, now: datetime) -> None:
        webhooks.enqueue(
            session, source="payments", event_type=event_type, url=self.webhook_url,
            event=webhooks.new_event(event_type, obj, now), now=now,
        )  # fmt: skip

    def _method(
        self, session: Session, intent: SandboxPaymentIntent
    ) -> SandboxPaymentMethod | None:
        if intent.payment_method_id is None:
            return None
        return session.get(SandboxPaymentMethod, intent.payment_method_id)

    def _load(
        self, session: Session, intent_id: str, client_secret: str | None
    ) -> SandboxPaymentIntent:
        intent = session.get(SandboxPaymentIntent, intent_id)
        if intent is None or (
            client_secret is not None
            and not hmac.compare_digest(intent.client_secret, client_secret)
        ):
            raise GatewayError(404, "resource_missing", "No such payment intent")
        return intent

    def _emit_intent(
        self, session: Session, intent: SandboxPaymentIntent, event_type: str, now: datetime
    ) -> None:
        self._emit(session, event_type, _intent_object(intent, self._method(session, intent)), now)

    # -- server-side API (called by the shop with its secret key) -------------
    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, Any], idempotency_key: str
    ) -> tuple[dict, str]:
        now = self.clock.now()
        with self.session_factory() as session:
            existing = session.scalar(
                select(SandboxPaymentIntent).where(
                    SandboxPaymentIntent.idempotency_key == idempotency_key
                )
            )
            if existing is not None:
                return _intent_object(
                    existing, self._method(session, existing)
                ), existing.client_secret
            intent_id = f"pi_{uuid.uuid4().hex[:24]}"
            intent = SandboxPaymentIntent(
                id=intent_id, client_secret=f"{intent_id}_secret_{secrets.token_urlsafe(16)}",
                amount=amount, currency=currency.upper(),
                status=PaymentStatus.requires_payment_method.value,
                idempotency_key=idempotency_key, metadata_=metadata, created_at=now,
                updated_at=now,
            )  # fmt: skip
            session.add(intent)
            try:
                session.commit()
            except IntegrityError:  # a concurrent create with the same key won
                session.rollback()
                return self.create_intent(
                    amount=amount, currency=currency, metadata=metadata,
                    idempotency_key=idempotency_key,
                )  # fmt: skip
            return _intent_object(intent, None), intent.client_secret

    def retrieve(self, intent_id: str, client_secret: str | None = None) -> dict:
        with self.read_session_factory() as session:
            intent = self._load(session, intent_id, client_secret)
            return _intent_object(intent, self._method(session, intent))

    def client_secret(self, intent_id: str) -> str:
        with self.read_session_factory() as session:
            return self._load(session, intent_id, None).client_secret

    def cancel(self, intent_id: str) -> dict:
        now = self.clock.now()
        with self.session_factory() as session:
            intent = self._load(session, intent_id, None)
            if intent.status == PaymentStatus.canceled:
                return _intent_object(intent, self._method(session, intent))
            if intent.status in (PaymentStatus.succeeded, PaymentStatus.processing):
                raise GatewayError(
                    409, "payment_intent_unexpected_state",
                    f"A payment intent that is {intent.status} cannot be canceled",
                )  # fmt: skip
            intent.status = PaymentStatus.canceled.value
            intent.updated_at = now
            self._emit_intent(session, intent, "payment_intent.canceled", now)
            session.commit()
            return _intent_object(intent, self._method(session, intent))

    def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> dict:
        now = self.clock.now()
        with self.session_factory() as session:
            existing = session.scalar(
                select(SandboxRefund).where(SandboxRefund.idempotency_key == idempotency_key)
            )
            if existing is not None:
                return _refund_object(existing)
            intent = self._load(session, intent_id, None)
            if intent.status != PaymentStatus.succeeded:
                raise GatewayError(
                    409, "charge_not_captured", "Only succeeded payments can be refunded"
                )
            if amount <= 0 or amount > intent.amount - intent.amount_refunded:
                raise GatewayError(
                    400, "amount_too_large",
                    f"Refund of {amount} exceeds the {intent.amount - intent.amount_refunded} left",
                )  # fmt: skip
            intent.amount_refunded += amount
            refund = SandboxRefund(
                id=f"re_{uuid.uuid4().hex[:24]}", payment_intent_id=intent.id, amount=amount,
                status=RefundStatus.pending.value, idempotency_key=idempotency_key,
                process_after=now + self.processing, created_at=now,
            )  # fmt: skip
            session.add(refund)
            session.commit()
            return _refund_object(refund)

    # -- client-side API (the buyer's browser, with the client secret) --------
    def confirm(self, intent_id: str, client_secret: str, card: Mapping[str, Any]) -> dict:
        now = self.clock.now()
        number = "".join(ch for ch in str(card.get("number", "")) if ch.isdigit())
        with self.session_factory() as session:
            intent = self._load(session, intent_id, client_secret)
            if intent.status != PaymentStatus.requires_payment_method:
                raise GatewayError(
                    409, "payment_intent_unexpected_state",
                    f"A payment intent that is {intent.status} cannot be confirmed",
                )  # fmt: skip
            brand, behaviour = TEST_CARDS.get(number, (card_brand(number), SUCCEED))
            if not (12 <= len(number) <= 19) or not luhn_valid(number):
                behaviour = "incorrect_number"
            exp_month, exp_year = int(card.get("exp_month", 0)), int(card.get("exp_year", 0))
            if behaviour != "incorrect_number" and (exp_year, exp_month) < (now.year, now.month):
                behaviour = "expired_card"
            method = SandboxPaymentMethod(
                id=f"pm_{uuid.uuid4().hex[:24]}", brand=brand, last4=number[-4:] or "0000",
                exp_month=exp_month, exp_year=exp_year, behaviour=behaviour, created_at=now,
            )  # fmt: skip
            session.add(method)
            session.flush()
            intent.payment_method_id = method.id
            intent.last_error_code = None
            intent.updated_at = now
            if behaviour == "incorrect_number":
                intent.last_error_code = behaviour
                self._emit_intent(session, intent, "payment_intent.payment_failed", now)
            elif behaviour == REQUIRES_ACTION:
                intent.status = PaymentStatus.requires_action.value
                intent.pending_outcome = SUCCEED
                self._emit_intent(session, intent, "payment_intent.requires_action", now)
            else:
                intent.status = PaymentStatus.processing.value
                intent.pending_outcome = behaviour
                intent.process_after = now + self.processing
                self._emit_intent(session, intent, "payment_intent.processing", now)
            session.commit()
            return _intent_object(intent, method)

    def authenticate(self, intent_id: str, client_secret: str, approve: bool) -> dict:
        now = self.clock.now()
        with self.session_factory() as session:
            intent = self._load(session, intent_id, client_secret)
            if intent.status != PaymentStatus.requires_action:
                raise GatewayError(
                    409, "payment_intent_unexpected_state",
                    f"A payment intent that is {intent.status} needs no authentication",
                )  # fmt: skip
            intent.updated_at = now
            if approve:
                intent.status = PaymentStatus.processing.value
                intent.process_after = now + self.processing
                self._emit_intent(session, intent, "payment_intent.processing", now)
            else:
                intent.status = PaymentStatus.requires_payment_method.value
                intent.pending_outcome = None
                intent.last_error_code = "authentication_failed"
                self._emit_intent(session, intent, "payment_intent.payment_failed", now)
            session.commit()
            return _intent_object(intent, self._method(session, intent))

    # -- the processor's own clock --------------------------------------------
    def process_due(self) -> int:
        """Settle intents and refunds whose processing time has come; returns how many."""
        now = self.clock.now()
        settled = 0
        with self.session_factory() as session:
            intent_ids = session.scalars(
                select(SandboxPaymentIntent.id).where(
                    SandboxPaymentIntent.process_after <= now,
                    SandboxPaymentIntent.status == PaymentStatus.processing.value,
                )
            ).all()
            refund_ids = session.scalars(
                select(SandboxRefund.id).where(
                    SandboxRefund.process_after <= now,
                    SandboxRefund.status == RefundStatus.pending.value,
                )
            ).all()
        for intent_id in intent_ids:
            settled += self._settle_intent(intent_id, now)
        for refund_id in refund_ids:
            settled += self._settle_refund(refund_id, now)
        return settled

    def _settle_intent(self, intent_id: str, now: datetime) -> int:
        with self.session_factory() as session:
            claimed = rowcount(
                session.execute(
                    update(SandboxPaymentIntent)
                    .where(
                        SandboxPaymentIntent.id == intent_id,
                        SandboxPaymentIntent.status == PaymentStatus.processing.value,
                        SandboxPaymentIntent.process_after.is_not(None),
                    )
                    .values(process_after=None)
                )
            )
            if claimed != 1:
                session.rollback()
                return 0
            intent = session.get(SandboxPaymentIntent, intent_id)
            assert intent is not None
            outcome = intent.pending_outcome or SUCCEED
            intent.pending_outcome = None
            intent.updated_at = now
            if outcome == SUCCEED:
                intent.status = PaymentStatus.succeeded.value
                self._emit_intent(session, intent, "payment_intent.succeeded", now)
            else:
                intent.status = PaymentStatus.requires_payment_method.value
                intent.last_error_code = outcome
                self._emit_intent(session, intent, "payment_intent.payment_failed", now)
            session.commit()
            return 1

    def _settle_refund(self, refund_id: str, now: datetime) -> int:
        with self.session_factory() as session:
            claimed = rowcount(
                session.execute(
                    update(SandboxRefund)
                    .where(
                        SandboxRefund.id == refund_id,
                        SandboxRefund.status == RefundStatus.pending.value,
                    )
                    .values(status=RefundStatus.succeeded.value, process_after=None)
                )
            )
            if claimed != 1:
                session.rollback()
                return 0
            refund = session.get(SandboxRefund, refund_id)
            assert refund is not None
            self._emit(session, "refund.succeeded", _refund_object(refund), now)
            session.commit()
            return 1


class SandboxPaymentProvider:
    """The shop's adapter for the sandbox gateway (a real one would call its HTTP API)."""

    name = "sandbox"

    def __init__(
        self, gateway: SandboxGateway, webhook_secret: str, tolerance_seconds: int
    ) -> None:
        self.gateway = gateway
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance_seconds

    def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except GatewayError as exc:
            raise ProviderError(f"{exc.code}: {exc.message}") from exc

    def create_payment(
        self, *, amount_minor: int, currency: str, reference: str, idempotency_key: str
    ) -> ProviderPayment:
        obj, secret = self._call(
            self.gateway.create_intent, amount=amount_minor, currency=currency,
            metadata={"reference": reference}, idempotency_key=idempotency_key,
        )  # fmt: skip
        return payment_from_object(obj, secret)

    def retrieve_payment(self, payment_id: str) -> ProviderPayment:
        obj = self._call(self.gateway.retrieve, payment_id)
        return payment_from_object(obj, self._call(self.gateway.client_secret, payment_id))

    def cancel_payment(self, payment_id: str) -> ProviderPayment:
        return payment_from_object(self._call(self.gateway.cancel, payment_id))

    def refund(self, payment_id: str, *, amount_minor: int, idempotency_key: str) -> ProviderRefund:
        obj = self._call(
            self.gateway.refund, payment_id, amount=amount_minor, idempotency_key=idempotency_key
        )
        return refund_from_object(obj)

    # -- webhooks ---------------------------------------------------------------
    @property
    def webhook_source(self) -> str:
        return self.name

    def verify_webhook(self, payload: bytes, headers: Mapping[str, str], now: datetime) -> None:
        verify(self.webhook_secret, payload, headers.get(SIGNATURE_HEADER), now, self.tolerance)

    def parse_event(self, document: Any, now: datetime) -> ProviderEvent | IgnoredEvent:
        return payment_event(document, now, timedelta(seconds=self.tolerance))
