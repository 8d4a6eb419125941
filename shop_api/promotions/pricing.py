"""Coupon rules and how a discount is spread over the eligible lines of a basket."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shop_api.cart.service import ListingSnapshot
from shop_api.catalog.service import subtree_ids
from shop_api.core.errors import Unprocessable
from shop_api.core.typed_sql import rowcount
from shop_api.models import Category
from shop_api.models.promotions import Coupon, CouponKind, CouponRedemption


@dataclass(frozen=True)
class BasketLine:
    listing: ListingSnapshot
    quantity: int

    @property
    def amount(self) -> int:
        return self.listing.price_minor * self.quantity


@dataclass(frozen=True)
class AppliedCoupon:
    coupon: Coupon
    total_minor: int
    per_listing: dict[uuid.UUID, int]


def normalise_code(code: str) -> str:
    return code.strip().upper()


def _not_applicable(reason: str, code: str) -> Unprocessable:
    return Unprocessable(
        f"Coupon {code} cannot be applied: {reason}",
        details=[{"loc": ["body", "coupon_code"], "msg": reason}],
    )


def _eligible_lines(session: Session, coupon: Coupon, lines: list[BasketLine]) -> list[BasketLine]:
    eligible = lines
    if coupon.seller_id is not None:
        eligible = [line for line in eligible if line.listing.seller_id == coupon.seller_id]
    if coupon.category_id is not None:
        category = session.get(Category, coupon.category_id)
        allowed = set(session.scalars(subtree_ids(category))) if category else set()
        eligible = [line for line in eligible if line.listing.category_id in allowed]
    return eligible


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` with whole minor units that add up
    exactly (largest remainder)."""
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0] * len(weights)
    shares = [total * weight // weight_sum for weight in weights]
    remainders = sorted(
        range(len(weights)), key=lambda i: (total * weights[i]) % weight_sum, reverse=True
    )
    for index in remainders[: total - sum(shares)]:
        shares[index] += 1
    return shares


def _active_redemptions(session: Session, coupon_id: uuid.UUID, buyer_id: uuid.UUID) -> int:
    """The buyer's redemptions of the coupon that no cancellation gave back."""
    used = session.scalar(
        select(func.count()).where(
            CouponRedemption.coupon_id == coupon_id,
            CouponRedemption.user_id == buyer_id,
            CouponRedemption.released_at.is_(None),
        )
    )
    return used or 0


def apply_coupon(
    session: Session,
    code: str,
    buyer_id: uuid.UUID,
    lines: list[BasketLine],
    currency: str,
    now: datetime,
) -> AppliedCoupon:
    """Validate the coupon for this basket and compute the discount (nothing is written)."""
    code = normalise_code(code)
    coupon = session.scalar(select(Coupon).where(Coupon.code == code))
    if coupon is None or not coupon.active:
        raise _not_applicable("unknown or inactive coupon", code)
    if coupon.starts_at is not None and now < coupon.starts_at:
        raise _not_applicable("not valid yet", code)
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise _not_applicable("expired", code)
    if coupon.kind == CouponKind.fixed and coupon.currency != currency:
        raise _not_applicable(f"only valid for {coupon.currency} baskets", code)
    if coupon.max_redemptions is not None and coupon.redemptions_count >= coupon.max_redemptions:
        raise _not_applicable("no redemptions left", code)
    if coupon.max_redemptions_per_user is not None:
        used = _active_redemptions(session, coupon.id, buyer_id)
        if used >= coupon.max_redemptions_per_user:
            raise _not_applicable("already used the maximum number of times", code)
    eligible = _eligible_lines(session, coupon, lines)
    eligible_amount = sum(line.amount for line in eligible)
    if not eligible:
        raise _not_applicable("no item in the basket qualifies", code)
    if eligible_amount < coupon.min_basket_minor:
        raise _not_applicable(
            f"the qualifying items must total at least {coupon.min_basket_minor}", code
        )
    if coupon.kind == CouponKind.percent:
        total = eligible_amount * (coupon.percent_off or 0) // 100
    else:
        total = min(coupon.amount_off_minor or 0, eligible_amount)
    shares = allocate(total, [line.amount for line in eligible])
    per_listing = {line.listing.id: share for line, share in zip(eligible, shares, strict=True)}
    return AppliedCoupon(coupon=coupon, total_minor=total, per_listing=per_listing)


def redeem(
    session: Session, applied: AppliedCoupon, buyer_id: uuid.UUID, order_id: uuid.UUID,
    now: datetime,
) -> None:  # fmt: skip
    """Count the redemption atomically: the global limit holds under concurrent checkouts."""
    coupon = applied.coupon
    claimed = rowcount(
        session.execute(
            update(Coupon)
            .where(Coupon.id == coupon.id)
            .where(
                (Coupon.max_redemptions.is_(None))
                | (Coupon.redemptions_count < Coupon.max_redemptions)
            )
            .values(redemptions_count=Coupon.redemptions_count + 1)
            .execution_options(synchronize_session=False)
        )
    )
    # A checkout that loses the last redemption to a concurrent one is refused as it would
    # have been had it come second (``apply_coupon``'s answer), not with another status.
    if claimed != 1:
        raise _not_applicable("no redemptions left", coupon.code)
    # The UPDATE above holds the coupon's row lock until commit, so this count sees every
    # concurrent checkout of the same coupon that committed first.
    per_user = coupon.max_redemptions_per_user
    if per_user is not None and _active_redemptions(session, coupon.id, buyer_id) >= per_user:
        raise _not_applicable("already used the maximum number of times", coupon.code)
    session.add(
        CouponRedemption(
            coupon_id=coupon.id, user_id=buyer_id, order_id=order_id,
            amount_minor=applied.total_minor, created_at=now, modified_at=now,
        )
    )  # fmt: skip


def release_redemption(session: Session, order_id: uuid.UUID, now: datetime) -> None:
    """Give a cancelled order's redemption back to the coupon's limits, once: the
    redemption is marked released by a conditional UPDATE, and only the statement that
    marked it gives the count back."""
    coupon_id = session.execute(
        update(CouponRedemption)
        .where(CouponRedemption.order_id == order_id, CouponRedemption.released_at.is_(None))
        .values(released_at=now, modified_at=now)
        .returning(CouponRedemption.coupon_id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if coupon_id is None:
        return
    session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.redemptions_count > 0)
        .values(redemptions_count=Coupon.redemptions_count - 1)
        .execution_options(synchronize_session=False)
    )
