"""Orders, their per-seller fulfilment groups, line items and status history.

Prices, discounts, taxes and shipping are snapshotted here at checkout, so an order
reads the same whatever later happens to its listings.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop_api.core.db import MONEY, Base, RecordModel, utcnow
from shop_api.models.user import enum_column


class OrderStatus(enum.StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    partially_shipped = "partially_shipped"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    refunded = "refunded"


class FulfilmentStatus(enum.StrEnum):
    awaiting_payment = "awaiting_payment"
    awaiting_shipment = "awaiting_shipment"
    label_created = "label_created"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    exception = "exception"
    returned = "returned"
    cancelled = "cancelled"


class Order(RecordModel):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("buyer_id", "idempotency_key"),
        Index("ix_orders_status_reservation_expires_at", "status", "reservation_expires_at"),
    )

    buyer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "order_status"), default=OrderStatus.pending_payment
    )
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(MONEY)
    discount_minor: Mapped[int] = mapped_column(MONEY, default=0)
    shipping_minor: Mapped[int] = mapped_column(MONEY, default=0)
    tax_minor: Mapped[int] = mapped_column(MONEY, default=0)
    total_minor: Mapped[int] = mapped_column(MONEY)
    refunded_minor: Mapped[int] = mapped_column(MONEY, default=0)
    coupon_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coupons.id"))
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reservation_expires_at: Mapped[datetime | None]
    placed_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # The delivery date promised to the buyer, when one was (imported orders carry it).
    estimated_delivery_at: Mapped[datetime | None]

    groups: Mapped[list[FulfilmentGroup]] = relationship(
        lazy="raise", order_by="FulfilmentGroup.created_at"
    )
    items: Mapped[list[OrderItem]] = relationship(lazy="raise", order_by="OrderItem.position")


class FulfilmentGroup(RecordModel):
    """The part of an order one seller ships."""

    __tablename__ = "fulfilment_groups"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[FulfilmentStatus] = mapped_column(
        enum_column(FulfilmentStatus, "fulfilment_status"),
        default=FulfilmentStatus.awaiting_payment,
    )
    subtotal_minor: Mapped[int] = mapped_column(MONEY)
    discount_minor: Mapped[int] = mapped_column(MONEY, default=0)
    shipping_minor: Mapped[int] = mapped_column(MONEY, default=0)
    tax_minor: Mapped[int] = mapped_column(MONEY, default=0)
    total_minor: Mapped[int] = mapped_column(MONEY)
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class OrderItem(RecordModel):
    __tablename__ = "order_items"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fulfilment_groups.id"), index=True)
    listing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("listings.id"), index=True)
    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    unit_price_minor: Mapped[int] = mapped_column(MONEY)
    quantity: Mapped[int]
    discount_minor: Mapped[int] = mapped_column(MONEY, default=0)
    tax_minor: Mapped[int] = mapped_column(MONEY, default=0)
    line_total_minor: Mapped[int] = mapped_column(MONEY)


class OrderStatusChange(Base):
    """Append-only history, so the warehouse can rebuild every order's life."""

    __tablename__ = "order_status_history"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("fulfilment_groups.id"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
