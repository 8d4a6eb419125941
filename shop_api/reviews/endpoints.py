from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from shop_api.core.deps import ClockDep, CurrentUser, OptionalUser, SessionDep
from shop_api.core.errors import NotFound, error_responses
from shop_api.core.pagination import PageDep
from shop_api.listings import repository as listings
from shop_api.reviews import service
from shop_api.reviews.schemas import ReviewCreate, ReviewPage, ReviewPublic, SellerRating

router = APIRouter(tags=["reviews"])


@router.post(
    "/orders/{order_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def write_review(
    order_id: uuid.UUID,
    body: ReviewCreate,
    buyer: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> ReviewPublic:
    """The buyer rates one item of the order after it was delivered; once per item."""
    review = service.write_review(session, clock, buyer, order_id, body)
    return ReviewPublic(
        id=review.id,
        listing_id=review.listing_id,
        rating=review.rating,
        title=review.title,
        body=review.body,
        reviewer_name=service.reviewer_name_of(session, review),
        created_at=review.created_at,
    )


@router.get(
    "/listings/{listing_id}/reviews",
    response_model=ReviewPage,
    responses=error_responses(404, 422),
)
def list_reviews(
    listing_id: uuid.UUID,
    actor: OptionalUser,
    session: SessionDep,
    page: PageDep,
    rating: Annotated[int | None, Query(ge=1, le=5, description="Only this many stars")] = None,
) -> ReviewPage:
    """A listing's reviews, newest first."""
    listing = listings.get_readable(session, actor, listing_id)
    if listing is None:
        raise NotFound("Listing not found")
    rows, total = service.listing_reviews(
        session, listing.id, rating=rating, limit=page.page_size, offset=page.offset
    )
    return ReviewPage(
        data=[ReviewPublic.model_validate(row, from_attributes=True) for row in rows],
        count=total,
        page=page.page,
        page_size=page.page_size,
    )


@router.get(
    "/sellers/{seller_id}/rating",
    response_model=SellerRating,
    responses=error_responses(404, 422),
)
def seller_rating(seller_id: uuid.UUID, session: SessionDep) -> SellerRating:
    """The seller's stars over all their reviewed items, and their delivered sales."""
    summary = service.seller_rating(session, seller_id)
    return SellerRating.model_validate(summary, from_attributes=True)
