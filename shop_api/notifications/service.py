"""In-app notifications: the one place other domains call to tell a user something."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from shop_api.core.errors import NotFound
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
    updated = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=at, modified_at=at)
    ).rowcount
    session.commit()
    return updated
