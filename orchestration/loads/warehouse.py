"""The warehouse file, its path and the single-writer lock every writer goes through.

DuckDB lets one process write a database file at a time (a second writer fails at once
with "Could not set lock on file"). Loads, dbt and ML outputs therefore all take the same
``fcntl`` lock on ``warehouse.duckdb.lock`` beside the file before opening it; in Dagster
they also share the ``warehouse`` concurrency pool (limit 1) so runs queue instead of
blocking each other inside a step.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

RAW_SCHEMA = "raw"


def default_warehouse_path() -> Path:
    """``$MERCADO_WAREHOUSE_PATH``, else ``$MERCADO_HOME/warehouse.duckdb``."""
    from orchestration.settings import PipelineSettings

    return PipelineSettings().resolved_warehouse_path


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def writer_lock(database: Path, timeout: float = 600.0) -> Iterator[None]:
    """Hold the warehouse's exclusive writer lock (waits up to ``timeout`` seconds)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(database).open("a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"warehouse {database} stayed locked {timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def resource_settings(database: Path) -> dict[str, str | int]:
    """DuckDB memory limit, threads and spill folder: the same for loads and dbt (profile)."""
    from orchestration.settings import PipelineSettings

    settings = PipelineSettings()
    return {
        "memory_limit": settings.duckdb_memory_limit,
        "threads": settings.duckdb_threads,
        "temp_directory": str(database.with_name(database.name + ".tmp")),
    }


def configure(
    conn: duckdb.DuckDBPyConnection, database: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """UTC session time zone (TIMESTAMPTZ renders the same everywhere), the raw schema and,
    for a writer, DuckDB's resource settings (a bounded memory limit, spilling beside the
    warehouse)."""
    conn.execute("SET TimeZone = 'UTC'")
    if database is not None:
        for name, value in resource_settings(database).items():
            conn.execute(f"SET {name} = ?", [value])
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    return conn


@contextlib.contextmanager
def open_writer(database: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Lock the warehouse, open it read-write and close it again (the only way to write)."""
    path = database or default_warehouse_path()
    with writer_lock(path):
        conn = duckdb.connect(str(path))
        try:
            yield configure(conn, path)
        finally:
            conn.close()


@contextlib.contextmanager
def open_reader(database: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse read-only (many readers may coexist, but not with a writer)."""
    path = database or default_warehouse_path()
    conn = duckdb.connect(str(path), read_only=True)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        yield conn
    finally:
        conn.close()
