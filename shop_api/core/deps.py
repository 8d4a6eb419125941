"""FastAPI dependencies as ``Annotated`` aliases: settings, session, clock, store, caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import NotPermitted, Unauthorized
from shop_api.core.security import PasswordHasher, decode_access_token
from shop_api.core.storage import ObjectStore
from shop_api.models import User, UserRole

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; requests that change state get a writer's session."""
    if request.method in READ_METHODS:
        factory = request.app.state.session_factory
    else:
        factory = request.app.state.write_session_factory
    with factory() as session:
        yield session


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_object_store(request: Request) -> ObjectStore:
    return request.app.state.object_store


def get_password_hasher(request: Request) -> PasswordHasher:
    return request.app.state.password_hasher


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ObjectStoreDep = Annotated[ObjectStore, Depends(get_object_store)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


def get_optional_user(session: SessionDep, settings: SettingsDep, token: TokenDep) -> User | None:
    """The caller when a valid token is sent; None for anonymous requests.

    A token that is present but invalid is an error, not silently anonymous.
    """
    if token is None:
        return None
    claims = decode_access_token(settings, token)
    if claims is None:
        raise Unauthorized("Invalid or expired token")
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.token_version:
        raise Unauthorized("Invalid or expired token")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise Unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: UserRole):  # type: ignore[no-untyped-def]
    def guard(user: CurrentUser) -> User:
        if user.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise NotPermitted(f"Only {allowed} accounts may do this")
        return user

    return guard


CurrentSeller = Annotated[User, Depends(require_role(UserRole.seller, UserRole.staff))]
CurrentStaff = Annotated[User, Depends(require_role(UserRole.staff))]
