from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shop_api.core.validation import Text
from shop_api.models.orders import FulfilmentStatus, OrderStatus


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=120)
    line1: Text = Field(min_length=1, max_length=200)
    line2: Text | None = Field(default=None, max_length=200)
    city: Text = Field(min_length=1, max_length=100)
    region: Text | None = Field(default=None, max_length=100)
    postal_code: Text = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shipping_address: Address
    coupon_code: Text | None = Field(default=None, min_length=1, max_length=40)


class OrderItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    listing_id: uuid.UUID
    group_id: uuid.UUID
    seller_id: uuid.UUID
    title: str
    unit_price_minor: int
    quantity: int
    discount_minor: int
    tax_minor: int
    line_total_minor: int


class FulfilmentGroupPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    seller_id: uuid.UUID
    status: FulfilmentStatus
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    shipped_at: datetime | None
    delivered_at: datetime | None


class OrderPublic(BaseModel):
    id: uuid.UUID
    buyer_id: uuid.UUID
    status: OrderStatus
    currency: str
    subtotal_minor: int
    discount_minor: int
    shipping_minor: int
    tax_minor: int
    total_minor: int
    refunded_minor: int
    coupon_code: str | None
    shipping_address: dict[str, Any]
    reservation_expires_at: datetime | None
    placed_at: datetime
    paid_at: datetime | None
    cancelled_at: datetime | None
    groups: list[FulfilmentGroupPublic]
    items: list[OrderItemPublic]


class OrderSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    buyer_id: uuid.UUID
    status: OrderStatus
    currency: str
    total_minor: int
    placed_at: datetime


class OrderPage(BaseModel):
    data: list[OrderSummary]
    count: int
    page: int
    page_size: int


class StatusChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    group_id: uuid.UUID | None
    from_status: str | None
    to_status: str
    reason: str
    changed_at: datetime


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(default="requested by customer", max_length=200)


class SalesByStatus(BaseModel):
    status: OrderStatus
    currency: str
    orders: int = Field(description="Orders holding at least one of the seller's items")
    units: int
    amount_minor: int = Field(description="The seller's line totals, in minor units")


class SellerSales(BaseModel):
    seller_id: uuid.UUID
    by_status: list[SalesByStatus]
