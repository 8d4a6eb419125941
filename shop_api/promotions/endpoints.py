from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from shop_api.core.deps import ClockDep, CurrentStaff, SessionDep, SettingsDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
from shop_api.core.validation import Text
from shop_api.models import Coupon
from shop_api.promotions import service
from shop_api.promotions.schemas import CouponCreate, CouponPage, CouponPublic, CouponUpdate

router = APIRouter(prefix="/promotions/coupons", tags=["promotions"])

CodePath = Annotated[Text, Path(min_length=1, max_length=40, description="Case-insensitive")]


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


def _render(session: Session, coupon: Coupon, clock: ClockDep) -> CouponPublic:
    return coupon_public(coupon, service.category_slugs(session, [coupon]), clock.now())


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CouponPublic,
    responses=error_responses(401, 403, 409, 413, 422),
)
def create_coupon(
    body: CouponCreate,
    _staff: CurrentStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CouponPublic:
    """Create a coupon (staff). Codes are unique, case-insensitively."""
    coupon = service.create_coupon(session, clock, settings, body)
    return _render(session, coupon, clock)


@router.get("", response_model=CouponPage, responses=error_responses(401, 403, 422))
def list_coupons(
    _staff: CurrentStaff,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    active: Annotated[bool | None, Query(description="Only (in)active coupons")] = None,
) -> CouponPage:
    """Every coupon, newest first (staff)."""
    coupons, total = service.list_coupons(
        session, active=active, limit=page.page_size, offset=page.offset
    )
    slugs = service.category_slugs(session, coupons)
    now = clock.now()
    return CouponPage(
        data=[coupon_public(coupon, slugs, now) for coupon in coupons],
        count=total,
        page=page.page,
        page_size=page.page_size,
    )


@router.get("/{code}", response_model=CouponPublic, responses=error_responses(401, 403, 404, 422))
def read_coupon(
    code: CodePath, _staff: CurrentStaff, session: SessionDep, clock: ClockDep
) -> CouponPublic:
    return _render(session, service.get_coupon(session, code), clock)


@router.patch(
    "/{code}", response_model=CouponPublic, responses=error_responses(401, 403, 404, 409, 413, 422)
)
def update_coupon(
    code: CodePath,
    body: CouponUpdate,
    _staff: CurrentStaff,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CouponPublic:
    """Adjust a coupon (staff): deactivate it, change its window or limits; its terms
    only until it is first redeemed."""
    coupon = service.update_coupon(session, clock, settings, code, body)
    return _render(session, coupon, clock)
