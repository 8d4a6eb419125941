from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from shop_api.core.validation import Text

Slug = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CategoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    parent_id: uuid.UUID | None
    path: str = Field(description="Slugs from the root, joined by '/'")
    depth: int


class CategoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Slug
    name: Text = Field(min_length=1, max_length=100)
    parent: Text | None = Field(default=None, max_length=64, description="Parent slug or id")


class CategoryList(BaseModel):
    data: list[CategoryPublic]
    count: int
