from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from shop_api.core.deps import ClockDep, CurrentUser, SessionDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
from shop_api.models import Notification
from shop_api.notifications import service
from shop_api.notifications.schemas import MarkedRead, NotificationPage, NotificationPublic

router = APIRouter(prefix="/me/notifications", tags=["notifications"])


@router.get("", response_model=NotificationPage, responses=error_responses(401, 422))
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    unread: Annotated[bool | None, Query(description="true: unread only; false: read only")] = None,
) -> NotificationPage:
    """The caller's notifications, newest first, with the unread count."""
    statement = select(Notification).where(Notification.user_id == user.id)
    if unread is True:
        statement = statement.where(Notification.read_at.is_(None))
    elif unread is False:
        statement = statement.where(Notification.read_at.is_not(None))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    unread_count = session.scalar(
        select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    rows = session.scalars(
        statement.order_by(Notification.created_at.desc(), Notification.id)
        .limit(page.page_size)
        .offset(page.offset)
    ).all()
    return NotificationPage(
        data=[NotificationPublic.model_validate(row) for row in rows],
        count=total,
        unread_count=unread_count or 0,
        page=page.page,
        page_size=page.page_size,
    )


@router.post(
    "/{notification_id}/read",
    response_model=NotificationPublic,
    responses=error_responses(401, 404, 422),
)
def mark_read(
    notification_id: uuid.UUID, user: CurrentUser, session: SessionDep, clock: ClockDep
) -> NotificationPublic:
    notification = service.mark_read(session, user.id, notification_id, clock.now())
    return NotificationPublic.model_validate(notification)


@router.post("/read-all", response_model=MarkedRead, responses=error_responses(401))
def mark_all_read(user: CurrentUser, session: SessionDep, clock: ClockDep) -> MarkedRead:
    return MarkedRead(updated=service.mark_all_read(session, user.id, clock.now()))
