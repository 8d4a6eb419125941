from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from shop_api.core.deps import ClockDep, CurrentUser, OptionalUser, ReadsDep, WritesDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
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
async def ask_question(
    listing_id: uuid.UUID,
    body: QuestionCreate,
    asker: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
    request: Request,
) -> QuestionPublic:
    """Ask the seller about a published listing; the seller is notified."""
    question, listing = await writes.run(service.ask, clock, asker, listing_id, body.body)
    track(
        request,
        "ask_question",
        user_id=asker.id,
        params={"question_id": str(question.id)},
        items=[listing_item(listing)],
    )
    return QuestionPublic.model_validate(question)


@router.get(
    "/listings/{listing_id}/questions",
    response_model=QuestionPage,
    responses=error_responses(404, 422),
)
async def list_questions(
    listing_id: uuid.UUID, actor: OptionalUser, reads: ReadsDep, page: PageDep
) -> QuestionPage:
    """A listing's questions and answers, newest first."""
    questions = await reads.run(service.page_of, actor, listing_id, page)
    return questions.envelope(QuestionPage, QuestionPublic.model_validate)


@router.post(
    "/questions/{question_id}/answer",
    response_model=QuestionPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def answer_question(
    question_id: uuid.UUID,
    body: AnswerCreate,
    seller: CurrentUser,
    writes: WritesDep,
    clock: ClockDep,
) -> QuestionPublic:
    """Only the listing's seller answers; the asker is notified."""
    question = await writes.run(service.answer, clock, seller, question_id, body.body)
    return QuestionPublic.model_validate(question)
