"""Server-side events in the clickstream's event v1 shape, written to the outbox.

The clickstream collector drains the outbox into the landing zone; writing here in the
business transaction means an event exists exactly when its fact does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shop_api.models.orders import Order, OrderItem
from shop_api.models.outbox import OutboxEvent

SCHEMA_VERSION = 1


def to_major(amount_minor: int) -> float:
    return round(amount_minor / 100, 2)


def event_items(items: list[OrderItem]) -> list[dict[str, Any]]:
    return [
        {
            "item_id": str(item.listing_id),
            "item_name": item.title,
            "item_category": str(item.category_id),
            "price": to_major(item.unit_price_minor),
            "quantity": item.quantity,
            "index": item.position,
            "seller_id": str(item.seller_id),
        }
        for item in items
    ]


def record_event(
    session: Session,
    *,
    event_name: str,
    at: datetime,
    user_id: uuid.UUID | None,
    params: dict[str, Any],
    items: list[dict[str, Any]] | None = None,
) -> OutboxEvent:
    event_id = uuid.uuid4()
    payload = {
        "event_id": str(event_id),
        "event_name": event_name,
        "event_time": at.isoformat(),
        "client_id": None,
        "user_id": str(user_id) if user_id else None,
        "session_id": None,
        "page": None,
        "params": params,
        "items": items or [],
        "context": {"source": "server"},
        "schema_version": SCHEMA_VERSION,
    }
    event = OutboxEvent(
        id=event_id, event_name=event_name, event_time=at, user_id=user_id, payload=payload
    )
    session.add(event)
    return event


def record_purchase(session: Session, order: Order, items: list[OrderItem], at: datetime) -> None:
    record_event(
        session,
        event_name="purchase",
        at=at,
        user_id=order.buyer_id,
        params={
            "transaction_id": str(order.id),
            "value": to_major(order.total_minor),
            "currency": order.currency,
            "tax": to_major(order.tax_minor),
            "shipping": to_major(order.shipping_minor),
            "coupon": order.coupon_code,
        },
        items=event_items(items),
    )


def record_refund(
    session: Session, order: Order, amount_minor: int, at: datetime, refund_id: uuid.UUID
) -> None:
    record_event(
        session,
        event_name="refund",
        at=at,
        user_id=order.buyer_id,
        params={
            "transaction_id": str(order.id),
            "refund_id": str(refund_id),
            "value": to_major(amount_minor),
            "currency": order.currency,
        },
    )
