"""Coupons as staff see them, and the units of work behind the coupon endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.pagination import PageParams, paginate
from shop_api.models import Coupon
from shop_api.promotions import service
from shop_api.promotions.schemas import CouponCreate, CouponPage, CouponPublic, CouponUpdate


def coupon_public(coupon: Coupon, slugs: dict[uuid.UUID, str], now: datetime) -> CouponPublic:
    return CouponPublic(
        id=coupon.id, code=coupon.code, description=coupon.description, kind=coupon.kind,
        percent_off=coupon.percent_off, amount_off_minor=coupon.amount_off_minor,
        currency=coupon.currency, category_id=coupon.category_id,
        category_slug=slugs.get(coupon.category_id) if coupon.category_id is not None else None,
        seller_id=coupon.seller_id,
        min_basket_minor=coupon.min_basket_minor, starts_at=coupon.starts_at,
        ends_at=coupon.ends_at, max_redemptions=coupon.max_redemptions,
        max_redemptions_per_user=coupon.max_redemptions_per_user,
        redemptions_count=coupon.redemptions_count, active=coupon.active,
        state=service.state_of(coupon, now), created_at=coupon.created_at,
        modified_at=coupon.modified_at,
    )  # fmt: skip


def _render(session: Session, coupon: Coupon, clock: Clock) -> CouponPublic:
    return coupon_public(coupon, service.category_slugs(session, [coupon]), clock.now())


def create(session: Session, clock: Clock, settings: Settings, body: CouponCreate) -> CouponPublic:
    return _render(session, service.create_coupon(session, clock, settings, body), clock)


def page_of(session: Session, page: PageParams, active: bool | None, now: datetime) -> CouponPage:
    """A page of every coupon (or the active or inactive ones), newest first."""
    statement = select(Coupon)
    if active is not None:
        statement = statement.where(Coupon.active.is_(active))
    coupons = paginate(session, statement, page, Coupon.created_at.desc(), Coupon.id)
    slugs = service.category_slugs(session, coupons.items)
    return coupons.envelope(CouponPage, lambda coupon: coupon_public(coupon, slugs, now))


def read(session: Session, code: str, clock: Clock) -> CouponPublic:
    return _render(session, service.get_coupon(session, code), clock)


def update(
    session: Session, clock: Clock, settings: Settings, code: str, body: CouponUpdate
) -> CouponPublic:
    return _render(session, service.update_coupon(session, clock, settings, code, body), clock)
