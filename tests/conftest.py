"""Shared fixtures: a migrated database per backend (SQLite and PostgreSQL) and API clients.

Every test that uses ``client`` runs once on SQLite and once on PostgreSQL. PostgreSQL
tests skip with a reason when no server answers at ``MERCADO_TEST_POSTGRES_URL``
(default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
from shop_api.catalog.service import seed_category_tree
from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings, normalise_database_url
from shop_api.core.migrations import upgrade_to_head
from shop_api.main import create_app
from tests.factories import Factory

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_itemcollected(item: pytest.Item) -> None:
    """The slow tests of a file go to one xdist worker together (``make test`` runs
    ``--dist loadgroup``), so a module fixture such as a pipeline run is built once."""
    if item.get_closest_marker("slow"):
        item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, by file, the rest in pytest's order (grouped by database backend).

    xdist hands tests out in this order: the long files start early and the many short
    tests even the two workers out at the end. The first file that needs the orchestration
    tests' built home goes first, so one worker builds it while the other runs the longest
    independent files; the other files that read it come after those."""
    slow: dict[str, list[pytest.Item]] = {}
    rest: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker("slow"):
            slow.setdefault(item.nodeid.split("::")[0], []).append(item)
        else:
            rest.append(item)
    builders = [f for f, tests in slow.items() if any(_reads_built_home(t) for t in tests)]
    order = builders[:1] + [f for f in slow if f not in builders] + builders[1:]
    items[:] = [item for f in order for item in slow[f]] + rest
    _name_xdist_groups(items)


def _name_xdist_groups(items: list[pytest.Item]) -> None:
    """What pytest-xdist 3.8 does for ``--dist loadgroup`` (``<nodeid>@<group>``, which its
    scheduler reads), on pytest 9.2's ``Item._id``: xdist still sets ``_nodeid``, which
    pytest 9.2 no longer reads, so every group would be split across workers."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is not None and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{marker.args[0]}")  # type: ignore[attr-defined]


def _reads_built_home(item: pytest.Item) -> bool:
    return "built_home" in getattr(item, "fixturenames", ())


def postgres_admin_url() -> str:
    return normalise_database_url(os.environ.get("MERCADO_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


def postgres_unavailable_reason() -> str | None:
    url = postgres_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {exc}"
    return None


def create_postgres_database() -> tuple[str, object]:
    """A throwaway database next to the admin one; returns its URL and a dropper."""
    admin_url = make_url(postgres_admin_url())
    name = f"mercado_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A migrated, seeded shop database for the whole session, one per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'shop.db'}"
        drop = None
    else:
        reason = postgres_unavailable_reason()
        if reason:
            pytest.skip(reason)
        url, drop = create_postgres_database()
    upgrade_to_head(url)
    yield url
    if drop is not None:
        drop()


def test_settings(database_url: str, home: Path) -> Settings:
    return Settings(
        env="test",
        home=home,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        log_json=True,
        access_log=False,
        log_level="WARNING",
        background_jobs=False,
        sandbox_processing_seconds=0,
        sandbox_carrier_step_seconds=3600,
    )


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return test_settings(database_url, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    with application.state.database.sessions() as session:
        seed_category_tree(session, SystemClock(), DEFAULT_CATEGORY_TREE)
    yield application
    application.state.database.dispose()


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


class ObservingSession(Session):
    """A session for looking at the database from outside the app: unless it has
    written something of its own, each query starts a new transaction, so it sees what
    the API committed since (SQLite snapshots would otherwise show the past)."""

    def _start_fresh(self) -> None:
        untouched = not (self.new or self.dirty or self.deleted or self.info.get("flushed"))
        if self.in_transaction() and untouched:
            self.rollback()

    def execute(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._start_fresh()
        return super().execute(*args, **kwargs)

    def scalar(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._start_fresh()
        return super().scalar(*args, **kwargs)

    def scalars(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._start_fresh()
        return super().scalars(*args, **kwargs)

    def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._start_fresh()
        return super().get(*args, **kwargs)


@event.listens_for(ObservingSession, "after_flush")
def _remember_flush(session: Session, _context: object) -> None:
    session.info["flushed"] = True


@event.listens_for(ObservingSession, "after_transaction_end")
def _forget_flush(session: Session, transaction: object) -> None:
    if getattr(transaction, "parent", None) is None:
        session.info.pop("flushed", None)


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    with ObservingSession(app.state.database.engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def factory(app: FastAPI, client: TestClient) -> Factory:
    return Factory(app, client)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
