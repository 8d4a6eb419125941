from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from shop_api.core.deps import ClockDep, CurrentUser, ReadsDep, WritesDep
from shop_api.core.errors import error_responses
from shop_api.core.pagination import PageDep
from shop_api.notifications import service
from shop_api.notifications.schemas import MarkedRead, NotificationPage, NotificationPublic

router = APIRouter(prefix="/me/notifications", tags=["notifications"])


@router.get("", response_model=NotificationPage, responses=error_responses(401, 422))
async def list_notifications(
    user: CurrentUser,
    reads: ReadsDep,
    page: PageDep,
    unread: Annotated[bool | None, Query(description="true: unread only; false: read only")] = None,
) -> NotificationPage:
    """The caller's notifications, newest first, with the unread count."""
    found, unread_count = await reads.run(service.page_of, user.id, page, unread)
    return found.envelope(
        NotificationPage, NotificationPublic.model_validate, unread_count=unread_count
    )


@router.post(
    "/{notification_id}/read",
    response_model=NotificationPublic,
    responses=error_responses(401, 404, 422),
)
async def mark_read(
    notification_id: uuid.UUID, user: CurrentUser, writes: WritesDep, clock: ClockDep
) -> NotificationPublic:
    notification = await writes.run(service.mark_read, user.id, notification_id, clock.now())
    return NotificationPublic.model_validate(notification)


@router.post("/read-all", response_model=MarkedRead, responses=error_responses(401))
async def mark_all_read(user: CurrentUser, writes: WritesDep, clock: ClockDep) -> MarkedRead:
    return MarkedRead(updated=await writes.run(service.mark_all_read, user.id, clock.now()))
