"""Declarative base, engine and session factory shared by the shop's models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Uuid,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Amounts in minor units are 64-bit: PostgreSQL's INTEGER has 32 bits, too few for an order
# of three items at the highest price. SQLite's INTEGER already holds 64.
MONEY = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), uuid.UUID: Uuid()}


class RecordModel(Base):
    """A row with a UUID identity and creation/modification times."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=2 * pool_size,
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        return engine
    # Recycling instead of a ping per checkout: one round trip less on every request.
    return create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size, pool_recycle=1800)


def create_async_read_engine(url: str, *, pool_size: int = 10) -> AsyncEngine | None:
    """An asyncio engine for the short reads of hot endpoints on PostgreSQL; None elsewhere.

    A sync query from an ``async`` endpoint needs a hop to a worker thread and back, and
    under load the hand-offs of the GIL between threads cost more than the query. The
    asyncio driver waits for the server in the event loop itself. SQLite needs none: its
    short reads run inline (see ``shop_api.core.unit_of_work``). Autocommit: a short
    read is one or two statements, and without BEGIN and ROLLBACK it is one round trip.

    Generic plans only: these statements are prebuilt with every value a bound parameter
    and written so that one plan serves every value (see ``shop_api.search.backends``).
    Left to choose, PostgreSQL kept planning a full-text search afresh on each call,
    because its estimate for one tsquery is sharper than for any: a search cost about a
    third more server time than with its generic plan.
    """
    return _create_async_engine(
        url,
        pool_size,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"plan_cache_mode": "force_generic_plan"}},
    )


def create_async_write_engine(url: str, *, pool_size: int = 10) -> AsyncEngine | None:
    """An asyncio engine for the units of work of hot write endpoints on PostgreSQL.

    Their transactions wait for the server and for row locks in the event loop, not in a
    worker thread: no hand-offs of the GIL between threads, which under load cost more
    than the statements. None elsewhere: the sqlite3 module blocks, so SQLite writers
    keep their worker thread (see ``shop_api.core.unit_of_work``).
    """
    return _create_async_engine(url, pool_size)


def _create_async_engine(url: str, pool_size: int, **options: Any) -> AsyncEngine | None:
    """asyncpg: its protocol is compiled and its statements prepared once per connection;
    psycopg's asyncio waiting loop cost a quarter of a checkout's CPU in Python."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return create_async_engine(
        parsed.set(drivername="postgresql+asyncpg"),
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_recycle=1800,
        **options,
    )


SQLITE_MMAP_BYTES = 1 << 30


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 32 MB of page cache per connection (the default is 2 MB): search and listing reads
    # hop around the indexes, and a page read from the OS costs a system call.
    cursor.execute("PRAGMA cache_size=-32768")
    # Pages beyond that cache are read through a memory map of the file rather than a
    # read() system call and a copy each (SQLite's own default is off).
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def _begin_sqlite_transaction(connection: Any) -> None:
    """Writers take SQLite's write lock when they begin, not at their first write.

    A deferred transaction that reads and then writes fails at once with "database is
    locked" when another writer committed in between; an immediate one waits its turn.
    """
    options = connection.get_execution_options()
    if options.get(SQLITE_STATEMENT_READS, False):
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(SQLITE_IMMEDIATE) else "BEGIN")


SQLITE_IMMEDIATE = "sqlite_immediate"
SQLITE_STATEMENT_READS = "sqlite_statement_reads"


def create_short_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read (see ``core.unit_of_work.Reads``).

    On SQLite they open no transaction: each statement reads its own snapshot (WAL), and
    a page read of one or two statements skips a BEGIN and a ROLLBACK, which cost as much
    as a listing read. Never for anything that writes.
    """
    return sessionmaker(engine.execution_options(**{SQLITE_STATEMENT_READS: True}),
                        expire_on_commit=False)  # fmt: skip


def create_session_factory(engine: Engine, *, for_writes: bool = False) -> sessionmaker[Session]:
    """Sessions for reads, or for writes (which begin immediate transactions on SQLite)."""
    bind = engine.execution_options(**{SQLITE_IMMEDIATE: True}) if for_writes else engine
    return sessionmaker(bind, expire_on_commit=False)
