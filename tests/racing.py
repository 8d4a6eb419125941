"""Racing requests on purpose: N calls released together and, on PostgreSQL, a second
connection that holds the contended row locked until every one of the N is seen waiting
for a lock, then lets them go. The interleaving is forced, not hoped for: a test built on
``race`` cannot pass by luck, and an endpoint that decides before it takes its lock is
caught answering while the row is still held.

On SQLite a process lets one writer in at a time (the write gate, then BEGIN IMMEDIATE),
so there is no row to hold: the calls are only released together. Racing SQLite across
processes takes a real server with several workers (``real_server``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from mercado_cli.server import running_api
from shop_api.core.config import Settings

Call = Callable[[], httpx.Response]
# How long the requests may take to reach the lock. Only a broken test or endpoint gets
# near it: the condition waited for is the database's own account of who is waiting.
REACH_LOCK_SECONDS = 60.0

_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    " AND pid <> pg_backend_pid()"
)


@dataclass(frozen=True)
class Row:
    """The row every racing call contends for: ``table`` (a shop table name) and its id."""

    table: str
    id: object


@functools.cache
def _engine(database_url: str) -> Engine:
    return create_engine(database_url, poolclass=NullPool)


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def race(database_url: str, calls: list[Call], *, hold: Row) -> list[httpx.Response]:
    """Run ``calls`` at once; on PostgreSQL with ``hold`` locked (``FOR UPDATE``) until
    all of them wait for a lock. Returns the responses in the order of ``calls``."""
    if not is_postgres(database_url):
        return _released_together(calls, lambda _futures: None)
    engine = _engine(database_url)
    with engine.connect() as holder, engine.connect() as observer:
        observer = observer.execution_options(isolation_level="AUTOCOMMIT")
        locked = holder.execute(
            text(f"SELECT id FROM {hold.table} WHERE id = :id FOR UPDATE"),
            {"id": hold.id},
        ).all()
        assert locked, f"no {hold.table} row {hold.id} to hold"

        def hold_until_all_wait(futures: list[Future[httpx.Response]]) -> None:
            try:
                _until_waiting(observer, futures)
            finally:
                holder.commit()  # let them go (the holder changed nothing)

        return _released_together(calls, hold_until_all_wait)


def _until_waiting(observer: Any, futures: list[Future[httpx.Response]]) -> None:
    """Return once every call waits for a lock; fail if one is answered first."""
    deadline = time.monotonic() + REACH_LOCK_SECONDS
    waiting = 0
    while time.monotonic() < deadline:
        answered = [future.result() for future in futures if future.done()]
        assert not answered, (
            "answered while the contended row was held (decided without taking the lock): "
            + "; ".join(f"{r.status_code} {r.text[:200]}" for r in answered)
        )
        waiting = observer.execute(_WAITING).scalar_one()
        if waiting >= len(futures):
            return
        time.sleep(0.005)  # polling the condition; nothing is decided by this pause
    raise AssertionError(f"only {waiting} of {len(futures)} calls reached the lock")


def _released_together(
    calls: list[Call], meanwhile: Callable[[list[Future[httpx.Response]]], None]
) -> list[httpx.Response]:
    start = threading.Barrier(len(calls))

    def released(call: Call) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        meanwhile(futures)
        return [future.result() for future in futures]


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(response.status_code for response in responses)


@contextmanager
def real_server(settings: Settings, home: Path, *, workers: int = 2) -> Iterator[str]:
    """A real uvicorn with ``workers`` worker processes on the test database (the same
    secret, so test tokens are valid); yields its base URL. No background jobs: the test
    moves the sandbox providers along itself (``Factory.settle``)."""
    env = {
        "MERCADO_DATABASE_URL": settings.database_url,
        "MERCADO_HOME": str(home),
        "MERCADO_SECRET_KEY": settings.secret_key.get_secret_value(),
        "MERCADO_BACKGROUND_JOBS": "false",
        "MERCADO_ARGON2_MEMORY_KIB": "1024",
        "MERCADO_ARGON2_TIME_COST": "1",
        "MERCADO_LOG_LEVEL": "WARNING",
        # The sandboxes on the test settings' clocks: due at once, parcels moved by hand.
        "MERCADO_SANDBOX_PROCESSING_SECONDS": str(settings.sandbox_processing_seconds),
        "MERCADO_SANDBOX_CARRIER_STEP_SECONDS": str(settings.sandbox_carrier_step_seconds),
    }
    with running_api(env=env, workers=workers, log_path=home / "server.log", timeout=120) as url:
        yield url
