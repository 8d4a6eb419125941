"""Password reset by e-mail: a single-use token that expires, kept only as its digest.

``request_reset`` answers the same whether or not the address has an account (the caller
learns nothing); for an active account with a password it stores the SHA-256 of a fresh
random token and queues the link in the e-mail outbox. ``confirm_reset`` sets the new
password (the password policy applies), ends every session (``token_version``) and uses
the token up. Using it is one conditional UPDATE (``used_at IS NULL AND expires_at >
now``), so of two confirmations racing with one token exactly one succeeds; every other
unused token of the account is retired with it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from shop_api.accounts.password_policy import check_password
from shop_api.auth.service import normalise_email
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import BadRequest
from shop_api.core.security import PasswordHasher
from shop_api.core.typed_sql import rowcount
from shop_api.core.unit_of_work import Reads, Writes
from shop_api.models import PasswordResetToken, User
from shop_api.notifications.messages import queue_email

PASSWORD_RESET = "password_reset"
INVALID_TOKEN = "This password reset link is invalid, used or expired; ask for a new one"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_link(settings: Settings, token: str) -> str:
    page = settings.password_reset_url or f"{settings.public_url.rstrip('/')}/reset-password"
    return f"{page}?{urlencode({'token': token})}"


def request_reset(session: Session, settings: Settings, clock: Clock, email: str) -> None:
    """Send a reset link to the account with this address, if there is one."""
    user = session.scalar(
        select(User).where(
            User.email == normalise_email(email),
            User.is_active.is_(True),
            User.password_hash.is_not(None),  # imported accounts have none, and stay so
        )
    )
    if user is None:
        session.rollback()
        return
    now = clock.now()
    token = secrets.token_urlsafe(32)
    minutes = settings.password_reset_minutes
    session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=digest(token), created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )  # fmt: skip
    queue_email(
        session,
        user_id=user.id,
        to=user.email,
        kind=PASSWORD_RESET,
        subject="Reset your Mercado password",
        body=(
            f"Hello {user.display_name},\n\n"
            f"someone (we hope you) asked to reset the password of your Mercado account.\n"
            f"Open this link within {minutes} minutes to choose a new one:\n\n"
            f"{reset_link(settings, token)}\n\n"
            f"or give this code to the app: {token}\n\n"
            "It works once. If you did not ask for it, ignore this message: your password "
            "stays as it is.\n"
        ),
        at=now,
    )
    session.commit()


async def confirm_reset(
    reads: Reads,
    writes: Writes,
    hasher: PasswordHasher,
    clock: Clock,
    token: str,
    new_password: str,
) -> None:
    """Set the new password with a valid token, end every session, use the token up.

    The password policy and the hash run between the read of the token and its use,
    holding no transaction (nor, on SQLite, the write gate)."""
    token_hash = digest(token)
    found = await reads.run(_holder_of_usable_token, token_hash, clock.now())
    if found is None:
        raise BadRequest(INVALID_TOKEN)
    await run_in_threadpool(
        check_password, new_password, email=found.email, display_names=[found.display_name],
        field="new_password",
    )  # fmt: skip
    password_hash = await hasher.hash_async(new_password)
    await writes.run(_use_token, token_hash, password_hash, clock.now())


def _use_token(session: Session, token_hash: str, password_hash: str, now: datetime) -> None:
    used_by = session.scalar(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == token_hash,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordResetToken.user_id)
    )
    if used_by is None:  # used by a concurrent confirmation, or expired, since the read
        session.rollback()
        raise BadRequest(INVALID_TOKEN)
    _set_password(session, used_by, password_hash, now)


def _holder_of_usable_token(session: Session, token_hash: str, now: datetime) -> Row | None:
    """The account (id, email, display name) an unused, unexpired token belongs to."""
    return session.execute(
        select(User.id, User.email, User.display_name)
        .join(PasswordResetToken, PasswordResetToken.user_id == User.id)
        .where(
            PasswordResetToken.token_hash == token_hash,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
            User.is_active.is_(True),
        )
    ).one_or_none()


def _set_password(session: Session, user_id: uuid.UUID, password_hash: str, now: datetime) -> None:
    changed = rowcount(
        session.execute(
            update(User)
            .where(User.id == user_id, User.is_active.is_(True))
            .values(
                password_hash=password_hash, token_version=User.token_version + 1, modified_at=now
            )
        )
    )
    if changed != 1:  # erased meanwhile
        session.rollback()
        raise BadRequest(INVALID_TOKEN)
    session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    session.commit()
