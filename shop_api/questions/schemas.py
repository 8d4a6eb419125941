from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shop_api.core.validation import Text


class QuestionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # "   " is no text

    body: Text = Field(min_length=3, max_length=1000)


class AnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)  # "   " is no text

    body: Text = Field(min_length=1, max_length=2000)


class QuestionPublic(BaseModel):
    """Askers stay anonymous to other shoppers."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    listing_id: uuid.UUID
    body: str
    answer: str | None
    created_at: datetime
    answered_at: datetime | None


class QuestionPage(BaseModel):
    data: list[QuestionPublic]
    count: int
    page: int
    page_size: int
