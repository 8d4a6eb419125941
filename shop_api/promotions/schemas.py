from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from shop_api.core.validation import CurrencyCode, MinorUnits, Text
from shop_api.models import CouponKind

# Codes are case-insensitive: stored and matched upper-case.
CouponCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_upper=True,
        min_length=3,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    ),
]
MAX_MINOR = 1_000_000_000
MAX_COUNT = 1_000_000_000
CouponState = Literal["inactive", "scheduled", "live", "expired", "exhausted"]


class CouponCreate(BaseModel):
    """A percent coupon needs ``percent_off``; a fixed one ``amount_off_minor`` (and is
    only valid for baskets in its ``currency``, the shop's default when left out)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: CouponCode = Field(description="Letters, digits, '-' and '_'; stored upper-case")
    description: Text = Field(default="", max_length=200)
    kind: CouponKind
    percent_off: int | None = Field(default=None, ge=1, le=100)
    amount_off_minor: MinorUnits | None = Field(default=None, gt=0, le=MAX_MINOR)
    currency: CurrencyCode | None = None
    category: Text | None = Field(
        default=None, min_length=1, max_length=64, description="Category slug or id; with subtree"
    )
    seller_id: uuid.UUID | None = Field(default=None, description="Only this seller's items")
    min_basket_minor: MinorUnits = Field(
        default=0, ge=0, le=MAX_MINOR, description="Qualifying items must total at least this"
    )
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_redemptions: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    max_redemptions_per_user: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> CouponCreate:
        check_terms(self.kind, self.percent_off, self.amount_off_minor, self.currency)
        check_window(self.starts_at, self.ends_at)
        return self


class CouponUpdate(BaseModel):
    """Fields left out are unchanged; ``null`` clears an optional limit, window end or
    scope. Once the coupon has been redeemed its terms (kind, amount, currency, scope)
    are fixed: deactivate it and create another instead."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    description: Text | None = Field(default=None, max_length=200)
    active: bool | None = None
    kind: CouponKind | None = None
    percent_off: int | None = Field(default=None, ge=1, le=100)
    amount_off_minor: MinorUnits | None = Field(default=None, gt=0, le=MAX_MINOR)
    currency: CurrencyCode | None = None
    category: Text | None = Field(default=None, min_length=1, max_length=64)
    seller_id: uuid.UUID | None = None
    min_basket_minor: MinorUnits | None = Field(default=None, ge=0, le=MAX_MINOR)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_redemptions: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    max_redemptions_per_user: int | None = Field(default=None, ge=1, le=MAX_COUNT)

    @model_validator(mode="after")
    def _not_null(self) -> CouponUpdate:
        for name in ("description", "active", "kind", "min_basket_minor"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


def check_terms(
    kind: CouponKind, percent_off: int | None, amount_off_minor: int | None, currency: Any
) -> None:
    if kind == CouponKind.percent:
        if percent_off is None:
            raise ValueError("a percent coupon needs percent_off")
        if amount_off_minor is not None or currency is not None:
            raise ValueError("amount_off_minor and currency are for fixed coupons")
    else:
        if amount_off_minor is None:
            raise ValueError("a fixed coupon needs amount_off_minor")
        if percent_off is not None:
            raise ValueError("percent_off is for percent coupons")


def check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")


class CouponPublic(BaseModel):
    id: uuid.UUID
    code: str
    description: str
    kind: CouponKind
    percent_off: int | None
    amount_off_minor: int | None
    currency: str | None
    category_id: uuid.UUID | None
    category_slug: str | None
    seller_id: uuid.UUID | None
    min_basket_minor: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_redemptions: int | None
    max_redemptions_per_user: int | None
    redemptions_count: int = Field(description="Redemptions held by orders not cancelled")
    active: bool
    state: CouponState = Field(description="Whether checkout would accept it now, and if not why")
    created_at: datetime
    modified_at: datetime


class CouponPage(BaseModel):
    data: list[CouponPublic]
    count: int
    page: int
    page_size: int
