"""Shopping carts: one per signed-in user, or per anonymous ``client_id`` until login."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import RecordModel


class Cart(RecordModel):
    """``modified_at`` moves when the cart itself changes (created, merged at login, a line
    removed); adding or changing a line shows on the line's own ``modified_at``."""

    __tablename__ = "carts"

    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), unique=True)
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class CartItem(RecordModel):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "listing_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    cart_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), index=True
    )
    listing_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int]
