"""Paying for orders through a ``PaymentProvider``, and what its webhooks change.

The provider's webhooks are the source of truth for a payment's status. No database
transaction is held open across a provider call. Payments and refunds change only under
their order's lock (``orders.queries.lock_order``), taken before anything is decided, so
concurrent requests and webhooks about one order take turns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import Conflict, NotFound, Unprocessable
from shop_api.models import User
from shop_api.models.orders import FulfilmentStatus, OrderItem, OrderStatus
from shop_api.models.payments import (
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
    RefundStatus,
)
from shop_api.notifications.orders import notify_order_status
from shop_api.orders import lifecycle
from shop_api.orders.queries import get_as_buyer, get_readable, groups_of, lock_order
from shop_api.orders.state import can_transition, set_group_status, transition
from shop_api.providers.payments import (
    PaymentProvider,
    ProviderError,
    ProviderEvent,
    ProviderPayment,
)
from shop_api.tracking.outbox import record_purchase, record_refund

log = structlog.get_logger(__name__)
TERMINAL = (PaymentStatus.succeeded, PaymentStatus.canceled)
# ``payments.method`` when the provider reports a card (the only means it takes).
CARD = "card"
REFUNDABLE_ORDER_STATUSES = (
    OrderStatus.paid,
    OrderStatus.partially_shipped,
    OrderStatus.shipped,
    OrderStatus.delivered,
    OrderStatus.cancelled,
)


class RetryLater(Exception):
    """The event refers to something not recorded yet; the provider should redeliver."""


def _set_status(
    session: Session, payment: Payment, status: PaymentStatus, clock: Clock, reason: str,
    event_id: str | None = None,
) -> None:  # fmt: skip
    if payment.status == status:
        return
    session.add(
        PaymentStatusChange(
            payment_id=payment.id, from_status=payment.status.value if payment.status else None,
            to_status=status.value, reason=reason, provider_event_id=event_id,
            changed_at=clock.now(),
        )
    )  # fmt: skip
    payment.status = status
    payment.modified_at = clock.now()


@dataclass(frozen=True)
class PaymentSession:
    """What the buyer's browser needs to confirm the payment with the gateway's SDK."""

    payment: Payment
    provider_payment: ProviderPayment


def start_payment(
    session: Session, provider: PaymentProvider, clock: Clock, buyer: User, order_id: uuid.UUID
) -> PaymentSession:
    """Open (or reopen) the order's payment intent with the provider."""
    order = get_as_buyer(session, buyer, order_id)
    if order.status != OrderStatus.pending_payment:
        raise Conflict(f"An order that is {order.status.value} cannot be paid")
    if order.reservation_expires_at is not None and order.reservation_expires_at < clock.now():
        raise Conflict("The stock reservation for this order has expired")
    open_payment = session.scalar(
        select(Payment).where(
            Payment.order_id == order.id, Payment.status.in_(lifecycle.OPEN_PAYMENT_STATUSES)
        )
    )
    attempt = session.scalar(select(func.count()).where(Payment.order_id == order.id)) or 0
    amount, currency = order.total_minor, order.currency
    open_reference = open_payment.provider_payment_id if open_payment is not None else None
    # Nothing is held (nor touched: that would begin a new transaction) while the
    # provider answers.
    session.rollback()
    if open_payment is not None and open_reference is not None:
        return PaymentSession(open_payment, provider.retrieve_payment(open_reference))
    try:
        remote = provider.create_payment(
            amount_minor=amount, currency=currency, reference=str(order_id),
            idempotency_key=f"order-{order_id}-payment-{attempt + 1}",
        )  # fmt: skip
    except ProviderError as exc:
        raise Conflict(f"The payment provider refused the payment: {exc}") from exc
    # Recorded under the order's lock: concurrent openings take turns, and those after
    # the first find the payment it recorded (the provider gave them the same intent).
    order = lock_order(session, order_id)
    existing = session.scalar(select(Payment).where(Payment.provider_payment_id == remote.id))
    if existing is not None:
        return PaymentSession(existing, remote)
    if order.status != OrderStatus.pending_payment:
        raise Conflict(f"An order that is {order.status.value} cannot be paid")
    now = clock.now()
    payment = Payment(
        order_id=order_id, provider=provider.name, provider_payment_id=remote.id,
        amount_minor=amount, currency=currency, status=remote.status, created_at=now,
        modified_at=now,
    )  # fmt: skip
    session.add(payment)
    session.flush()
    session.add(
        PaymentStatusChange(
            payment_id=payment.id, from_status=None, to_status=remote.status.value,
            reason="payment created", changed_at=now,
        )
    )  # fmt: skip
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.scalar(select(Payment).where(Payment.provider_payment_id == remote.id))
        if existing is None:
            raise
        return PaymentSession(existing, remote)
    return PaymentSession(payment, remote)


def apply_event(
    session: Session, settings: Settings, clock: Clock, event: ProviderEvent
) -> tuple[str, list[lifecycle.FollowUp]]:
    """Apply a verified provider event, received once (``providers.receiving`` records
    it); returns (outcome, follow-ups to run after commit)."""
    if event.payment is not None:
        return _apply_payment_event(session, settings, clock, event)
    if event.refund is not None:
        return _apply_refund_event(session, clock, event)
    return "ignored", []


def _apply_payment_event(
    session: Session, settings: Settings, clock: Clock, event: ProviderEvent
) -> tuple[str, list[lifecycle.FollowUp]]:
    remote = event.payment
    assert remote is not None
    by_reference = select(Payment).where(Payment.provider_payment_id == remote.id)
    order_id = session.scalar(by_reference.with_only_columns(Payment.order_id))
    if order_id is None:
        raise RetryLater(f"payment {remote.id} is not recorded yet")
    order = lock_order(session, order_id)
    payment = session.scalars(by_reference.execution_options(populate_existing=True)).one()
    if remote.card_brand:
        payment.card_brand, payment.card_last4 = remote.card_brand, remote.card_last4
        payment.method = CARD
    if payment.status in TERMINAL:
        return "stale", []
    follow_ups: list[lifecycle.FollowUp] = []
    if event.type == "payment_intent.payment_failed":
        payment.failed_attempts += 1
        payment.last_error_code = remote.last_error_code
        payment.last_error_message = remote.last_error_message
        _set_status(
            session, payment, remote.status, clock, f"declined: {remote.last_error_code}", event.id
        )
        if (
            payment.failed_attempts >= settings.max_payment_attempts
            and order.status == OrderStatus.pending_payment
        ):
            follow_ups += lifecycle.cancel(session, order, clock, "payment_failed")
        return "payment_failed", follow_ups
    _set_status(session, payment, remote.status, clock, event.type, event.id)
    if remote.status == PaymentStatus.succeeded:
        if order.status == OrderStatus.pending_payment:
            transition(session, order, OrderStatus.paid, clock, "payment succeeded")
            order.reservation_expires_at = None
            for group in groups_of(session, order.id):
                set_group_status(session, group, FulfilmentStatus.awaiting_shipment, clock, "paid")
            items = list(session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)))
            record_purchase(session, order, items, clock.now())
            notify_order_status(session, order, clock.now())
            return "paid", []
        # Paid after the order was cancelled (e.g. the hold expired meanwhile): give it back.
        follow_ups.append(lifecycle.RefundPayment(payment.id, "order no longer payable"))
        return "refund_scheduled", follow_ups
    return remote.status.value, []


def _apply_refund_event(
    session: Session, clock: Clock, event: ProviderEvent
) -> tuple[str, list[lifecycle.FollowUp]]:
    remote = event.refund
    assert remote is not None
    by_reference = select(Refund).where(Refund.provider_refund_id == remote.id)
    order_id = session.scalar(by_reference.with_only_columns(Refund.order_id))
    if order_id is None:
        raise RetryLater(f"refund {remote.id} is not recorded yet")
    order = lock_order(session, order_id)
    refund = session.scalars(by_reference.execution_options(populate_existing=True)).one()
    if refund.status != RefundStatus.pending:
        return "stale", []
    now = clock.now()
    refund.status = remote.status
    refund.completed_at = now
    refund.modified_at = now
    if remote.status != RefundStatus.succeeded:
        return "refund_failed", []
    payment = session.get(Payment, refund.payment_id, populate_existing=True)
    assert payment is not None
    payment.refunded_minor += refund.amount_minor
    order.refunded_minor += refund.amount_minor
    order.modified_at = now
    record_refund(session, order, refund.amount_minor, now, refund.id)
    if order.refunded_minor >= order.total_minor and can_transition(
        order.status, OrderStatus.refunded
    ):
        transition(session, order, OrderStatus.refunded, clock, "fully refunded")
    return "refunded", []


def request_refund(
    session: Session,
    provider: PaymentProvider,
    clock: Clock,
    payment_id: uuid.UUID,
    amount_minor: int | None,
    reason: str,
    requested_by: uuid.UUID | None,
) -> Refund:
    """Refund all or part of a succeeded payment; the provider's webhook completes it.

    What is left to refund is worked out under the order's lock, from the refunds
    recorded so far (pending ones included), so concurrent requests never refund more
    than was paid: the pending refund is committed before the lock is let go, and before
    the provider is asked.
    """
    order_id = session.scalar(select(Payment.order_id).where(Payment.id == payment_id))
    if order_id is None:
        raise NotFound("Payment not found")
    order = lock_order(session, order_id)
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        raise Conflict(f"An order that is {order.status.value} cannot be refunded")
    payment = session.get(Payment, payment_id, populate_existing=True)
    assert payment is not None
    if payment.status != PaymentStatus.succeeded:
        raise Conflict("Only a succeeded payment can be refunded")
    pending = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.pending
        )
    )
    refundable = payment.amount_minor - payment.refunded_minor - (pending or 0)
    amount = refundable if amount_minor is None else amount_minor
    if amount <= 0 or amount > refundable:
        raise Unprocessable(
            f"At most {refundable} can be refunded",
            details=[{"loc": ["body", "amount_minor"], "msg": f"at most {refundable}"}],
        )
    now = clock.now()
    refund = Refund(
        payment_id=payment.id, order_id=payment.order_id, amount_minor=amount, reason=reason,
        status=RefundStatus.pending, requested_by_id=requested_by, created_at=now,
        modified_at=now,
    )  # fmt: skip
    session.add(refund)
    session.commit()
    try:
        remote = provider.refund(
            payment.provider_payment_id, amount_minor=amount, idempotency_key=f"refund-{refund.id}"
        )
    except ProviderError as exc:
        refund.status = RefundStatus.failed
        refund.completed_at = clock.now()
        session.commit()
        raise Conflict(f"The payment provider refused the refund: {exc}") from exc
    refund.provider_refund_id = remote.id
    session.commit()
    return refund


def refund_order(
    session: Session,
    provider: PaymentProvider,
    clock: Clock,
    actor: User,
    order_id: uuid.UUID,
    amount_minor: int | None,
    reason: str,
) -> Refund:
    order = get_readable(session, actor, order_id)
    if order.status not in REFUNDABLE_ORDER_STATUSES:
        raise Conflict(f"An order that is {order.status.value} cannot be refunded")
    payment = session.scalar(
        select(Payment).where(
            Payment.order_id == order.id, Payment.status == PaymentStatus.succeeded
        )
    )
    if payment is None:
        raise Conflict("This order has no captured payment to refund")
    return request_refund(session, provider, clock, payment.id, amount_minor, reason, actor.id)


@dataclass(frozen=True)
class PaymentRecord:
    """A payment and its status changes, oldest first."""

    payment: Payment
    history: list[PaymentStatusChange]


def payments_of(session: Session, actor: User, order_id: uuid.UUID) -> list[PaymentRecord]:
    """The order's payments with their history: its buyer's and staff's business (the
    card's brand and last digits are not the sellers')."""
    order = get_as_buyer(session, actor, order_id)
    payments = session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.created_at)
    ).all()
    return [
        PaymentRecord(
            payment,
            list(
                session.scalars(
                    select(PaymentStatusChange)
                    .where(PaymentStatusChange.payment_id == payment.id)
                    .order_by(PaymentStatusChange.changed_at, PaymentStatusChange.id)
                )
            ),
        )
        for payment in payments
    ]


def refunds_of(session: Session, actor: User, order_id: uuid.UUID) -> list[Refund]:
    """The order's refunds, oldest first (its buyer and staff only)."""
    order = get_as_buyer(session, actor, order_id)
    return list(
        session.scalars(
            select(Refund).where(Refund.order_id == order.id).order_by(Refund.created_at)
        )
    )


def run_follow_ups(
    session_factory: sessionmaker[Session],
    provider: PaymentProvider,
    clock: Clock,
    follow_ups: list[lifecycle.FollowUp],
) -> None:
    """Carry out provider calls decided inside a committed transaction."""
    for follow_up in follow_ups:
        try:
            if isinstance(follow_up, lifecycle.CancelIntent):
                provider.cancel_payment(follow_up.provider_payment_id)
            else:
                with session_factory() as session:
                    request_refund(
                        session, provider, clock, follow_up.payment_id, None, follow_up.reason, None
                    )
        except (ProviderError, Conflict, Unprocessable, NotFound) as exc:
            # e.g. an intent already processing cannot be cancelled: its webhook will tell.
            log.warning("payment_follow_up_failed", follow_up=repr(follow_up), error=str(exc))
