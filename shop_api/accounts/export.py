"""The right of access (``GET /me/export``): every record the shop keeps about the caller.

Everything is selected by the caller's own id, nothing by what a caller asks for, so an
export can hold no one else's data. Orders are the caller's purchases (a seller's sales
are the buyers' data); clickstream events are those carrying the caller's ``user_id``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shop_api.accounts.schemas import (
    AccountExport,
    ConsentEventPublic,
    ExportedAccount,
    ExportedListing,
    ExportedMessage,
    ExportedPayment,
    ExportedReview,
    ExportedShipment,
)
from shop_api.core.clock import Clock
from shop_api.core.unit_of_work import Reads
from shop_api.models import (
    ConsentEvent,
    Listing,
    Notification,
    Order,
    OutboundMessage,
    Payment,
    Question,
    Review,
    Shipment,
    User,
)
from shop_api.notifications.schemas import NotificationPublic
from shop_api.orders.views import order_public
from shop_api.questions.schemas import QuestionPublic
from shop_api.tracking.lake import EVENTS, LandingZone
from shop_api.tracking.service import Tracking


def events_of(zone: LandingZone, user_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    """The accepted events whose ``user_id`` is this user's, oldest file first."""
    mentions = re.compile(re.escape(str(user_id)), re.IGNORECASE)
    for line in zone.lines(EVENTS):
        if not mentions.search(line):
            continue
        event = json.loads(line)
        if str(event.get("user_id", "")).lower() == str(user_id):
            yield event


async def export_account(
    reads: Reads, tracking: Tracking, clock: Clock, user: User
) -> AccountExport:
    """Everything kept about ``user``: the database's records in one read, then the lake's
    events (files: read in a worker thread)."""
    records = await reads.run(_records_of, user.id)
    events = await run_in_threadpool(_events_of, tracking, user.id)
    return AccountExport(
        exported_at=clock.now(),
        account=ExportedAccount.model_validate(user),
        **records,
        events=events,
    )


def _events_of(tracking: Tracking, user_id: uuid.UUID) -> list[dict[str, Any]]:
    tracking.sink.flush()  # events queued in this process are in the lake first
    return list(events_of(tracking.zone, user_id))


def _records_of(session: Session, by_user: uuid.UUID) -> dict[str, Any]:
    orders = session.scalars(
        select(Order)
        .where(Order.buyer_id == by_user)
        .options(selectinload(Order.groups), selectinload(Order.items))
        .order_by(Order.placed_at, Order.id)
    ).all()
    order_ids = [order.id for order in orders]

    def rows(statement: Any) -> list[Any]:
        return list(session.scalars(statement))

    return dict(
        consents=[
            ConsentEventPublic.model_validate(row)
            for row in rows(
                select(ConsentEvent)
                .where(ConsentEvent.user_id == by_user)
                .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
            )
        ],
        orders=[order_public(order) for order in orders],
        payments=[
            ExportedPayment.model_validate(row)
            for row in rows(
                select(Payment).where(Payment.order_id.in_(order_ids)).order_by(Payment.created_at)
            )
        ],
        shipments=[
            ExportedShipment.model_validate(row)
            for row in rows(
                select(Shipment)
                .where(Shipment.order_id.in_(order_ids))
                .order_by(Shipment.created_at)
            )
        ],
        questions=[
            QuestionPublic.model_validate(row)
            for row in rows(
                select(Question).where(Question.asker_id == by_user).order_by(Question.created_at)
            )
        ],
        reviews=[
            ExportedReview.model_validate(row)
            for row in rows(
                select(Review).where(Review.buyer_id == by_user).order_by(Review.created_at)
            )
        ],
        listings=[
            ExportedListing.model_validate(row)
            for row in rows(
                select(Listing).where(Listing.seller_id == by_user).order_by(Listing.created_at)
            )
        ],
        notifications=[
            NotificationPublic.model_validate(row)
            for row in rows(
                select(Notification)
                .where(Notification.user_id == by_user)
                .order_by(Notification.created_at, Notification.id)
            )
        ],
        messages=[
            ExportedMessage.model_validate(row)
            for row in rows(
                select(OutboundMessage)
                .where(OutboundMessage.user_id == by_user)
                .order_by(OutboundMessage.created_at)
            )
        ],
    )
