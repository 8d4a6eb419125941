"""Sign-up and login rules."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop_api.accounts.password_policy import check_password
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
    check_password(password, email=email, display_names=[display_name])
    password_hash = hasher.hash(password)  # slow on purpose: before any lock is taken
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists")
    now = clock.now()
    user = User(
        email=email,
        password_hash=password_hash,
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
    found = session.execute(
        select(User.id, User.password_hash, User.is_active).where(
            User.email == normalise_email(email)
        )
    ).one_or_none()
    session.rollback()  # end the read: the slow hash check below holds no database lock
    valid, new_hash = hasher.verify(password, found.password_hash if found else None)
    if found is None or not valid or not found.is_active:
        raise Unauthorized("Incorrect email or password")
    changes: dict = {"last_login_at": clock.now()}
    if new_hash is not None:
        changes["password_hash"] = new_hash
    session.execute(update(User).where(User.id == found.id).values(**changes))
    session.commit()
    user = session.get(User, found.id)
    assert user is not None
    return user
