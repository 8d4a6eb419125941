"""Accounts, consent history (ad purposes, personalised recommendations), reset tokens, erasures."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from shop_api.core.db import Base, RecordModel, utcnow


class UserRole(enum.StrEnum):
    shopper = "shopper"
    seller = "seller"
    staff = "staff"


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Store enums as their values in a portable VARCHAR with a CHECK constraint."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


class User(RecordModel):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[UserRole] = mapped_column(enum_column(UserRole, "user_role"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change and erasure: every token issued before stops working.
    token_version: Mapped[int] = mapped_column(default=0)
    # Optional, in E.164 ("+" and at most 15 digits): an identifier for ad audiences.
    phone: Mapped[str | None] = mapped_column(String(16))
    # Consent per ad purpose, as Google's consent mode names them: ``ad_user_data`` (the
    # person's data, hashed, may be sent to ad platforms) and ``ad_personalization`` (it
    # may personalise ads). Off unless granted; each change is also in consent_events.
    ad_user_data_consent: Mapped[bool] = mapped_column(default=False, server_default=false())
    ad_user_data_consent_at: Mapped[datetime | None]
    ad_user_data_consent_source: Mapped[str | None] = mapped_column(String(64))
    ad_personalization_consent: Mapped[bool] = mapped_column(default=False, server_default=false())
    ad_personalization_consent_at: Mapped[datetime | None]
    ad_personalization_consent_source: Mapped[str | None] = mapped_column(String(64))
    # Personalised recommendations: on unless the shopper opts out (its own purpose in
    # consent_events, apart from the ad purposes); off, the shop shows non-personal lists.
    personalised_recommendations: Mapped[bool] = mapped_column(default=True, server_default=true())
    personalised_recommendations_at: Mapped[datetime | None]
    personalised_recommendations_source: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class ConsentEvent(Base):
    """Every grant or withdrawal of consent, append-only, so any past state can be proven."""

    __tablename__ = "consent_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErasureRecord(Base):
    """Proof that an erasure request was carried out, and which steps ran."""

    __tablename__ = "erasure_records"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PasswordResetToken(Base):
    """A single-use, expiring reset token, kept only as its SHA-256 digest."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
