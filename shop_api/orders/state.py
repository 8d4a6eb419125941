"""The order state machine and how an order's status follows its fulfilment groups.

The functions here change the objects they are given; their callers hold the order's
lock (``queries.lock_order``) from before the order was read, so the machine checks
the status the order has now, not one a concurrent request has since changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict
from shop_api.models.orders import (
    FulfilmentGroup,
    FulfilmentStatus,
    Order,
    OrderStatus,
    OrderStatusChange,
)

S = OrderStatus
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.pending_payment: frozenset({S.paid, S.cancelled}),
    S.paid: frozenset({S.partially_shipped, S.shipped, S.cancelled, S.refunded}),
    S.partially_shipped: frozenset({S.shipped, S.refunded}),
    S.shipped: frozenset({S.delivered, S.refunded}),
    S.delivered: frozenset({S.refunded}),
    S.cancelled: frozenset(),
    S.refunded: frozenset(),
}

F = FulfilmentStatus
SHIPPED_GROUP_STATUSES = frozenset(
    {F.label_created, F.in_transit, F.out_for_delivery, F.delivered, F.exception, F.returned}
)


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ORDER_TRANSITIONS[current]


def transition(
    session: Session, order: Order, target: OrderStatus, clock: Clock, reason: str = ""
) -> None:
    """Move the order to ``target`` and record it; a move the machine forbids is a 409."""
    if order.status == target:
        return
    if not can_transition(order.status, target):
        raise Conflict(
            f"An order that is {order.status.value} cannot become {target.value}",
            details={"from": order.status.value, "to": target.value},
        )
    now = clock.now()
    session.add(
        OrderStatusChange(
            order_id=order.id,
            from_status=order.status.value,
            to_status=target.value,
            reason=reason,
            changed_at=now,
        )
    )
    order.status = target
    order.modified_at = now
    if target == S.paid:
        order.paid_at = now
    elif target == S.cancelled:
        order.cancelled_at = now


def set_group_status(
    session: Session, group: FulfilmentGroup, target: FulfilmentStatus, clock: Clock, reason: str
) -> None:
    if group.status == target:
        return
    now = clock.now()
    session.add(
        OrderStatusChange(
            order_id=group.order_id,
            group_id=group.id,
            from_status=group.status.value,
            to_status=target.value,
            reason=reason,
            changed_at=now,
        )
    )
    group.status = target
    group.modified_at = now
    if target == F.label_created and group.shipped_at is None:
        group.shipped_at = now
    elif target == F.delivered:
        group.delivered_at = now


def status_from_groups(groups: Iterable[FulfilmentGroup]) -> OrderStatus | None:
    """The shipping status the groups imply, or None when nothing has shipped yet."""
    live = [group for group in groups if group.status != F.cancelled]
    if not live:
        return None
    if all(group.status == F.delivered for group in live):
        return S.delivered
    shipped = [group for group in live if group.status in SHIPPED_GROUP_STATUSES]
    if len(shipped) == len(live):
        return S.shipped
    if shipped:
        return S.partially_shipped
    return None


def follow_groups(
    session: Session, order: Order, groups: Iterable[FulfilmentGroup], clock: Clock, reason: str
) -> None:
    """Advance the order along what its groups say (never backwards)."""
    implied = status_from_groups(groups)
    if implied is None or implied == order.status:
        return
    path = {
        S.partially_shipped: [S.partially_shipped],
        S.shipped: [S.shipped],
        S.delivered: [S.shipped, S.delivered],
    }[implied]
    for step in path:
        if order.status != step and can_transition(order.status, step):
            transition(session, order, step, clock, reason)
