"""Buyer questions on listings and the in-app notifications they trigger."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import RecordModel
from shop_api.models.user import enum_column


class Question(RecordModel):
    __tablename__ = "questions"

    listing_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    asker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None]


class NotificationKind(enum.StrEnum):
    question_received = "question_received"
    question_answered = "question_answered"
    order_paid = "order_paid"  # to the buyer
    order_to_ship = "order_to_ship"  # to each seller of a paid order
    order_shipped = "order_shipped"  # to the buyer, for part or all of the order
    order_delivered = "order_delivered"  # to the buyer


class Notification(RecordModel):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[NotificationKind] = mapped_column(
        enum_column(NotificationKind, "notification_kind")
    )
    message: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    read_at: Mapped[datetime | None]
    # Names the fact a notification announces ("order_paid:<order id>"): told once, even
    # when the fact is reported twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
