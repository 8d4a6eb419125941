"""In-app notifications: the one place other domains call to tell a user something."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shop_api.core.errors import NotFound
from shop_api.core.pagination import Paged, PageParams, paginate
from shop_api.core.typed_sql import rowcount
from shop_api.models import Notification, NotificationKind


def notify(
    session: Session,
    user_id: uuid.UUID,
    kind: NotificationKind,
    message: str,
    data: dict[str, Any],
    at: datetime,
) -> Notification:
    """Queue a notification in the caller's transaction (it appears only if that commits)."""
    notification = Notification(
        user_id=user_id, kind=kind, message=message[:500], data=data, created_at=at, modified_at=at
    )
    session.add(notification)
    return notification


def _insert_ignoring_duplicates(session: Session, values: dict[str, Any]) -> Insert:
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``: both databases spell it alike."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Notification.dedupe_key])
    )


def notify_once(
    session: Session,
    user_id: uuid.UUID,
    kind: NotificationKind,
    message: str,
    data: dict[str, Any],
    at: datetime,
    dedupe_key: str,
) -> bool:
    """Like ``notify``, for a fact that may be reported more than once: the first report
    notifies, the others (even concurrent ones) change nothing. True if this one did."""
    values = {
        "id": uuid.uuid4(), "user_id": user_id, "kind": kind, "message": message[:500],
        "data": data, "created_at": at, "modified_at": at, "dedupe_key": dedupe_key,
    }  # fmt: skip
    statement = _insert_ignoring_duplicates(session, values).returning(Notification.id)
    return session.execute(statement).scalar() is not None


def mark_read(
    session: Session, user_id: uuid.UUID, notification_id: uuid.UUID, at: datetime
) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("Notification not found")
    if notification.read_at is None:
        notification.read_at = at
        notification.modified_at = at
        session.commit()
    return notification


def mark_all_read(session: Session, user_id: uuid.UUID, at: datetime) -> int:
    updated = rowcount(
        session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=at, modified_at=at)
        )
    )
    session.commit()
    return updated


def page_of(
    session: Session, user_id: uuid.UUID, page: PageParams, unread: bool | None
) -> tuple[Paged[Notification], int]:
    """A page of the user's notifications (all, unread only or read only), newest first,
    and how many are unread in all."""
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread is True:
        statement = statement.where(Notification.read_at.is_(None))
    elif unread is False:
        statement = statement.where(Notification.read_at.is_not(None))
    unread_count = session.scalar(
        select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
    found = paginate(session, statement, page, Notification.created_at.desc(), Notification.id)
    return found, unread_count or 0
