"""FastAPI dependencies as ``Annotated`` aliases: settings, the two units of work (reads,
writes; see ``core.unit_of_work``), clock, store, caller."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import NotPermitted, Unauthorized
from shop_api.core.security import PasswordHasher, decode_access_token
from shop_api.core.storage import ObjectStore
from shop_api.core.unit_of_work import Reads, Writes
from shop_api.models import User, UserRole

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

# Dependencies that only read app state are ``async def``: FastAPI runs a ``def`` dependency
# in the thread pool, and that hop costs far more than the attribute lookup.


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_object_store(request: Request) -> ObjectStore:
    return request.app.state.object_store


async def get_password_hasher(request: Request) -> PasswordHasher:
    return request.app.state.password_hasher


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ObjectStoreDep = Annotated[ObjectStore, Depends(get_object_store)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


async def get_reads(request: Request) -> Reads:
    return Reads(request.app.state.database)


async def get_writes(request: Request) -> Writes:
    return Writes(request.app.state.database)


ReadsDep = Annotated[Reads, Depends(get_reads)]
WritesDep = Annotated[Writes, Depends(get_writes)]


# Prebuilt: every authenticated request runs it (session.get would rebuild it each time).
_USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


def token_holder(session: Session, settings: Settings, now: datetime, token: str) -> User:
    """The active user a bearer token was issued to; Unauthorized when it is invalid,
    expired or revoked (a password change or erasure bumps the token version)."""
    claims = decode_access_token(settings, token, now)
    if claims is None:
        raise Unauthorized("Invalid or expired token")
    user = session.scalar(_USER_BY_ID, {"user_id": claims.user_id})
    if user is None or not user.is_active or user.token_version != claims.token_version:
        raise Unauthorized("Invalid or expired token")
    return user


def caller_of(
    session: Session, settings: Settings, now: datetime, token: str | None
) -> User | None:
    """The caller, looked up inside a unit of work (the cart's and checkout's, so that the
    lookup and the work share one session): None when anonymous (see ``token_holder``)."""
    return None if token is None else token_holder(session, settings, now, token)


async def get_optional_user(request: Request, token: TokenDep) -> User | None:
    """The caller when a valid token is sent; None for anonymous requests.

    A token that is present but invalid is an error, not silently anonymous. Anonymous
    callers (most catalog traffic) cost nothing: app state is read here rather than
    through dependencies of its own, which FastAPI would resolve on every request, signed
    in or not. The user lookup is a read of its own, so the user is detached: use its
    attributes, and have a write load its row again (under a lock where it changes it).
    """
    if token is None:
        return None
    state = request.app.state
    return await Reads(state.database).run(token_holder, state.settings, state.clock.now(), token)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: UserRole) -> Callable[[User], Coroutine[Any, Any, User]]:
    async def guard(user: CurrentUser) -> User:
        if user.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise NotPermitted(f"Only {allowed} accounts may do this")
        return user

    return guard


CurrentSeller = Annotated[User, Depends(require_role(UserRole.seller, UserRole.staff))]
CurrentStaff = Annotated[User, Depends(require_role(UserRole.staff))]
