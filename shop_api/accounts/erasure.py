"""The one entry point for the right to erasure (``DELETE /me``).

Each store that holds a copy of a user's personal data registers a step here; later
parts (clickstream lake, warehouse, audiences) add theirs with ``@erasure_step``.
Steps run in registration order inside one transaction with the account change, and
their outcomes are kept in ``erasure_records`` as proof.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shop_api.accounts.service import record_marketing_consent
from shop_api.core.clock import Clock
from shop_api.models import (
    Cart,
    CartItem,
    ErasureRecord,
    Listing,
    ListingStatus,
    Notification,
    NotificationKind,
    Order,
    Question,
    User,
)


@dataclass(frozen=True)
class ErasureContext:
    session: Session
    user: User
    clock: Clock


ErasureStep = Callable[[ErasureContext], dict[str, Any]]
_STEPS: list[tuple[str, ErasureStep]] = []

ERASED_DISPLAY_NAME = "Erased user"
REDACTED_TEXT = "[removed at the author's request]"


def erasure_step(name: str) -> Callable[[ErasureStep], ErasureStep]:
    """Register a step; it returns a small summary (counts) recorded with the erasure."""

    def register(step: ErasureStep) -> ErasureStep:
        if any(existing == name for existing, _ in _STEPS):
            raise ValueError(f"erasure step {name!r} is already registered")
        _STEPS.append((name, step))
        return step

    return register


def registered_steps() -> list[str]:
    return [name for name, _ in _STEPS]


def erase_user(session: Session, user: User, clock: Clock) -> ErasureRecord:
    """Anonymise the user everywhere; keeps accounting records, makes the account unusable."""
    record = ErasureRecord(user_id=user.id, requested_at=clock.now(), steps={})
    session.add(record)
    context = ErasureContext(session=session, user=user, clock=clock)
    outcomes = {name: step(context) for name, step in _STEPS}
    record.steps = outcomes
    record.completed_at = clock.now()
    session.commit()
    return record


@erasure_step("consent")
def _withdraw_consent(ctx: ErasureContext) -> dict[str, Any]:
    if ctx.user.marketing_consent:
        record_marketing_consent(ctx.session, ctx.user, False, "erasure", ctx.clock.now())
        return {"withdrawn": True}
    return {"withdrawn": False}


@erasure_step("account")
def _anonymise_account(ctx: ErasureContext) -> dict[str, Any]:
    user = ctx.user
    user.email = f"erased-{user.id.hex}@erased.invalid"
    user.display_name = ERASED_DISPLAY_NAME
    user.password_hash = None
    user.is_active = False
    user.token_version += 1
    user.last_login_at = None
    user.erased_at = ctx.clock.now()
    user.modified_at = ctx.clock.now()
    return {"anonymised": True}


@erasure_step("questions")
def _redact_questions(ctx: ErasureContext) -> dict[str, Any]:
    asked = ctx.session.execute(
        update(Question)
        .where(Question.asker_id == ctx.user.id)
        .values(body=REDACTED_TEXT, modified_at=ctx.clock.now())
    ).rowcount
    return {"questions_redacted": asked, "notifications_redacted": _redact_quoted_questions(ctx)}


def _redact_quoted_questions(ctx: ErasureContext) -> int:
    """Sellers' "question received" notifications quote the question: redact those copies."""
    asked = ctx.session.execute(
        select(Question.id, Listing.seller_id, Listing.title)
        .join(Listing, Listing.id == Question.listing_id)
        .where(Question.asker_id == ctx.user.id)
    ).all()
    titles = {str(question_id): title for question_id, _, title in asked}
    if not titles:
        return 0
    received = ctx.session.scalars(
        select(Notification).where(
            Notification.kind == NotificationKind.question_received,
            Notification.user_id.in_({seller_id for _, seller_id, _ in asked}),
        )
    )
    redacted = 0
    for notification in received:
        title = titles.get(str(notification.data.get("question_id")))
        if title is not None:
            notification.message = f"New question on “{title}”: {REDACTED_TEXT}"[:500]
            notification.modified_at = ctx.clock.now()
            redacted += 1
    return redacted


@erasure_step("notifications")
def _delete_notifications(ctx: ErasureContext) -> dict[str, Any]:
    deleted = ctx.session.execute(
        delete(Notification).where(Notification.user_id == ctx.user.id)
    ).rowcount
    return {"notifications_deleted": deleted}


@erasure_step("listings")
def _withdraw_listings(ctx: ErasureContext) -> dict[str, Any]:
    """A departed seller's listings stop being offered; order history keeps its snapshot."""
    listing_ids = ctx.session.scalars(
        select(Listing.id).where(
            Listing.seller_id == ctx.user.id,
            Listing.status.in_([ListingStatus.active, ListingStatus.sold_out]),
        )
    ).all()
    if listing_ids:
        ctx.session.execute(
            update(Listing)
            .where(Listing.id.in_(listing_ids))
            .values(status=ListingStatus.paused, modified_at=ctx.clock.now())
        )
    return {"listings_paused": len(listing_ids)}


@erasure_step("orders")
def _redact_order_addresses(ctx: ErasureContext) -> dict[str, Any]:
    """Orders stay (they are accounting records); the delivery address does not."""
    redacted = ctx.session.execute(
        update(Order)
        .where(Order.buyer_id == ctx.user.id)
        .values(shipping_address={"redacted": True}, modified_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    return {"order_addresses_redacted": redacted}


@erasure_step("carts")
def _delete_cart(ctx: ErasureContext) -> dict[str, Any]:
    cart_ids = select(Cart.id).where(Cart.user_id == ctx.user.id).scalar_subquery()
    ctx.session.execute(delete(CartItem).where(CartItem.cart_id.in_(cart_ids)))
    deleted = ctx.session.execute(delete(Cart).where(Cart.user_id == ctx.user.id)).rowcount
    return {"carts_deleted": deleted}
