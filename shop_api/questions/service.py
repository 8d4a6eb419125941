"""Questions on listings: shoppers ask, only the listing's seller answers, both are told."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, NotFound, NotPermitted
from shop_api.core.pagination import Paged, PageParams, paginate
from shop_api.listings import repository as listings
from shop_api.models import Listing, NotificationKind, Question, User
from shop_api.notifications.service import notify


def ask(
    session: Session, clock: Clock, asker: User, listing_id: uuid.UUID, body: str
) -> tuple[Question, Listing]:
    """Ask the seller about a published listing and notify them; the question and the
    listing it is about."""
    listing = listings.get_readable(session, asker, listing_id)
    if listing is None:
        raise NotFound("Listing not found")
    if listing.seller_id == asker.id:
        raise NotPermitted("Sellers cannot ask questions on their own listings")
    if listing.status not in listings.PUBLIC_STATUSES:
        raise Conflict("Questions can only be asked on published listings")
    now = clock.now()
    question = Question(
        listing_id=listing.id, asker_id=asker.id, body=body.strip(), created_at=now, modified_at=now
    )
    session.add(question)
    session.flush()
    notify(
        session,
        listing.seller_id,
        NotificationKind.question_received,
        f"New question on “{listing.title}”: {question.body}",
        {"listing_id": str(listing.id), "question_id": str(question.id)},
        now,
    )
    session.commit()
    return question, listing


def answer(
    session: Session, clock: Clock, seller: User, question_id: uuid.UUID, body: str
) -> Question:
    """Answer once: the question is locked before it is checked, so of concurrent
    answers one is kept (and the asker told once); the others are a 409."""
    question = session.scalar(
        select(Question)
        .where(Question.id == question_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    listing = listings.get_readable(session, seller, question.listing_id) if question else None
    if question is None or listing is None:
        raise NotFound("Question not found")
    if listing.seller_id != seller.id:
        raise NotPermitted("Only the listing's seller can answer its questions")
    if question.answer is not None:
        raise Conflict("This question has already been answered")
    now = clock.now()
    question.answer = body.strip()
    question.answered_by_id = seller.id
    question.answered_at = now
    question.modified_at = now
    notify(
        session,
        question.asker_id,
        NotificationKind.question_answered,
        f"The seller answered your question on “{listing.title}”: {question.answer}",
        {"listing_id": str(listing.id), "question_id": str(question.id)},
        now,
    )
    session.commit()
    return question


def listing_for_questions(session: Session, actor: User | None, listing_id: uuid.UUID) -> Listing:
    listing = listings.get_readable(session, actor, listing_id)
    if listing is None:
        raise NotFound("Listing not found")
    return listing


def page_of(
    session: Session, actor: User | None, listing_id: uuid.UUID, page: PageParams
) -> Paged[Question]:
    """A page of the questions on a listing the caller may see, newest first."""
    listing = listing_for_questions(session, actor, listing_id)
    statement = select(Question).where(Question.listing_id == listing.id)
    return paginate(session, statement, page, Question.created_at.desc(), Question.id)
