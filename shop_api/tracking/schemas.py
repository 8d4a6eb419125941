"""Request and response shapes of ``POST /collect`` (for the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CollectRequest(BaseModel):
    events: list[dict[str, Any]] = Field(
        max_length=500,
        description="Event v1 objects (see the architecture contract); at most 500, 1 MB",
    )


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the batch")
    event_id: str | None = Field(description="Its event_id when one could be read")
    reasons: list[str]


class CollectResult(BaseModel):
    accepted: list[str] = Field(description="event_ids now durably in the landing zone")
    rejected: list[RejectedEvent] = Field(
        description="Events quarantined in events_bad/ with the reasons"
    )
