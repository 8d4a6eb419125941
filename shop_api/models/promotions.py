"""Coupons ("promociones") and their redemptions."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import MONEY, RecordModel
from shop_api.models.user import enum_column


class CouponKind(enum.StrEnum):
    percent = "percent"
    fixed = "fixed"


class Coupon(RecordModel):
    __tablename__ = "coupons"
    __table_args__ = (CheckConstraint("redemptions_count >= 0", name="redemptions_not_negative"),)

    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[CouponKind] = mapped_column(enum_column(CouponKind, "coupon_kind"))
    percent_off: Mapped[int | None]
    amount_off_minor: Mapped[int | None] = mapped_column(MONEY)
    currency: Mapped[str | None] = mapped_column(String(3))
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("categories.id"))
    seller_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    min_basket_minor: Mapped[int] = mapped_column(MONEY, default=0)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    max_redemptions: Mapped[int | None]
    max_redemptions_per_user: Mapped[int | None]
    redemptions_count: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class CouponRedemption(RecordModel):
    __tablename__ = "coupon_redemptions"

    coupon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("coupons.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), unique=True)
    amount_minor: Mapped[int] = mapped_column(MONEY)
    released_at: Mapped[datetime | None]
