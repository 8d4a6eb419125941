"""Which orders a caller may see: buyers their own, sellers those they sell in, staff all;
and the order lock every change to an order takes before it decides anything.

An order is changed as a whole: its status, fulfilment groups, payments, refunds and
shipments only change while the order's row is locked (``lock_order``, or ``lock=True``),
so two requests about one order take turns and the second sees what the first did. On
PostgreSQL the lock is ``FOR NO KEY UPDATE`` (rows that only reference the order, such as
a new refund, are not held up by it); SQLite has no row locks, but its writers already
take turns (BEGIN IMMEDIATE). Locks are taken in one order: the order, then the listings
whose stock moves (in id order), then a coupon.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from shop_api.core.errors import NotFound, NotPermitted
from shop_api.models import User, UserRole
from shop_api.models.orders import FulfilmentGroup, Order


def readable_statement(actor: User) -> Select[Order]:
    statement = select(Order)
    if actor.role == UserRole.staff:
        return statement
    sells_in = exists().where(
        FulfilmentGroup.order_id == Order.id, FulfilmentGroup.seller_id == actor.id
    )
    return statement.where(or_(Order.buyer_id == actor.id, sells_in))


def _locking(statement: Select[Order]) -> Select[Order]:
    """The order row locked until the transaction ends, and read afresh (not the copy an
    earlier read of this session left in its identity map)."""
    return statement.with_for_update(key_share=True, of=Order).execution_options(
        populate_existing=True
    )


def lock_order(session: Session, order_id: uuid.UUID) -> Order:
    """The order, locked (see the module's docstring); for callers that know it exists."""
    order = session.scalar(_locking(select(Order).where(Order.id == order_id)))
    if order is None:
        raise NotFound("Order not found")
    return order


def get_readable(
    session: Session, actor: User, order_id: uuid.UUID, *, full: bool = False, lock: bool = False
) -> Order:
    """The order if the caller may see it (404 otherwise); ``lock``: locked, to change it."""
    statement = readable_statement(actor).where(Order.id == order_id)
    if full:
        statement = statement.options(selectinload(Order.groups), selectinload(Order.items))
    if lock:
        statement = _locking(statement)
    order = session.scalar(statement)
    if order is None:
        raise NotFound("Order not found")
    return order


def get_as_buyer(
    session: Session, actor: User, order_id: uuid.UUID, *, lock: bool = False
) -> Order:
    """The caller's own order (staff act on any): 404 if unseen, 403 if only sold in."""
    order = get_readable(session, actor, order_id, lock=lock)
    if actor.role != UserRole.staff and order.buyer_id != actor.id:
        raise NotPermitted("Only the buyer can do this")
    return order


def groups_of(session: Session, order_id: uuid.UUID) -> list[FulfilmentGroup]:
    return list(
        session.scalars(
            select(FulfilmentGroup)
            .where(FulfilmentGroup.order_id == order_id)
            .order_by(FulfilmentGroup.created_at, FulfilmentGroup.id)
        )
    )
