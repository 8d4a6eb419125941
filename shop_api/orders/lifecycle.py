"""Ending an order early: cancellation by the buyer or staff, failed payment, timeout.

Each runs on the locked order (``queries.lock_order``): decided on what the order is now,
and at most once however many requests ask at the same time. Stock and coupon
redemptions go back in the same transaction. Calls to the payment
provider happen after commit (no database lock is held across a network call), so they
are returned as follow-ups (plain data) for ``payments.service.run_follow_ups``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict
from shop_api.models.orders import FulfilmentStatus, Order, OrderItem, OrderStatus
from shop_api.models.payments import Payment, PaymentStatus
from shop_api.orders import stock
from shop_api.orders.queries import groups_of, lock_order
from shop_api.orders.state import can_transition, set_group_status, transition
from shop_api.promotions.pricing import release_redemption


@dataclass(frozen=True)
class CancelIntent:
    provider_payment_id: str


@dataclass(frozen=True)
class RefundPayment:
    payment_id: uuid.UUID
    reason: str


FollowUp = CancelIntent | RefundPayment
OPEN_PAYMENT_STATUSES = (
    PaymentStatus.requires_payment_method,
    PaymentStatus.requires_action,
    PaymentStatus.processing,
)


def release_order_stock(session: Session, order: Order, clock: Clock) -> None:
    now = clock.now()
    items = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).all()
    for item in sorted(items, key=lambda item: str(item.listing_id)):
        stock.release(session, item.listing_id, item.quantity, now)
    release_redemption(session, order.id, now)


def cancel(session: Session, order: Order, clock: Clock, reason: str) -> list[FollowUp]:
    """Cancel an unshipped order, locked by the caller; returns the provider calls to make
    after commit. Cancelling twice is a 409: stock and money go back once."""
    if not can_transition(order.status, OrderStatus.cancelled):
        raise Conflict(
            f"An order that is {order.status.value} cannot be cancelled",
            details={"from": order.status.value, "to": OrderStatus.cancelled.value},
        )
    was_paid = order.status == OrderStatus.paid
    transition(session, order, OrderStatus.cancelled, clock, reason)
    for group in groups_of(session, order.id):
        set_group_status(session, group, FulfilmentStatus.cancelled, clock, reason)
    release_order_stock(session, order, clock)
    order.reservation_expires_at = None
    payments = session.scalars(select(Payment).where(Payment.order_id == order.id)).all()
    follow_ups: list[FollowUp] = []
    for payment in payments:
        if payment.status in OPEN_PAYMENT_STATUSES:
            follow_ups.append(CancelIntent(payment.provider_payment_id))
        elif payment.status == PaymentStatus.succeeded and was_paid:
            follow_ups.append(RefundPayment(payment.id, reason))
    return follow_ups


RunFollowUps = Callable[[list[FollowUp]], None]


def expire_reservations(
    session_factory: sessionmaker[Session], clock: Clock, run_follow_ups: RunFollowUps
) -> int:
    """Cancel orders whose stock hold ran out before payment; returns how many."""
    now = clock.now()
    with session_factory() as session:
        due = session.scalars(
            select(Order.id).where(
                Order.status == OrderStatus.pending_payment,
                Order.reservation_expires_at < now,
            )
        ).all()
    expired = 0
    for order_id in due:
        expired += _expire_one(session_factory, clock, order_id, run_follow_ups)
    return expired


def _expire_one(
    session_factory: sessionmaker[Session],
    clock: Clock,
    order_id: uuid.UUID,
    run_follow_ups: RunFollowUps,
) -> int:
    with session_factory() as session:
        order = lock_order(session, order_id)
        if order.status != OrderStatus.pending_payment:
            return 0
        processing = session.scalar(
            select(Payment.id).where(
                Payment.order_id == order.id, Payment.status == PaymentStatus.processing
            )
        )
        if processing is not None:
            return 0  # the gateway is deciding; its webhook settles the order
        follow_ups = cancel(session, order, clock, "reservation_expired")
        session.commit()
    run_follow_ups(follow_ups)
    return 1
