from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shop_api.core.validation import Text


class ReviewCreate(BaseModel):
    """A rating for one delivered order item; title and text are optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_item_id: uuid.UUID
    rating: int = Field(ge=1, le=5, description="Stars, 1 to 5")
    title: Text = Field(default="", max_length=120)
    body: Text = Field(default="", max_length=5000)


class ReviewPublic(BaseModel):
    """A review as anyone may see it: the reviewer by display name only."""

    id: uuid.UUID
    listing_id: uuid.UUID
    rating: int
    title: str
    body: str
    reviewer_name: str
    created_at: datetime


class ReviewPage(BaseModel):
    data: list[ReviewPublic]
    count: int
    page: int
    page_size: int


class SellerRating(BaseModel):
    seller_id: uuid.UUID
    rating_count: int
    rating_average: float | None = Field(description="Mean stars, 2 decimals; null without reviews")
    rating_distribution: dict[str, int] = Field(description='Reviews per star, keys "1".."5"')
    sales_count: int = Field(description="Fulfilment groups the seller has delivered")
