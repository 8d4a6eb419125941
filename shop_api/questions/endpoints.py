from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from sqlalchemy import func, select

from shop_api.core.deps import ClockDep, CurrentUser, OptionalUser, SessionDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
from shop_api.models import Listing, Question
from shop_api.questions import service
from shop_api.questions.schemas import AnswerCreate, QuestionCreate, QuestionPage, QuestionPublic
from shop_api.tracking.server_events import listing_item, track

router = APIRouter(tags=["questions"])


@router.post(
    "/listings/{listing_id}/questions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def ask_question(
    listing_id: uuid.UUID,
    body: QuestionCreate,
    asker: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> QuestionPublic:
    """Ask the seller about a published listing; the seller is notified."""
    question = service.ask(session, clock, asker, listing_id, body.body)
    listing = session.get(Listing, listing_id)  # loaded by ask: no query
    track(
        request,
        "ask_question",
        user_id=asker.id,
        params={"question_id": str(question.id)},
        items=[listing_item(listing)] if listing else [{"item_id": str(listing_id)}],
    )
    return QuestionPublic.model_validate(question)


@router.get(
    "/listings/{listing_id}/questions",
    response_model=QuestionPage,
    responses=error_responses(404, 422),
)
def list_questions(
    listing_id: uuid.UUID, actor: OptionalUser, session: SessionDep, page: PageDep
) -> QuestionPage:
    """A listing's questions and answers, newest first."""
    listing = service.listing_for_questions(session, actor, listing_id)
    statement = select(Question).where(Question.listing_id == listing.id)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(Question.created_at.desc(), Question.id)
        .limit(page.page_size)
        .offset(page.offset)
    ).all()
    return QuestionPage(
        data=[QuestionPublic.model_validate(row) for row in rows],
        count=total,
        page=page.page,
        page_size=page.page_size,
    )


@router.post(
    "/questions/{question_id}/answer",
    response_model=QuestionPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def answer_question(
    question_id: uuid.UUID,
    body: AnswerCreate,
    seller: CurrentUser,
    session: SessionDep,
    clock: ClockDep,
) -> QuestionPublic:
    """Only the listing's seller answers; the asker is notified."""
    question = service.answer(session, clock, seller, question_id, body.body)
    return QuestionPublic.model_validate(question)
