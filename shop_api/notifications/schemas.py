from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shop_api.models import NotificationKind


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: NotificationKind
    message: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    data: list[NotificationPublic]
    count: int
    unread_count: int
    page: int
    page_size: int


class MarkedRead(BaseModel):
    updated: int
