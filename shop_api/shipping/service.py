"""Shipping fulfilment groups through a ``CarrierProvider`` and following their tracking.

Shipments and the groups they move change under their order's lock
(``orders.queries.lock_order``), taken before the checks that decide the change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, NotFound, NotPermitted, Unprocessable
from shop_api.models import User, UserRole
from shop_api.models.orders import FulfilmentGroup, FulfilmentStatus, Order, OrderStatus
from shop_api.models.shipping import Shipment, ShipmentEvent, ShipmentStatus
from shop_api.notifications.orders import notify_order_status
from shop_api.orders.queries import get_readable, groups_of, lock_order
from shop_api.orders.state import follow_groups, set_group_status
from shop_api.payments.service import RetryLater
from shop_api.providers.shipping import CarrierProvider, TrackingEvent

SHIPPABLE_ORDER_STATUSES = (OrderStatus.paid, OrderStatus.partially_shipped)
GROUP_STATUS_FOR = {
    ShipmentStatus.label_created: FulfilmentStatus.label_created,
    ShipmentStatus.in_transit: FulfilmentStatus.in_transit,
    ShipmentStatus.out_for_delivery: FulfilmentStatus.out_for_delivery,
    ShipmentStatus.delivered: FulfilmentStatus.delivered,
    ShipmentStatus.exception: FulfilmentStatus.exception,
    ShipmentStatus.returned: FulfilmentStatus.returned,
}
# A tracking update never moves a parcel backwards (webhooks can arrive out of order).
PROGRESS = {
    ShipmentStatus.label_created: 0,
    ShipmentStatus.in_transit: 1,
    ShipmentStatus.out_for_delivery: 2,
    ShipmentStatus.exception: 2,
    ShipmentStatus.delivered: 3,
    ShipmentStatus.returned: 3,
}


def _group_to_ship(
    session: Session, actor: User, order: Order, group_id: uuid.UUID | None
) -> FulfilmentGroup:
    groups = groups_of(session, order.id)
    if actor.role != UserRole.staff:
        groups = [group for group in groups if group.seller_id == actor.id]
        if not groups:
            raise NotPermitted("Only the order's sellers can ship it")
    if group_id is not None:
        groups = [group for group in groups if group.id == group_id]
        if not groups:
            raise NotFound("Fulfilment group not found in this order")
    pending = [group for group in groups if group.status == FulfilmentStatus.awaiting_shipment]
    if not pending:
        raise Conflict("Nothing in this order is waiting to be shipped by you")
    if len(pending) > 1:
        raise Unprocessable(
            "Several of your groups wait to be shipped: name one with group_id",
            details=[{"loc": ["body", "group_id"], "msg": "required"}],
        )
    return pending[0]


def ship(
    session: Session,
    carrier: CarrierProvider,
    clock: Clock,
    actor: User,
    order_id: uuid.UUID,
    group_id: uuid.UUID | None,
) -> Shipment:
    """Buy a label for the seller's part of a paid order; the group counts as shipped.

    The carrier is asked with no lock held (a label is idempotent by its reference, the
    group); the shipment is then recorded under the order's lock, if the group is still
    waiting: of concurrent requests to ship one group, one records it and the others
    are told it is no longer waiting (409), as a second request after it would be.
    """
    order = get_readable(session, actor, order_id)
    if order.status not in SHIPPABLE_ORDER_STATUSES:
        raise Conflict(f"An order that is {order.status.value} cannot be shipped")
    group = _group_to_ship(session, actor, order, group_id)
    reference, address = str(group.id), dict(order.shipping_address)
    session.rollback()  # no lock held while the carrier answers
    label = carrier.create_label(reference=reference, address=address)
    order = lock_order(session, order_id)
    # The order's groups are never deleted: the group read above is still there.
    group = session.get_one(FulfilmentGroup, uuid.UUID(reference), populate_existing=True)
    if order.status not in SHIPPABLE_ORDER_STATUSES:
        raise Conflict(f"An order that is {order.status.value} cannot be shipped")
    if group.status != FulfilmentStatus.awaiting_shipment:
        raise Conflict("This group is no longer waiting to be shipped")
    now = clock.now()
    shipment = Shipment(
        order_id=order.id, group_id=group.id, carrier=carrier.name,
        tracking_number=label.tracking_number, label_url=label.label_url,
        status=ShipmentStatus.label_created, created_at=now, modified_at=now,
    )  # fmt: skip
    session.add(shipment)
    session.flush()
    session.add(
        ShipmentEvent(
            shipment_id=shipment.id, status=ShipmentStatus.label_created.value,
            description="Shipping label created", occurred_at=now, received_at=now,
        )
    )  # fmt: skip
    set_group_status(session, group, FulfilmentStatus.label_created, clock, "label created")
    follow_groups(session, order, groups_of(session, order.id), clock, "shipped")
    notify_order_status(session, order, now)
    # The buyer was erased while the carrier answered: erasure told the carrier to forget
    # the parcels it knew of, which did not include this one yet.
    erased_meanwhile = order.shipping_address != address
    session.commit()
    if erased_meanwhile:
        carrier.forget_recipient(reference=reference)
    return shipment


def apply_tracking_event(session: Session, clock: Clock, event: TrackingEvent) -> str:
    """Apply a verified tracking update, received once (``providers.receiving`` records
    it), under its order's lock."""
    by_number = select(Shipment).where(Shipment.tracking_number == event.tracking_number)
    order_id = session.scalar(by_number.with_only_columns(Shipment.order_id))
    if order_id is None:
        raise RetryLater(f"shipment {event.tracking_number} is not recorded yet")
    order = lock_order(session, order_id)
    shipment = session.scalars(by_number.execution_options(populate_existing=True)).one()
    already = session.scalar(
        select(ShipmentEvent.id).where(
            ShipmentEvent.shipment_id == shipment.id, ShipmentEvent.status == event.status.value
        )
    )
    if already is None:
        session.add(
            ShipmentEvent(
                shipment_id=shipment.id, status=event.status.value,
                description=event.description, location=event.location,
                occurred_at=event.occurred_at, received_at=clock.now(),
                provider_event_id=event.id,
            )
        )  # fmt: skip
    if event.status == shipment.status or PROGRESS[event.status] < PROGRESS[shipment.status]:
        return "stale"
    shipment.status = event.status
    shipment.modified_at = clock.now()
    group = session.get(FulfilmentGroup, shipment.group_id, populate_existing=True)
    assert group is not None
    set_group_status(
        session,
        group,
        GROUP_STATUS_FOR[event.status],
        clock,
        event.description or event.status.value,
    )
    follow_groups(
        session, order, groups_of(session, order.id), clock, f"tracking: {event.status.value}"
    )
    notify_order_status(session, order, clock.now())
    return event.status.value


def tracking(
    session: Session, actor: User, order_id: uuid.UUID
) -> list[tuple[Shipment, list[ShipmentEvent]]]:
    order = get_readable(session, actor, order_id)
    statement = select(Shipment).where(Shipment.order_id == order.id)
    if actor.role != UserRole.staff and order.buyer_id != actor.id:
        # A seller tracks their own parcels, not the other sellers' of the same order.
        statement = statement.where(
            Shipment.group_id.in_(
                select(FulfilmentGroup.id).where(
                    FulfilmentGroup.order_id == order.id, FulfilmentGroup.seller_id == actor.id
                )
            )
        )
    shipments = session.scalars(statement.order_by(Shipment.created_at)).all()
    result = []
    for shipment in shipments:
        events = session.scalars(
            select(ShipmentEvent)
            .where(ShipmentEvent.shipment_id == shipment.id)
            .order_by(ShipmentEvent.occurred_at, ShipmentEvent.received_at)
        ).all()
        result.append((shipment, list(events)))
    return result
