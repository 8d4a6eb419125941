from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, StringConstraints, field_validator

from shop_api.core.pagination import PageNumber, PageParams, PageSize
from shop_api.core.validation import INT64_MAX, CurrencyCode, MinorUnits, MinorUnitsFilter, Text
from shop_api.models import ListingCondition, ListingStatus

MAX_ATTRIBUTES = 30
AttributeKey = Annotated[Text, StringConstraints(min_length=1, max_length=40)]
# NaN and Infinity (which Python's JSON parser accepts) are not JSON: PostgreSQL refuses them.
# Integers within 64 bits: the attributes are JSON in the database, read back by both.
AttributeValue = (
    Annotated[Text, StringConstraints(max_length=200)]
    | bool
    | Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
    | FiniteFloat
)
Attributes = dict[AttributeKey, AttributeValue]

# Trimmed before the length check, so a blank title is refused rather than stored empty.
Title = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]
MAX_PRICE_MINOR = 1_000_000_000
PriceMinor = Annotated[MinorUnits, Field(gt=0, le=MAX_PRICE_MINOR)]


def _check_attributes(value: Attributes | None) -> Attributes | None:
    if value is not None and len(value) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} attributes")
    return value


class ListingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Text = Field(default="", max_length=10_000)
    category: Text = Field(min_length=1, max_length=64, description="Category slug or id")
    price_minor: PriceMinor
    currency: CurrencyCode | None = None  # the shop's default when left out
    stock: int = Field(default=1, ge=0, le=1_000_000)
    condition: ListingCondition = ListingCondition.new
    attributes: Attributes = Field(default_factory=dict)
    status: Literal["draft", "active"] = Field(
        default="draft", description="Publish straight away with 'active'"
    )

    _attributes = field_validator("attributes")(_check_attributes)


class ListingUpdate(BaseModel):
    """Fields left out are unchanged. ``sold_out`` follows stock and cannot be set."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Text | None = Field(default=None, max_length=10_000)
    category: Text | None = Field(default=None, min_length=1, max_length=64)
    price_minor: PriceMinor | None = None
    currency: CurrencyCode | None = None
    stock: int | None = Field(default=None, ge=0, le=1_000_000)
    condition: ListingCondition | None = None
    attributes: Attributes | None = None
    status: Literal["active", "paused"] | None = None

    _attributes = field_validator("attributes")(_check_attributes)


class ImagePublic(BaseModel):
    id: uuid.UUID
    url: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    position: int


class ListingPublic(BaseModel):
    id: uuid.UUID
    seller_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    description: str
    price_minor: int
    currency: str
    stock: int
    condition: ListingCondition
    attributes: Attributes
    status: ListingStatus
    images: list[ImagePublic]
    created_at: datetime
    modified_at: datetime
    published_at: datetime | None
    rating_count: int = Field(default=0, description="Reviews of this listing")
    rating_average: float | None = Field(default=None, description="Mean stars; null unrated")


class ListingSummary(BaseModel):
    id: uuid.UUID
    seller_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    price_minor: int
    currency: str
    stock: int
    condition: ListingCondition
    status: ListingStatus
    created_at: datetime
    cover_image_url: str | None
    score: float | None = Field(description="Relevance to the query; null without a query")


class ListingPage(BaseModel):
    data: list[ListingSummary]
    count: int = Field(description="Total matches across all pages")
    page: int
    page_size: int


SortOrder = Literal["relevance", "newest", "price_asc", "price_desc"]


class SearchQuery(BaseModel):
    """The query parameters of ``GET /listings``, validated as one model (see
    ``shop_api.core.pagination.PageNumber``)."""

    q: Text | None = Field(None, max_length=200, description="Keywords")
    category: Text | None = Field(
        None, max_length=64, description="Category slug or id; includes descendants"
    )
    min_price: MinorUnitsFilter | None = None
    max_price: MinorUnitsFilter | None = None
    condition: ListingCondition | None = None
    seller_id: uuid.UUID | None = None
    sort: SortOrder = Field(
        "relevance", description="relevance needs q; without q it falls back to newest"
    )
    page: PageNumber = 1
    page_size: PageSize = 20

    @property
    def page_params(self) -> PageParams:
        return PageParams(page=self.page, page_size=self.page_size)
