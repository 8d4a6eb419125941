"""Profile changes and the consent records (ad purposes, personalised recommendations)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, Unauthorized
from shop_api.core.unit_of_work import statements_only
from shop_api.models import ConsentEvent, User

# Purposes, as consent_events names them, and the users columns holding the current
# state (``<column>``, ``<column>_at``, ``<column>_source``). Events written before
# migration 0014 carry purpose ``marketing``, which meant both ad purposes.
AD_USER_DATA = "ad_user_data"
AD_PERSONALIZATION = "ad_personalization"
PERSONALISATION = "personalisation"
AD_PURPOSES = (AD_USER_DATA, AD_PERSONALIZATION)
CONSENT_COLUMNS = {
    AD_USER_DATA: "ad_user_data_consent",
    AD_PERSONALIZATION: "ad_personalization_consent",
    PERSONALISATION: "personalised_recommendations",
}


def record_consent(
    session: Session, user: User, purpose: str, granted: bool, source: str, at: datetime
) -> None:
    """Set the current consent for one purpose and append it to the history (the proof
    audiences rely on). Purposes are independent: changing one never changes another."""
    column = CONSENT_COLUMNS[purpose]
    setattr(user, column, granted)
    setattr(user, f"{column}_at", at)
    setattr(user, f"{column}_source", source)
    session.add(
        ConsentEvent(
            user_id=user.id, purpose=purpose, granted=granted, source=source, recorded_at=at
        )
    )


def consent_changes(
    user: User,
    *,
    ad_user_data: bool | None = None,
    ad_personalization: bool | None = None,
    personalisation: bool | None = None,
) -> dict[str, bool]:
    """The purposes whose asked-for state differs from the account's (None: unchanged)."""
    asked = {
        AD_USER_DATA: ad_user_data,
        AD_PERSONALIZATION: ad_personalization,
        PERSONALISATION: personalisation,
    }
    return {
        purpose: granted
        for purpose, granted in asked.items()
        if granted is not None and granted != getattr(user, CONSENT_COLUMNS[purpose])
    }


@statements_only
def update_profile(
    session: Session,
    clock: Clock,
    user_id: uuid.UUID,
    *,
    display_name: str | None = None,
    set_phone: bool = False,
    phone: str | None = None,
    ad_user_data_consent: bool | None = None,
    ad_personalization_consent: bool | None = None,
    personalised_recommendations: bool | None = None,
    consent_source: str = "api",
    new_password_hash: str | None = None,
    verified_hash: str | None = None,
) -> User:
    """Apply a profile change under the account's row lock.

    A new password arrives checked and hashed (that CPU work runs before, holding no
    transaction); it replaces the one the caller proved only if that is still current,
    so of two concurrent changes the second is refused rather than silently lost.
    ``phone`` (E.164, already normalised) replaces the stored one when ``set_phone``;
    None then removes it. Each consent that changes is appended to the history.
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
    if set_phone:
        user.phone = phone
    changes = consent_changes(
        user,
        ad_user_data=ad_user_data_consent,
        ad_personalization=ad_personalization_consent,
        personalisation=personalised_recommendations,
    )
    for purpose, granted in changes.items():
        record_consent(session, user, purpose, granted, consent_source, now)
    user.modified_at = now
    session.commit()
    return user


def consent_history(session: Session, user_id: uuid.UUID) -> list[ConsentEvent]:
    """Every consent grant and withdrawal of the account, oldest first."""
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.user_id == user_id)
            .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
        )
    )
