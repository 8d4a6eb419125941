"""Profile changes and the marketing-consent record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shop_api.accounts.password_policy import check_password
from shop_api.core.clock import Clock
from shop_api.core.errors import Unauthorized
from shop_api.core.security import PasswordHasher
from shop_api.models import ConsentEvent, User

MARKETING = "marketing"


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


def update_profile(
    session: Session,
    hasher: PasswordHasher,
    clock: Clock,
    user: User,
    *,
    display_name: str | None = None,
    marketing_consent: bool | None = None,
    consent_source: str = "api",
    new_password: str | None = None,
    current_password: str | None = None,
) -> User:
    now = clock.now()
    if new_password is not None:
        names = [user.display_name, display_name or ""]
        check_password(new_password, email=user.email, display_names=names, field="new_password")
        valid, _ = hasher.verify(current_password or "", user.password_hash)
        if not valid:
            raise Unauthorized("Current password is incorrect")
        user.password_hash = hasher.hash(new_password)
        user.token_version += 1
    if display_name is not None:
        user.display_name = display_name.strip()
    if marketing_consent is not None and marketing_consent != user.marketing_consent:
        record_marketing_consent(session, user, marketing_consent, consent_source, now)
    user.modified_at = now
    session.commit()
    return user
