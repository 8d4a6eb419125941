"""Which orders a caller may see: buyers their own, sellers those they sell in, staff all."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session, selectinload

from shop_api.core.errors import NotFound, NotPermitted
from shop_api.models import User, UserRole
from shop_api.models.orders import FulfilmentGroup, Order


def readable_statement(actor: User) -> Select[tuple[Order]]:
    statement = select(Order)
    if actor.role == UserRole.staff:
        return statement
    sells_in = exists().where(
        FulfilmentGroup.order_id == Order.id, FulfilmentGroup.seller_id == actor.id
    )
    return statement.where(or_(Order.buyer_id == actor.id, sells_in))


def get_readable(
    session: Session, actor: User, order_id: uuid.UUID, *, full: bool = False
) -> Order:
    statement = readable_statement(actor).where(Order.id == order_id)
    if full:
        statement = statement.options(selectinload(Order.groups), selectinload(Order.items))
    order = session.scalar(statement)
    if order is None:
        raise NotFound("Order not found")
    return order


def get_as_buyer(session: Session, actor: User, order_id: uuid.UUID) -> Order:
    """The caller's own order (staff act on any): 404 if unseen, 403 if only sold in."""
    order = get_readable(session, actor, order_id)
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
