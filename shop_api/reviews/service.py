"""Reviews: a buyer rates each delivered order item once; listings and sellers aggregate them.

The listing's ``rating_count``/``rating_sum`` move with a single UPDATE in the review's
transaction, so concurrent reviews of one listing never lose a count. One review per
order item is held by the unique constraint on ``reviews.order_item_id``: a duplicate
that slips past the early check (a concurrent request) is still a 409.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop_api.accounts.erasure import (
    ERASED_DISPLAY_NAME,
    REDACTED_TEXT,
    ErasureContext,
    erasure_step,
)
from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, NotFound, NotPermitted, Unprocessable
from shop_api.core.pagination import Paged, PageParams, paginate
from shop_api.core.typed_sql import rowcount
from shop_api.listings import repository as listings
from shop_api.models import Listing, Review, User, UserRole
from shop_api.models.orders import FulfilmentGroup, FulfilmentStatus, OrderItem
from shop_api.orders.queries import get_readable
from shop_api.reviews.schemas import ReviewCreate
from shop_api.tracking.outbox import event_items, record_event

STARS = range(1, 6)


def average(rating_sum: int | float | None, rating_count: int) -> float | None:
    """Mean stars to two decimals; None when nothing was rated."""
    if not rating_count or rating_sum is None:
        return None
    return round(float(rating_sum) / rating_count, 2)


def _existing_review(session: Session, order_item_id: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(select(Review.id).where(Review.order_item_id == order_item_id))


def _already_reviewed(review_id: uuid.UUID | None) -> Conflict:
    return Conflict(
        "This item has already been reviewed",
        details={"review_id": str(review_id) if review_id else None},
    )


def write_review(
    session: Session, clock: Clock, actor: User, order_id: uuid.UUID, body: ReviewCreate
) -> Review:
    """Review one item of the caller's order once its parcel has been delivered."""
    order = get_readable(session, actor, order_id)  # 404 unless buyer, its seller or staff
    if order.buyer_id != actor.id:
        raise NotPermitted("Only the buyer can review this order")
    row = session.execute(
        select(OrderItem, FulfilmentGroup.status)
        .join(FulfilmentGroup, FulfilmentGroup.id == OrderItem.group_id)
        .where(OrderItem.id == body.order_item_id, OrderItem.order_id == order.id)
    ).one_or_none()
    if row is None:
        raise Unprocessable(
            "The item is not part of this order",
            details=[{"loc": ["body", "order_item_id"], "msg": "not an item of this order"}],
        )
    item, group_status = row
    if group_status != FulfilmentStatus.delivered:
        raise Conflict(
            "An item can be reviewed once it has been delivered",
            details={"fulfilment_status": group_status.value},
        )
    existing = _existing_review(session, item.id)
    if existing is not None:
        raise _already_reviewed(existing)

    now = clock.now()
    review = Review(
        order_item_id=item.id, order_id=order.id, listing_id=item.listing_id,
        seller_id=item.seller_id, buyer_id=actor.id, rating=body.rating, title=body.title,
        body=body.body, created_at=now, modified_at=now,
    )  # fmt: skip
    session.add(review)
    try:
        session.flush()  # the unique constraint decides a concurrent duplicate here
    except IntegrityError:
        session.rollback()
        existing = _existing_review(session, body.order_item_id)
        if existing is None:
            raise
        raise _already_reviewed(existing) from None
    session.execute(
        update(Listing)
        .where(Listing.id == item.listing_id)
        .values(
            rating_count=Listing.rating_count + 1,
            rating_sum=Listing.rating_sum + body.rating,
        )
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        event_name="write_review",
        at=now,
        user_id=actor.id,
        params={
            "rating": body.rating,
            "review_id": str(review.id),
            "transaction_id": str(order.id),
        },
        items=event_items([item]),
    )
    session.commit()
    return review


@dataclass(frozen=True)
class ReviewRow:
    id: uuid.UUID
    listing_id: uuid.UUID
    rating: int
    title: str
    body: str
    reviewer_name: str
    created_at: datetime


REVIEWER_NAME = case(
    (User.erased_at.is_not(None), ERASED_DISPLAY_NAME), else_=User.display_name
).label("reviewer_name")


def review_rows_statement(listing_id: uuid.UUID, rating: int | None = None) -> Select[Any]:
    statement = (
        select(
            Review.id,
            Review.listing_id,
            Review.rating,
            Review.title,
            Review.body,
            REVIEWER_NAME,
            Review.created_at,
        )
        .join(User, User.id == Review.buyer_id)
        .where(Review.listing_id == listing_id)
    )
    if rating is not None:
        statement = statement.where(Review.rating == rating)
    return statement


def page_of(
    session: Session,
    actor: User | None,
    listing_id: uuid.UUID,
    page: PageParams,
    rating: int | None,
) -> Paged[Row[Any]]:
    """A page of the reviews of a listing the caller may see, newest first (rows of
    ``ReviewRow``'s fields)."""
    listing = listings.get_readable(session, actor, listing_id)
    if listing is None:
        raise NotFound("Listing not found")
    statement = review_rows_statement(listing.id, rating)
    return paginate(session, statement, page, Review.created_at.desc(), Review.id)


def post_review(
    session: Session, clock: Clock, actor: User, order_id: uuid.UUID, body: ReviewCreate
) -> ReviewRow:
    """``write_review``, answered as the review is shown."""
    review = write_review(session, clock, actor, order_id, body)
    return ReviewRow(
        id=review.id, listing_id=review.listing_id, rating=review.rating, title=review.title,
        body=review.body, reviewer_name=reviewer_name_of(session, review),
        created_at=review.created_at,
    )  # fmt: skip


def reviewer_name_of(session: Session, review: Review) -> str:
    user = session.get(User, review.buyer_id)
    if user is None or user.erased_at is not None:
        return ERASED_DISPLAY_NAME
    return user.display_name


@dataclass(frozen=True)
class SellerRatingSummary:
    seller_id: uuid.UUID
    rating_count: int
    rating_average: float | None
    rating_distribution: dict[str, int]
    sales_count: int


def seller_rating(session: Session, seller_id: uuid.UUID) -> SellerRatingSummary:
    """Stars over every review of the seller's items, and their delivered sales."""
    role = session.scalar(select(User.role).where(User.id == seller_id))
    if role != UserRole.seller:
        raise NotFound("Seller not found")
    by_star = dict(
        session.execute(
            select(Review.rating, func.count())
            .where(Review.seller_id == seller_id)
            .group_by(Review.rating)
        ).all()
    )
    count = sum(by_star.values())
    sales = session.scalar(
        select(func.count()).where(
            FulfilmentGroup.seller_id == seller_id,
            FulfilmentGroup.status == FulfilmentStatus.delivered,
        )
    )
    return SellerRatingSummary(
        seller_id=seller_id,
        rating_count=count,
        rating_average=average(sum(star * n for star, n in by_star.items()), count),
        rating_distribution={str(star): int(by_star.get(star, 0)) for star in STARS},
        sales_count=sales or 0,
    )


@erasure_step("reviews")
def _redact_reviews(ctx: ErasureContext) -> dict[str, Any]:
    """Reviews stay, with their stars (listing and seller ratings do not change), but
    the words the person wrote go; their name already reads as erased."""
    redacted = rowcount(
        ctx.session.execute(
            update(Review)
            .where(Review.buyer_id == ctx.user.id)
            .values(
                title="",
                body=case((and_(Review.title == "", Review.body == ""), ""), else_=REDACTED_TEXT),
                modified_at=ctx.clock.now(),
            )
            .execution_options(synchronize_session=False)
        )
    )
    return {"reviews_redacted": redacted}
