"""The one entry point for the right to erasure (``DELETE /me``).

Each store that holds a copy of a user's personal data registers a step here; later
parts (clickstream lake, warehouse, audiences) add theirs with ``@erasure_step``.
Steps run in registration order inside one transaction with the account change, and
their outcomes are kept in ``erasure_records`` as proof.

Steps that reach an outside service (the carrier keeps the delivery address of every
parcel) register with ``outside_transaction=True``: they run first, with no database
lock held while the service answers, and must be safe to repeat; if one fails the
request fails and nothing is erased yet, so asking again does it all. The record lists
every step in registration order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shop_api.accounts.service import AD_PURPOSES, CONSENT_COLUMNS, record_consent
from shop_api.core.clock import Clock
from shop_api.core.typed_sql import rowcount
from shop_api.models import (
    Cart,
    CartItem,
    ErasureRecord,
    Listing,
    ListingStatus,
    Notification,
    NotificationKind,
    Order,
    OutboundMessage,
    PasswordResetToken,
    Question,
    Shipment,
    User,
)
from shop_api.providers.shipping import CarrierProvider


@dataclass(frozen=True)
class ErasureContext:
    session: Session
    user: User
    clock: Clock
    # The person as they were before the account step anonymised the row: free text
    # elsewhere (page titles, URLs) is searched for these.
    email: str = ""
    display_name: str = ""
    carrier: CarrierProvider | None = None


ErasureStep = Callable[[ErasureContext], dict[str, Any]]
_STEPS: list[tuple[str, ErasureStep, bool]] = []  # (name, step, outside the transaction)

ERASED_DISPLAY_NAME = "Erased user"
REDACTED_TEXT = "[removed at the author's request]"


def erasure_step(
    name: str, *, outside_transaction: bool = False
) -> Callable[[ErasureStep], ErasureStep]:
    """Register a step; it returns a small summary (counts) recorded with the erasure."""

    def register(step: ErasureStep) -> ErasureStep:
        if name in registered_steps():
            raise ValueError(f"erasure step {name!r} is already registered")
        _STEPS.append((name, step, outside_transaction))
        return step

    return register


def registered_steps() -> list[str]:
    return [name for name, _, _ in _STEPS]


def erase_user(
    session: Session, user: User, clock: Clock, *, carrier: CarrierProvider | None = None
) -> ErasureRecord:
    """Anonymise the user everywhere; keeps accounting records, makes the account unusable."""
    requested_at = clock.now()
    context = ErasureContext(
        session=session, user=user, clock=clock, email=user.email,
        display_name=user.display_name, carrier=carrier,
    )  # fmt: skip
    outcomes = {name: step(context) for name, step, outside in _STEPS if outside}
    record = ErasureRecord(user_id=user.id, requested_at=requested_at, steps={})
    session.add(record)
    outcomes |= {name: step(context) for name, step, outside in _STEPS if not outside}
    record.steps = {name: outcomes[name] for name in registered_steps()}
    record.completed_at = clock.now()
    session.commit()
    return record


def erase_account(
    session: Session, user_id: uuid.UUID, clock: Clock, *, carrier: CarrierProvider | None
) -> ErasureRecord:
    """``erase_user`` for the account with this id (the caller of ``DELETE /me``)."""
    return erase_user(session, session.get_one(User, user_id), clock, carrier=carrier)


@erasure_step("consent")
def _withdraw_consent(ctx: ErasureContext) -> dict[str, Any]:
    """Both ad purposes are withdrawn (each withdrawal recorded, source ``erasure``)."""
    granted = [purpose for purpose in AD_PURPOSES if getattr(ctx.user, CONSENT_COLUMNS[purpose])]
    for purpose in granted:
        record_consent(ctx.session, ctx.user, purpose, False, "erasure", ctx.clock.now())
    return {"withdrawn": bool(granted), "purposes_withdrawn": granted}


@erasure_step("account")
def _anonymise_account(ctx: ErasureContext) -> dict[str, Any]:
    user = ctx.user
    user.email = f"erased-{user.id.hex}@erased.invalid"
    user.display_name = ERASED_DISPLAY_NAME
    user.phone = None
    user.password_hash = None
    user.is_active = False
    user.token_version += 1
    user.last_login_at = None
    user.erased_at = ctx.clock.now()
    user.modified_at = ctx.clock.now()
    return {"anonymised": True}


@erasure_step("questions")
def _redact_questions(ctx: ErasureContext) -> dict[str, Any]:
    asked = rowcount(
        ctx.session.execute(
            update(Question)
            .where(Question.asker_id == ctx.user.id)
            .values(body=REDACTED_TEXT, modified_at=ctx.clock.now())
        )
    )
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
    deleted = rowcount(
        ctx.session.execute(delete(Notification).where(Notification.user_id == ctx.user.id))
    )
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
    redacted = rowcount(
        ctx.session.execute(
            update(Order)
            .where(Order.buyer_id == ctx.user.id)
            .values(shipping_address={"redacted": True}, modified_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        )
    )
    return {"order_addresses_redacted": redacted}


@erasure_step("carts")
def _delete_cart(ctx: ErasureContext) -> dict[str, Any]:
    cart_ids = select(Cart.id).where(Cart.user_id == ctx.user.id).scalar_subquery()
    ctx.session.execute(delete(CartItem).where(CartItem.cart_id.in_(cart_ids)))
    deleted = rowcount(ctx.session.execute(delete(Cart).where(Cart.user_id == ctx.user.id)))
    return {"carts_deleted": deleted}


@erasure_step("password_resets")
def _delete_reset_tokens(ctx: ErasureContext) -> dict[str, Any]:
    deleted = rowcount(
        ctx.session.execute(
            delete(PasswordResetToken).where(PasswordResetToken.user_id == ctx.user.id)
        )
    )
    return {"tokens_deleted": deleted}


@erasure_step("messages")
def _delete_messages(ctx: ErasureContext) -> dict[str, Any]:
    """E-mails not yet sent are not sent; sent ones leave no address or text behind.
    (What was delivered is in the person's own mailbox, out of the shop's reach.)"""
    deleted = rowcount(
        ctx.session.execute(delete(OutboundMessage).where(OutboundMessage.user_id == ctx.user.id))
    )
    return {"messages_deleted": deleted}


@erasure_step("carrier", outside_transaction=True)
def _forget_at_the_carrier(ctx: ErasureContext) -> dict[str, Any]:
    """The carrier keeps the delivery address of each of the buyer's parcels: it is told
    to forget it (the parcel and its tracking stay). Shipments are labelled by group id."""
    references = [
        str(group_id)
        for group_id in ctx.session.scalars(
            select(Shipment.group_id)
            .join(Order, Order.id == Shipment.order_id)
            .where(Order.buyer_id == ctx.user.id)
        )
    ]
    ctx.session.rollback()  # no lock held while the carrier answers
    if ctx.carrier is None:  # erased offline (no app): say what was left
        return {"parcels_forgotten": 0, "parcels_left_with_carrier": len(references)}
    for reference in references:
        ctx.carrier.forget_recipient(reference=reference)
    return {"parcels_forgotten": len(references)}
