from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AudienceVersionPublic(BaseModel):
    """One published version: its manifest's fields (written by the audiences pipeline)."""

    model_config = ConfigDict(extra="ignore")

    audience: str
    version: str = Field(description='UTC time "YYYYMMDDTHHMMSSZ"')
    is_latest: bool = Field(description="The version LATEST names (what members.csv serves)")
    status: str | None = Field(default=None, description="published, blocked or approved")
    created_at: datetime | None = None
    description: str | None = None
    owner: str | None = None
    identifier_types: list[str] = Field(default_factory=list)
    definition_hash: str | None = None
    counts: dict[str, int] = Field(default_factory=dict, description="members, adds, removes")
    previous_version: str | None = None
    source_data_versions: dict[str, Any] = Field(default_factory=dict)
    approved_by: str | None = None
    approved_at: datetime | None = None
    members_sha256: str | None = None


class AudienceSummary(BaseModel):
    name: str
    latest_version: str | None = Field(description="None until a version is released")
    latest: AudienceVersionPublic | None


class AudienceList(BaseModel):
    data: list[AudienceSummary]
    count: int


class AudienceVersionPage(BaseModel):
    data: list[AudienceVersionPublic]
    count: int
    page: int
    page_size: int
