"""Coupon management for staff: create, list, read and adjust coupons.

The rules that apply a coupon to a basket live in ``pricing`` (used by checkout); this
module only keeps coupons well-formed. A coupon's terms are frozen once an order has
used it, so every order can be explained by the coupon it names.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop_api.catalog.service import find_category
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import Conflict, NotFound, Unprocessable
from shop_api.models import Category, Coupon, CouponKind, CouponRedemption, User, UserRole
from shop_api.promotions.pricing import normalise_code
from shop_api.promotions.schemas import (
    CouponCreate,
    CouponState,
    CouponUpdate,
    check_terms,
    check_window,
)

# Fields that decide what discount an order got; fixed after the first redemption.
TERMS = ("kind", "percent_off", "amount_off_minor", "currency", "category_id", "seller_id")


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(message, details=[{"loc": ["body", field], "msg": message}])


def _category(session: Session, slug_or_id: str) -> Category:
    category = find_category(session, slug_or_id)
    if category is None:
        raise _invalid("category", f"Category {slug_or_id!r} does not exist")
    return category


def _check_seller(session: Session, seller_id: uuid.UUID) -> None:
    if session.scalar(select(User.role).where(User.id == seller_id)) != UserRole.seller:
        raise _invalid("seller_id", "seller_id does not name a seller")


def state_of(coupon: Coupon, now: datetime) -> CouponState:
    if not coupon.active:
        return "inactive"
    if coupon.starts_at is not None and now < coupon.starts_at:
        return "scheduled"
    if coupon.ends_at is not None and now >= coupon.ends_at:
        return "expired"
    if coupon.max_redemptions is not None and coupon.redemptions_count >= coupon.max_redemptions:
        return "exhausted"
    return "live"


def create_coupon(session: Session, clock: Clock, settings: Settings, body: CouponCreate) -> Coupon:
    code = normalise_code(body.code)
    if session.scalar(select(Coupon.id).where(Coupon.code == code)) is not None:
        raise Conflict(f"Coupon {code} already exists")
    category = _category(session, body.category) if body.category is not None else None
    if body.seller_id is not None:
        _check_seller(session, body.seller_id)
    now = clock.now()
    coupon = Coupon(
        code=code, description=body.description, kind=body.kind, percent_off=body.percent_off,
        amount_off_minor=body.amount_off_minor,
        currency=(body.currency or settings.default_currency)
        if body.kind == CouponKind.fixed else None,
        category_id=category.id if category else None, seller_id=body.seller_id,
        min_basket_minor=body.min_basket_minor, starts_at=body.starts_at, ends_at=body.ends_at,
        max_redemptions=body.max_redemptions,
        max_redemptions_per_user=body.max_redemptions_per_user, redemptions_count=0,
        active=body.active, created_at=now, modified_at=now,
    )  # fmt: skip
    session.add(coupon)
    try:
        session.commit()
    except IntegrityError:  # the same code created concurrently
        session.rollback()
        if session.scalar(select(Coupon.id).where(Coupon.code == code)) is None:
            raise
        raise Conflict(f"Coupon {code} already exists") from None
    return coupon


def get_coupon(session: Session, code: str, *, for_update: bool = False) -> Coupon:
    statement = select(Coupon).where(Coupon.code == normalise_code(code))
    if for_update:
        statement = statement.with_for_update()
    coupon = session.scalar(statement)
    if coupon is None:
        raise NotFound("Coupon not found")
    return coupon


def category_slugs(session: Session, coupons: list[Coupon]) -> dict[uuid.UUID, str]:
    ids = {coupon.category_id for coupon in coupons if coupon.category_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(Category.id, Category.slug).where(Category.id.in_(ids)))
    return {category_id: slug for category_id, slug in rows}


def update_coupon(
    session: Session, clock: Clock, settings: Settings, code: str, body: CouponUpdate
) -> Coupon:
    # Locked, so a checkout redeeming it concurrently is seen before the terms change.
    coupon = get_coupon(session, code, for_update=True)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "category" in changes:
        slug_or_id = changes.pop("category")
        changes["category_id"] = _category(session, slug_or_id).id if slug_or_id else None
    if changes.get("seller_id") is not None:
        _check_seller(session, changes["seller_id"])
    term_changes = sorted(
        name for name in TERMS if name in changes and changes[name] != getattr(coupon, name)
    )
    if term_changes:
        redeemed = session.scalar(
            select(CouponRedemption.id).where(CouponRedemption.coupon_id == coupon.id).limit(1)
        )
        if redeemed is not None:
            raise Conflict(
                f"Coupon {coupon.code} has been redeemed: its terms can no longer change",
                details={"fields": term_changes},
            )

    merged = {
        name: changes.get(name, getattr(coupon, name))
        for name in ("kind", "percent_off", "amount_off_minor", "currency", "starts_at", "ends_at")
    }
    if "kind" in changes and changes["kind"] != coupon.kind:
        # Switching kind drops the other kind's amounts unless they were sent too.
        if merged["kind"] == CouponKind.percent:
            for name in ("amount_off_minor", "currency"):
                merged[name] = changes.get(name)
        else:
            merged["percent_off"] = changes.get("percent_off")
    if merged["kind"] == CouponKind.fixed and merged["currency"] is None:
        merged["currency"] = coupon.currency or settings.default_currency
    try:
        check_terms(
            merged["kind"], merged["percent_off"], merged["amount_off_minor"], merged["currency"]
        )
        check_window(merged["starts_at"], merged["ends_at"])
    except ValueError as exc:
        raise Unprocessable(str(exc), details=[{"loc": ["body"], "msg": str(exc)}]) from None
    limit = changes.get("max_redemptions", coupon.max_redemptions)
    if limit is not None and limit < coupon.redemptions_count:
        raise Conflict(
            f"Coupon {coupon.code} is already redeemed {coupon.redemptions_count} times",
            details={"redemptions_count": coupon.redemptions_count},
        )

    changes.update(merged)
    for name, value in changes.items():
        setattr(coupon, name, value)
    coupon.modified_at = clock.now()
    session.commit()
    return coupon
