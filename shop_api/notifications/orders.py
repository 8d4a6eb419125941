"""What buyers and sellers are told as an order moves on.

Called where an order moves (the payment webhook that pays it, shipping and the carrier's
tracking webhooks), inside the transaction that moves it, so a notification exists if and
only if the move does. It tells what the order's status now says; each notification names
its fact in ``dedupe_key``, so an order reported paid twice (a redelivered webhook, two
racing deliveries, a call where nothing moved) notifies once.

Sellers are told what to ship, never who bought it or where it goes: their copy holds no
personal data of the buyer, so the buyer's erasure leaves it as it is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.models import NotificationKind, Order, OrderItem, OrderStatus
from shop_api.notifications.service import notify_once


@dataclass(frozen=True)
class _Line:
    group_id: uuid.UUID
    seller_id: uuid.UUID
    title: str


def _lines(session: Session, order_id: uuid.UUID) -> list[_Line]:
    rows = session.execute(
        select(OrderItem.group_id, OrderItem.seller_id, OrderItem.title)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.position)
    ).all()
    return [_Line(*row) for row in rows]


def _describe(titles: list[str]) -> str:
    """“Camera”, or “Camera” and 2 more items."""
    first = f"“{titles[0]}”" if titles else "your items"
    more = len(titles) - 1
    if more <= 0:
        return first
    return f"{first} and {more} more item{'s' if more > 1 else ''}"


def notify_order_status(session: Session, order: Order, at: datetime) -> None:
    """Tell the people the order's status concerns (nobody, for most statuses)."""
    status = order.status
    if status not in _BUYER_MESSAGES:
        return
    lines = _lines(session, order.id)
    what = _describe([line.title for line in lines])
    kind, template = _BUYER_MESSAGES[status]
    data: dict[str, str] = {"order_id": str(order.id)}
    key = f"{kind.value}:{order.id}"
    if kind == NotificationKind.order_shipped:
        data["status"] = status.value
        key = f"{key}:{status.value}"
    notify_once(session, order.buyer_id, kind, template.format(what=what), data, at, key)
    if status == OrderStatus.paid:
        _tell_sellers(session, order, lines, at)


def _tell_sellers(session: Session, order: Order, lines: list[_Line], at: datetime) -> None:
    groups: dict[uuid.UUID, list[_Line]] = {}
    for line in lines:
        groups.setdefault(line.group_id, []).append(line)
    for group_id, group_lines in groups.items():
        notify_once(
            session,
            group_lines[0].seller_id,
            NotificationKind.order_to_ship,
            f"New order to ship: {_describe([line.title for line in group_lines])}.",
            {"order_id": str(order.id), "group_id": str(group_id)},
            at,
            f"{NotificationKind.order_to_ship.value}:{group_id}",
        )


_BUYER_MESSAGES: dict[OrderStatus, tuple[NotificationKind, str]] = {
    OrderStatus.paid: (
        NotificationKind.order_paid,
        "Payment received for your order of {what}: it is being prepared for shipping.",
    ),
    OrderStatus.partially_shipped: (
        NotificationKind.order_shipped,
        "Part of your order of {what} has shipped; the rest follows separately.",
    ),
    OrderStatus.shipped: (
        NotificationKind.order_shipped,
        "Your order of {what} has shipped.",
    ),
    OrderStatus.delivered: (
        NotificationKind.order_delivered,
        "Your order of {what} has been delivered.",
    ),
}
