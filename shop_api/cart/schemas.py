from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field


class CartItemAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listing_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=99)


class CartItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=99)


class CartLine(BaseModel):
    id: uuid.UUID
    listing_id: uuid.UUID
    seller_id: uuid.UUID
    title: str
    unit_price_minor: int
    currency: str
    quantity: int
    line_total_minor: int
    available: bool = Field(description="False when the listing is no longer on sale")
    stock: int


class CartPublic(BaseModel):
    id: uuid.UUID | None
    items: list[CartLine]
    item_count: int
    subtotal_minor: int = Field(description="Of available items, at current prices")
    currency: str | None
