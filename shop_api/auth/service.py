"""Sign-up and login rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop_api.accounts.password_policy import check_password
from shop_api.accounts.service import AD_PURPOSES, record_consent
from shop_api.cart.service import merge_anonymous_cart
from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, Unauthorized
from shop_api.core.security import PasswordHasher
from shop_api.core.unit_of_work import statements_only
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
    phone: str | None = None,
    ad_user_data_consent: bool = False,
    ad_personalization_consent: bool = False,
    consent_source: str = "signup",
) -> User:
    """Check the password policy, hash it (before any lock is taken), insert the account."""
    check_password(password, email=email, display_names=[display_name])
    return insert_user(
        session,
        clock,
        email=email,
        password_hash=hasher.hash(password),
        display_name=display_name,
        role=role,
        phone=phone,
        ad_user_data_consent=ad_user_data_consent,
        ad_personalization_consent=ad_personalization_consent,
        consent_source=consent_source,
    )


@statements_only
def insert_user(
    session: Session,
    clock: Clock,
    *,
    email: str,
    password_hash: str,
    display_name: str,
    role: UserRole,
    phone: str | None = None,
    ad_user_data_consent: bool = False,
    ad_personalization_consent: bool = False,
    consent_source: str = "signup",
) -> User:
    """Insert the account (``phone`` already in E.164) with each ad purpose's choice
    recorded in the consent history, granted or not."""
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists")
    now = clock.now()
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=display_name.strip(),
        role=role,
        phone=phone,
        created_at=now,
        modified_at=now,
    )
    session.add(user)
    session.flush()
    choices = (ad_user_data_consent, ad_personalization_consent)
    for purpose, granted in zip(AD_PURPOSES, choices, strict=True):
        record_consent(session, user, purpose, granted, consent_source, now)
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent signup won the race for this email
        session.rollback()
        raise Conflict("An account with this email already exists") from exc
    return user


@dataclass(frozen=True)
class Credentials:
    user_id: uuid.UUID
    password_hash: str | None
    is_active: bool


def find_credentials(session: Session, email: str) -> Credentials | None:
    """What a login checks, read without a transaction held across the hash check."""
    found = session.execute(
        select(User.id, User.password_hash, User.is_active).where(
            User.email == normalise_email(email)
        )
    ).one_or_none()
    return None if found is None else Credentials(*found)


@dataclass(frozen=True)
class SignedIn:
    user_id: uuid.UUID
    token_version: int


@statements_only
def record_login(
    session: Session,
    clock: Clock,
    user_id: uuid.UUID,
    new_hash: str | None,
    client_id: str | None,
) -> SignedIn:
    """After the password was verified: note the login, store an upgraded hash, and move
    the device's anonymous cart into the account's."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:  # erased while its password was checked
        session.rollback()
        raise Unauthorized("Incorrect email or password")
    changes: dict = {"last_login_at": clock.now()}
    if new_hash is not None:
        changes["password_hash"] = new_hash
    session.execute(update(User).where(User.id == user_id).values(**changes))
    if client_id:
        merge_anonymous_cart(session, clock, user, client_id)
    session.commit()
    return SignedIn(user.id, user.token_version)
