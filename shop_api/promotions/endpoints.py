from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from shop_api.core.deps import ClockDep, CurrentStaff, ReadsDep, SettingsDep, WritesDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
from shop_api.core.validation import Text
from shop_api.promotions import views
from shop_api.promotions.schemas import CouponCreate, CouponPage, CouponPublic, CouponUpdate

router = APIRouter(prefix="/promotions/coupons", tags=["promotions"])

CodePath = Annotated[Text, Path(min_length=1, max_length=40, description="Case-insensitive")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CouponPublic,
    responses=error_responses(401, 403, 409, 413, 422),
)
async def create_coupon(
    body: CouponCreate,
    _staff: CurrentStaff,
    writes: WritesDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CouponPublic:
    """Create a coupon (staff). Codes are unique, case-insensitively."""
    return await writes.run(views.create, clock, settings, body)


@router.get("", response_model=CouponPage, responses=error_responses(401, 403, 422))
async def list_coupons(
    _staff: CurrentStaff,
    reads: ReadsDep,
    clock: ClockDep,
    page: PageDep,
    active: Annotated[bool | None, Query(description="Only (in)active coupons")] = None,
) -> CouponPage:
    """Every coupon, newest first (staff)."""
    return await reads.run(views.page_of, page, active, clock.now())


@router.get("/{code}", response_model=CouponPublic, responses=error_responses(401, 403, 404, 422))
async def read_coupon(
    code: CodePath, _staff: CurrentStaff, reads: ReadsDep, clock: ClockDep
) -> CouponPublic:
    return await reads.run(views.read, code, clock)


@router.patch(
    "/{code}", response_model=CouponPublic, responses=error_responses(401, 403, 404, 409, 413, 422)
)
async def update_coupon(
    code: CodePath,
    body: CouponUpdate,
    _staff: CurrentStaff,
    writes: WritesDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CouponPublic:
    """Adjust a coupon (staff): deactivate it, change its window or limits; its terms
    only until it is first redeemed."""
    return await writes.run(views.update, clock, settings, code, body)
