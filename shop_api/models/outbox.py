"""Server-side events waiting to be handed to the clickstream collector.

Written in the same transaction as the fact they describe (an order paid, a refund),
so an event exists if and only if the fact does; the collector drains this table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import Base, utcnow


class OutboxEvent(Base):
    __tablename__ = "event_outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_name: Mapped[str] = mapped_column(String(64))
    event_time: Mapped[datetime]
    user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)
