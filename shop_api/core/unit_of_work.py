"""The one way into the shop's database: ``Database`` and its two units of work.

An endpoint gets ``Reads`` or ``Writes`` (``core.deps.ReadsDep`` / ``WritesDep``) and hands
it a service function, ``await reads.run(service.fn, *args)``: the function gets a plain
``Session`` and, for a write, commits it itself. Where that function runs is decided
here, never by the endpoint:

* Reads, SQLite: inline in the event loop, on a session that opens no transaction (each
  statement reads its own WAL snapshot, which never waits for a writer). A read of a few
  indexed rows is an in-process call far cheaper than a hop to a worker thread, and a
  page read skips a BEGIN and a ROLLBACK that cost as much as the read. A hot statement
  with no values to convert runs on sqlite3 itself (``core.hot_reads``).
* Reads, PostgreSQL: on asyncpg (``AsyncSession.run_sync``, autocommit, generic plans),
  waiting for the server in the event loop; the hottest statements go further, straight
  to the driver (``core.hot_reads``, used by the search and recommendations
  repositories).
* Writes, SQLite: in a worker thread, behind the per-process write gate (see
  ``Database.write_gate``), on a session whose transactions begin immediate.
* Writes, PostgreSQL: in a worker thread on the sync driver, or, for a function marked
  ``@statements_only`` (its only I/O is its session's statements: the cart and checkout,
  the login's), on asyncpg in the event loop, where lock waits cost no thread hand-offs.
  A function that calls a provider or hashes must not be marked: it would block the
  loop that the lock holder it waits for needs.

An app driven from another event loop than its lifespan's (asyncio connections belong
to the loop that opened them) takes the thread paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.db import (
    create_async_read_engine,
    create_async_write_engine,
    create_db_engine,
    create_session_factory,
    create_short_read_session_factory,
)

P = ParamSpec("P")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])

_STATEMENTS_ONLY = "__mercado_statements_only__"


def statements_only(function: F) -> F:
    """Mark a write function whose only I/O is its session's statements (see the module):
    on PostgreSQL it runs on asyncpg in the event loop."""
    setattr(function, _STATEMENTS_ONLY, True)
    return function


class Database:
    """The engine and session factories of one app (``app.state.database``).

    ``sessions`` opens writers' sessions (background jobs, the CLI and tests use it too);
    ``read_sessions`` sessions that only read. The asyncio engines exist between
    ``open`` and ``close`` (the app's lifespan), on PostgreSQL only.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self.engine: Engine = create_db_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.sessions: sessionmaker[Session] = create_session_factory(self.engine, for_writes=True)
        self.read_sessions: sessionmaker[Session] = create_short_read_session_factory(self.engine)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_engines: list[AsyncEngine] = []
        self._async_reads: async_sessionmaker | None = None
        self._async_writes: async_sessionmaker | None = None
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def open(self) -> None:
        """Start the asyncio engines (PostgreSQL) on the running loop."""
        self._loop = asyncio.get_running_loop()
        reads = create_async_read_engine(self.url, pool_size=self.pool_size)
        writes = create_async_write_engine(self.url, pool_size=self.pool_size)
        if reads is not None and writes is not None:
            self._async_engines = [reads, writes]
            self._async_reads = async_sessionmaker(reads, expire_on_commit=False)
            self._async_writes = async_sessionmaker(writes, expire_on_commit=False)

    async def close(self) -> None:
        self._async_reads = self._async_writes = None
        engines, self._async_engines = self._async_engines, []
        for engine in engines:
            await engine.dispose()

    def dispose(self) -> None:
        self.engine.dispose()

    def _on_own_loop(self) -> bool:
        return self._loop is asyncio.get_running_loop()

    def async_reads(self) -> async_sessionmaker | None:
        return self._async_reads if self._on_own_loop() else None

    def async_writes(self) -> async_sessionmaker | None:
        return self._async_writes if self._on_own_loop() else None

    def write_gate(self) -> asyncio.Lock | None:
        """On SQLite, the lock that lets one write unit of work at a time run, per loop.

        SQLite has one writer at a time, and a writer holds the write lock from its
        BEGIN IMMEDIATE to its end, in a worker thread. Were other writers to wait for
        that lock in worker threads, enough of them would leave its holder no thread to
        finish in: everyone stalls until the busy timeout, then fails. So they wait here,
        in the event loop, holding no thread.
        """
        if not self.is_sqlite:
            return None
        return self._gates.setdefault(asyncio.get_running_loop(), asyncio.Lock())

    def write_gates(self) -> list[asyncio.Lock]:
        return list(self._gates.values())


class Reads:
    """The read unit of work (see the module for where each read runs)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def run(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        database = self._database
        async_sessions = database.async_reads()
        if async_sessions is not None:
            async with async_sessions() as session:
                return await session.run_sync(_settled, function, *args, **kwargs)
        if database.is_sqlite:
            with database.read_sessions() as session:
                return _settled(session, function, *args, **kwargs)
        work = functools.partial(_in_new_session, database.read_sessions, function, *args, **kwargs)
        return await run_in_threadpool(work)


class Writes:
    """The write unit of work: the function commits its session itself (see the module)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def run(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        database = self._database
        if getattr(function, _STATEMENTS_ONLY, False):
            async_sessions = database.async_writes()
            if async_sessions is not None:
                async with async_sessions() as session:
                    return await session.run_sync(_settled, function, *args, **kwargs)
        gate = database.write_gate()
        async with gate if gate is not None else contextlib.nullcontext():
            work = functools.partial(_in_new_session, database.sessions, function, *args, **kwargs)
            return await run_in_threadpool(work)


def _in_new_session(
    factory: Callable[[], Session],
    function: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    with factory() as session:
        return _settled(session, function, *args, **kwargs)


def _settled(
    session: Session,
    function: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``function``'s result, with what its rollbacks expired loaded again, so that the
    objects it returns read the same once the session has closed. (A service rolls back
    before it calls a provider, so as to hold nothing meanwhile.) Nothing is loaded
    when nothing was rolled back."""
    result = function(session, *args, **kwargs)
    for instance in list(session.identity_map.values()):
        if inspect(instance).expired_attributes:
            try:
                session.refresh(instance)
            except InvalidRequestError:  # deleted meanwhile: nothing to read
                session.expunge(instance)
    return result
