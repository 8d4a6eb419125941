"""Category tree, seller listings and their images."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop_api.core.db import MONEY, RecordModel
from shop_api.models.user import enum_column


class ListingStatus(enum.StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    sold_out = "sold_out"


class ListingCondition(enum.StrEnum):
    new = "new"
    used = "used"
    refurbished = "refurbished"


class Category(RecordModel):
    """A node of the category tree; ``path`` (slugs joined by '/') makes subtree filters cheap."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("categories.id"), index=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    depth: Mapped[int] = mapped_column(default=0)


class Listing(RecordModel):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_listings_status_created_at", "status", "created_at"),
        Index("ix_listings_status_price_minor", "status", "price_minor"),
    )

    seller_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price_minor: Mapped[int] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(default=0)
    condition: Mapped[ListingCondition] = mapped_column(
        enum_column(ListingCondition, "listing_condition")
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[ListingStatus] = mapped_column(
        enum_column(ListingStatus, "listing_status"), default=ListingStatus.draft
    )
    published_at: Mapped[datetime | None]
    # Review aggregates, kept in step with ``reviews`` by the review service.
    rating_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rating_sum: Mapped[int] = mapped_column(default=0, server_default="0")

    images: Mapped[list[ListingImage]] = relationship(
        lazy="raise", order_by="ListingImage.position", cascade="all, delete-orphan"
    )


class ListingImage(RecordModel):
    __tablename__ = "listing_images"

    listing_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
