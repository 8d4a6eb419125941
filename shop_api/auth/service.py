"""Sign-up and login rules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop_api.accounts.service import record_marketing_consent
from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, Unauthorized
from shop_api.core.security import PasswordHasher
from shop_api.models import User, UserRole


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    hasher: PasswordHasher,
    clock: Clock,
    *,
    email: str,
    password: str,
    display_name: str,
    role: UserRole,
    marketing_consent: bool = False,
    consent_source: str = "signup",
) -> User:
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists")
    now = clock.now()
    user = User(
        email=email,
        password_hash=hasher.hash(password),
        display_name=display_name.strip(),
        role=role,
        created_at=now,
        modified_at=now,
    )
    session.add(user)
    session.flush()
    record_marketing_consent(session, user, marketing_consent, consent_source, now)
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent signup won the race for this email
        session.rollback()
        raise Conflict("An account with this email already exists") from exc
    return user


def authenticate(
    session: Session, hasher: PasswordHasher, clock: Clock, email: str, password: str
) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    valid, new_hash = hasher.verify(password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        raise Unauthorized("Incorrect email or password")
    if new_hash is not None:
        user.password_hash = new_hash
    user.last_login_at = clock.now()
    session.commit()
    return user
