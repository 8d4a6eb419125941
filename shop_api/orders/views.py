"""An order as a caller may see it, and the reads behind each order endpoint."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.deps import caller_of
from shop_api.core.pagination import Paged, PageParams, paginate
from shop_api.core.unit_of_work import statements_only
from shop_api.models import User, UserRole
from shop_api.models.orders import FulfilmentGroup, Order, OrderItem, OrderStatus, OrderStatusChange
from shop_api.orders import checkout as checkout_service
from shop_api.orders import lifecycle
from shop_api.orders.queries import get_as_buyer, get_readable, readable_statement
from shop_api.orders.schemas import (
    CheckoutRequest,
    FulfilmentGroupPublic,
    OrderItemPublic,
    OrderPublic,
    SalesByStatus,
    SellerSales,
)

MONEY_FIELDS = ("subtotal_minor", "discount_minor", "shipping_minor", "tax_minor", "total_minor")


def order_public(
    order: Order, actor_id: uuid.UUID | None = None, *, seller_view: bool = False
) -> OrderPublic:
    """The order as the caller may see it: a seller sees only their own groups and items."""
    groups = list(order.groups)
    items = list(order.items)
    money = {field: getattr(order, field) for field in MONEY_FIELDS}
    if seller_view and actor_id is not None:
        groups = [group for group in groups if group.seller_id == actor_id]
        items = [item for item in items if item.seller_id == actor_id]
        # The amounts of their part only: other sellers' sales are none of their business.
        money = {field: sum(getattr(group, field) for group in groups) for field in money}
    return OrderPublic(
        id=order.id, buyer_id=order.buyer_id, status=order.status, currency=order.currency,
        **money, refunded_minor=order.refunded_minor,
        coupon_code=order.coupon_code, shipping_address=order.shipping_address,
        reservation_expires_at=order.reservation_expires_at, placed_at=order.placed_at,
        paid_at=order.paid_at, cancelled_at=order.cancelled_at,
        groups=[FulfilmentGroupPublic.model_validate(group) for group in groups],
        items=[OrderItemPublic.model_validate(item) for item in items],
    )  # fmt: skip


def new_order_public(placed: checkout_service.NewOrder) -> OrderPublic:
    """A new order, rendered from the rows just written."""
    return OrderPublic(
        **placed.order,
        groups=[FulfilmentGroupPublic.model_validate(group) for group in placed.groups],
        items=[OrderItemPublic.model_validate(item) for item in placed.items],
    )


@statements_only
def place_order(
    session: Session,
    settings: Settings,
    clock: Clock,
    token: str,
    body: CheckoutRequest,
    idempotency_key: str,
) -> tuple[OrderPublic, bool]:
    """Check out the token holder's cart: the order, and whether it is new (False for a
    replay of the same idempotency key). The caller is looked up in the checkout's own
    session (one round of scheduling for both)."""
    buyer = caller_of(session, settings, clock.now(), token)
    assert buyer is not None
    result = checkout_service.checkout(session, clock, settings, buyer, body, idempotency_key)
    if isinstance(result, checkout_service.NewOrder):
        # Rendered from the rows just written; a replay is read back.
        return new_order_public(result), True
    return readable_order(session, buyer, result.id), False


def readable_order(session: Session, actor: User, order_id: uuid.UUID) -> OrderPublic:
    """Buyers see their orders, sellers the part they sell, staff everything."""
    order = get_readable(session, actor, order_id, full=True)
    seller_view = actor.role != UserRole.staff and order.buyer_id != actor.id
    return order_public(order, actor.id, seller_view=seller_view)


def cancel_order(
    session: Session,
    actor: User,
    order_id: uuid.UUID,
    clock: Clock,
    reason: str,
    run_follow_ups: lifecycle.RunFollowUps,
) -> OrderPublic:
    """Cancel under the order's lock, then void or refund its payment (no lock held)."""
    order = get_as_buyer(session, actor, order_id, lock=True)
    follow_ups = lifecycle.cancel(session, order, clock, reason)
    session.commit()
    run_follow_ups(follow_ups)
    return readable_order(session, actor, order_id)


def purchases(
    session: Session, actor: User, page: PageParams, status: OrderStatus | None, *, every: bool
) -> Paged[Order]:
    """The caller's orders, or with ``every`` (staff only) all of them, newest first."""
    statement = select(Order)
    if not (every and actor.role == UserRole.staff):
        statement = statement.where(Order.buyer_id == actor.id)
    if status is not None:
        statement = statement.where(Order.status == status)
    return paginate(session, statement, page, Order.placed_at.desc(), Order.id)


def sales_orders(
    session: Session, seller: User, page: PageParams, status: OrderStatus | None
) -> Paged[Order]:
    """Orders containing the seller's listings, newest first."""
    statement = readable_statement(seller).where(
        Order.id.in_(select(FulfilmentGroup.order_id).where(FulfilmentGroup.seller_id == seller.id))
    )
    if status is not None:
        statement = statement.where(Order.status == status)
    return paginate(session, statement, page, Order.placed_at.desc(), Order.id)


def history(session: Session, actor: User, order_id: uuid.UUID) -> list[OrderStatusChange]:
    """Every status change of the order and of its groups the caller may see, oldest first."""
    order = get_readable(session, actor, order_id)
    statement = select(OrderStatusChange).where(OrderStatusChange.order_id == order.id)
    if actor.role != UserRole.staff and order.buyer_id != actor.id:
        # A seller sees the order's own moves and those of their groups only.
        statement = statement.where(
            OrderStatusChange.group_id.is_(None)
            | OrderStatusChange.group_id.in_(
                select(FulfilmentGroup.id).where(
                    FulfilmentGroup.order_id == order.id, FulfilmentGroup.seller_id == actor.id
                )
            )
        )
    return list(
        session.scalars(statement.order_by(OrderStatusChange.changed_at, OrderStatusChange.id))
    )


def seller_sales(session: Session, seller_id: uuid.UUID) -> SellerSales:
    """Totals of the seller's sales by order status, in minor units per currency."""
    rows = session.execute(
        select(
            Order.status,
            Order.currency,
            func.count(func.distinct(Order.id)),
            func.coalesce(func.sum(OrderItem.quantity), 0),
            func.coalesce(func.sum(OrderItem.line_total_minor), 0),
        )
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(OrderItem.seller_id == seller_id)
        .group_by(Order.status, Order.currency)
    ).all()
    return SellerSales(
        seller_id=seller_id,
        by_status=[
            SalesByStatus(status=row[0], currency=row[1], orders=row[2], units=int(row[3]),
                          amount_minor=int(row[4]))
            for row in rows
        ],
    )  # fmt: skip
