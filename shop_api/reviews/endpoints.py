from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from shop_api.core.deps import ClockDep, CurrentUser, OptionalUser, ReadsDep, WritesDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
from shop_api.reviews import service
from shop_api.reviews.schemas import ReviewCreate, ReviewPage, ReviewPublic, SellerRating

router = APIRouter(tags=["reviews"])


@router.post(
    "/orders/{order_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def write_review(
    order_id: uuid.UUID,
    body: ReviewCreate,
    buyer: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
) -> ReviewPublic:
    """The buyer rates one item of the order after it was delivered; once per item."""
    review = await writes.run(service.post_review, clock, buyer, order_id, body)
    return ReviewPublic.model_validate(review, from_attributes=True)


@router.get(
    "/listings/{listing_id}/reviews",
    response_model=ReviewPage,
    responses=error_responses(404, 422),
)
async def list_reviews(
    listing_id: uuid.UUID,
    actor: OptionalUser,
    reads: ReadsDep,
    page: PageDep,
    rating: Annotated[int | None, Query(ge=1, le=5, description="Only this many stars")] = None,
) -> ReviewPage:
    """A listing's reviews, newest first."""
    reviews = await reads.run(service.page_of, actor, listing_id, page, rating)
    return reviews.envelope(
        ReviewPage, lambda row: ReviewPublic.model_validate(row, from_attributes=True)
    )


@router.get(
    "/sellers/{seller_id}/rating",
    response_model=SellerRating,
    responses=error_responses(404, 422),
)
async def seller_rating(seller_id: uuid.UUID, reads: ReadsDep) -> SellerRating:
    """The seller's stars over all their reviewed items, and their delivered sales."""
    summary = await reads.run(service.seller_rating, seller_id)
    return SellerRating.model_validate(summary, from_attributes=True)
