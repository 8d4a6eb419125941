"""Profile changes and the consent records (marketing, personalised recommendations)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, Unauthorized
from shop_api.models import ConsentEvent, User

MARKETING = "marketing"
PERSONALISATION = "personalisation"


def record_marketing_consent(
    session: Session, user: User, granted: bool, source: str, at: datetime
) -> None:
    """Set the current consent and append it to the history (the proof audiences rely on)."""
    user.marketing_consent = granted
    user.marketing_consent_at = at
    user.marketing_consent_source = source
    session.add(
        ConsentEvent(
            user_id=user.id, purpose=MARKETING, granted=granted, source=source, recorded_at=at
        )
    )


def record_personalisation_consent(
    session: Session, user: User, granted: bool, source: str, at: datetime
) -> None:
    """Set whether recommendations may use the shopper's own history, and append it to the
    history (a purpose of its own: opting out of one never changes the other)."""
    user.personalised_recommendations = granted
    user.personalised_recommendations_at = at
    user.personalised_recommendations_source = source
    session.add(
        ConsentEvent(
            user_id=user.id, purpose=PERSONALISATION, granted=granted, source=source,
            recorded_at=at,
        )
    )  # fmt: skip


def update_profile(
    session: Session,
    clock: Clock,
    user_id: uuid.UUID,
    *,
    display_name: str | None = None,
    marketing_consent: bool | None = None,
    personalised_recommendations: bool | None = None,
    consent_source: str = "api",
    new_password_hash: str | None = None,
    verified_hash: str | None = None,
) -> User:
    """Apply a profile change under the account's row lock.

    A new password arrives checked and hashed (that CPU work runs before, holding no
    transaction); it replaces the one the caller proved only if that is still current,
    so of two concurrent changes the second is refused rather than silently lost.
    Changing the password signs out every other session (``token_version``).
    """
    now = clock.now()
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or not user.is_active:  # erased meanwhile
        session.rollback()
        raise Unauthorized()
    if new_password_hash is not None:
        if user.password_hash != verified_hash:
            session.rollback()
            raise Conflict("The password was changed meanwhile: sign in again")
        user.password_hash = new_password_hash
        user.token_version += 1
    if display_name is not None:
        user.display_name = display_name.strip()
    if marketing_consent is not None and marketing_consent != user.marketing_consent:
        record_marketing_consent(session, user, marketing_consent, consent_source, now)
    if (
        personalised_recommendations is not None
        and personalised_recommendations != user.personalised_recommendations
    ):
        record_personalisation_consent(
            session, user, personalised_recommendations, consent_source, now
        )
    user.modified_at = now
    session.commit()
    return user
