"""FastAPI dependencies as ``Annotated`` aliases: settings, session, clock, store, caller."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import NotPermitted, Unauthorized
from shop_api.core.security import PasswordHasher, decode_access_token
from shop_api.core.storage import ObjectStore
from shop_api.models import User, UserRole

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

# Dependencies that only read app state are ``async def``: FastAPI runs a ``def`` dependency
# in the thread pool, and that hop costs far more than the attribute lookup.


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sqlite_write_gate(state: Any) -> asyncio.Lock | None:
    """The lock that lets one write request at a time into SQLite, per event loop."""
    if state.engine.dialect.name != "sqlite":
        return None
    gates = getattr(state, "sqlite_write_gates", None)
    if gates is None:
        gates = state.sqlite_write_gates = weakref.WeakKeyDictionary()
    return gates.setdefault(asyncio.get_running_loop(), asyncio.Lock())


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; requests that change state get a writer's session.

    SQLite has one writer at a time, and a writer's session holds the write lock from its
    first statement to its end, across the worker threads the request hops through. Were
    other writers to wait for that lock in worker threads, enough of them would leave its
    holder no thread to finish in: everyone stalls until the busy timeout, then fails. So
    on SQLite a process lets one write request at a time have its session; the others wait
    here, in the event loop, holding no thread.
    """
    state = request.app.state
    if request.method in READ_METHODS:
        factory, gate = state.session_factory, None
    else:
        factory, gate = state.write_session_factory, _sqlite_write_gate(state)
    async with gate if gate is not None else contextlib.nullcontext():
        session = factory()
        try:
            yield session
        finally:
            if not session.in_transaction() or (
                gate is None and state.engine.dialect.name == "sqlite"
            ):
                # Nothing to end, or an SQLite read transaction, whose end is an
                # in-process call that never waits: cheaper here than a hop to a thread.
                session.close()
            else:
                # Closing may wait for the database: not in the event loop, and not on
                # the shared thread pool (as FastAPI does for a ``def`` dependency's exit).
                await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


async def get_clock(request: Request) -> Clock:
    return request.app.state.clock


async def get_object_store(request: Request) -> ObjectStore:
    return request.app.state.object_store


async def get_password_hasher(request: Request) -> PasswordHasher:
    return request.app.state.password_hasher


P = ParamSpec("P")
T = TypeVar("T")


class ShortReads:
    """Runs the short reads (a few indexed rows) of ``async`` endpoints without paying
    for a hop to a worker thread and back, which under load costs more than the query.

    * SQLite, read requests: inline in the event loop. The query is an in-process call of
      tens of microseconds that, under WAL, never waits for a writer.
    * PostgreSQL, read requests: on the asyncio driver (``AsyncSession.run_sync``), which
      waits for the server in the event loop. The function still gets a plain ``Session``.
    * Otherwise (write requests, whose session may wait for a lock; or an app running
      without its lifespan): in a worker thread, on the request's own session.

    Without a request session (``ReadOnlyReadsDep``, for GET-only endpoints) a read opens
    its own short-read session, and the request pays for no session it does not use.
    """

    def __init__(
        self,
        session: Session | None,
        *,
        inline: bool,
        async_sessions: async_sessionmaker | None,
        factory: Callable[[], Session] | None = None,
    ) -> None:
        self._session = session
        self._inline = inline
        self._async_sessions = async_sessions
        self._factory = factory

    async def run(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self._async_sessions is not None:
            async with self._async_sessions() as session:
                return await session.run_sync(function, *args, **kwargs)
        if self._session is not None:
            if self._inline:
                return function(self._session, *args, **kwargs)
            return await run_in_threadpool(function, self._session, *args, **kwargs)
        assert self._factory is not None
        if self._inline:
            with self._factory() as session:
                return function(session, *args, **kwargs)
        work = functools.partial(_in_new_session, self._factory, function, *args, **kwargs)
        return await run_in_threadpool(work)


class Writes:
    """Runs the unit of work of a hot write endpoint (cart, checkout) where it is cheapest.

    * PostgreSQL: on the asyncio driver (``AsyncSession.run_sync``), in its own session.
      Waits for the server and for row locks happen in the event loop; there is no hop
      to a worker thread and back, whose GIL hand-offs under load cost more than the
      statements. The function still gets a plain ``Session`` and commits it itself.
    * SQLite (and an app driven without its lifespan): in a worker thread, on a writer's
      session opened and closed there, behind the per-process write gate (see
      ``get_session``).

    The function resolves the caller itself (``caller_of``) so that authentication and
    the work share one session and one round of scheduling.
    """

    def __init__(self, state: Any, *, async_sessions: async_sessionmaker | None) -> None:
        self._state = state
        self._async_sessions = async_sessions

    async def run(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if self._async_sessions is not None:
            async with self._async_sessions() as session:
                return await session.run_sync(function, *args, **kwargs)
        gate = _sqlite_write_gate(self._state)
        async with gate if gate is not None else contextlib.nullcontext():
            factory: Callable[[], Session] = self._state.write_session_factory
            work = functools.partial(_in_new_session, factory, function, *args, **kwargs)
            return await run_in_threadpool(work)


def _in_new_session(
    factory: Callable[[], Session],
    function: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    with factory() as session:
        return function(session, *args, **kwargs)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ObjectStoreDep = Annotated[ObjectStore, Depends(get_object_store)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


def _async_sessions(state: Any, name: str) -> async_sessionmaker | None:
    """The app's asyncio sessions, when this request runs on the event loop they belong to.

    asyncio connections are bound to the loop that opened them: an app driven from
    another loop than its lifespan's (some test harnesses do that) takes the thread path.
    """
    sessions = getattr(state, name, None)
    if sessions is None or getattr(state, "async_loop", None) is not asyncio.get_running_loop():
        return None
    return sessions


async def get_short_reads(request: Request, session: SessionDep) -> ShortReads:
    state = request.app.state
    reading = request.method in READ_METHODS
    return ShortReads(
        session,
        inline=reading and state.engine.dialect.name == "sqlite",
        async_sessions=_async_sessions(state, "async_read_sessions") if reading else None,
    )


ShortReadsDep = Annotated[ShortReads, Depends(get_short_reads)]


async def get_read_only_reads(request: Request) -> ShortReads:
    """Short reads for endpoints that only ever answer GET: no request session."""
    state = request.app.state
    return ShortReads(
        None,
        inline=state.engine.dialect.name == "sqlite",
        async_sessions=_async_sessions(state, "async_read_sessions"),
        factory=state.short_read_session_factory,
    )


ReadOnlyReadsDep = Annotated[ShortReads, Depends(get_read_only_reads)]


async def get_writes(request: Request) -> Writes:
    state = request.app.state
    return Writes(state, async_sessions=_async_sessions(state, "async_write_sessions"))


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
    """The caller of a ``Writes`` unit of work: None when anonymous (see ``token_holder``)."""
    return None if token is None else token_holder(session, settings, now, token)


async def get_optional_user(
    reads: ShortReadsDep, settings: SettingsDep, clock: ClockDep, token: TokenDep
) -> User | None:
    """The caller when a valid token is sent; None for anonymous requests.

    A token that is present but invalid is an error, not silently anonymous. Anonymous
    callers (most catalog traffic) cost nothing; the user lookup is a short read. On read
    requests the user may come from a session other than the endpoint's: use its
    attributes, and load anything else through the endpoint's session.
    """
    if token is None:
        return None
    return await reads.run(token_holder, settings, clock.now(), token)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_optional_reader(
    reads: ReadOnlyReadsDep, settings: SettingsDep, clock: ClockDep, token: TokenDep
) -> User | None:
    """``OptionalUser`` for GET-only endpoints (read through ``ReadOnlyReadsDep``)."""
    if token is None:
        return None
    return await reads.run(token_holder, settings, clock.now(), token)


OptionalReader = Annotated[User | None, Depends(get_optional_reader)]


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
