"""Prebuilt read statements run on the asyncpg driver itself, for the hottest reads.

SQLAlchemy builds and compiles these statements. On PostgreSQL the short reads run on
asyncpg (see ``shop_api.core.unit_of_work``), and there SQLAlchemy's execution layer
(execution context, cursor adaptation, result processing) measured about 0.2 ms a call:
twice asyncpg's own round trip, and about a sixth of the server's CPU for a search page.
``fetch_rows`` hands the compiled SQL and the values straight to the driver.

The price is that values go to the driver as they are and rows come back as the driver
makes them. A statement run here takes only values asyncpg encodes itself (str, int,
float, ``uuid.UUID``, aware datetimes, None; a ``StrEnum`` member is a str), and its
readers take rows by position and accept asyncpg's values: enum columns as their string
values, asyncpg's own ``uuid.UUID`` subclass, aware datetimes in UTC.

On SQLite (``sqlite3``) a statement goes to the driver only when SQLAlchemy would convert
none of its values, in or out (text, numbers: no UUID, datetime or enum columns or
parameters), so the rows are SQLAlchemy's exactly; SQLAlchemy's execution layer measured
about as much as the statement itself for the recommendations' availability read.

Elsewhere (psycopg, a connection inside a transaction that SQLAlchemy manages on asyncpg,
or a SQLite statement with values to convert) it is ``connection.execute``: the same rows,
through SQLAlchemy; and a statement that fails on the driver is run again through
SQLAlchemy, so that its errors are SQLAlchemy's.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Select
from sqlalchemy.exc import ArgumentError
from sqlalchemy.util import await_only


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled for asyncpg: its SQL and, in ``$n`` order, its parameters
    with the values the statement itself carries (None where the caller must give one)."""

    sql: str
    names: tuple[str, ...]
    own_values: Mapping[str, Any]
    required: frozenset[str]
    plain: bool  # SQLAlchemy converts none of its values, in or out

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        missing = self.required.difference(params)
        if missing:
            raise ArgumentError(f"no value for the bound parameters {sorted(missing)}")
        return [params[name] if name in params else self.own_values[name] for name in self.names]


# Keyed by the statement itself, then the dialect: hot statements are built once and live
# as long as the app.
_compiled: weakref.WeakKeyDictionary[Select | CompoundSelect, dict[str, DriverStatement]] = (
    weakref.WeakKeyDictionary()
)


def driver_statement(statement: Select | CompoundSelect, connection: Connection) -> DriverStatement:
    dialect = connection.dialect
    by_dialect = _compiled.setdefault(statement, {})
    found = by_dialect.get(dialect.name)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in names]
        plain = all(
            bind.type.dialect_impl(dialect).bind_processor(dialect) is None for bind in binds
        ) and all(
            column.type.dialect_impl(dialect).result_processor(dialect, None) is None
            for column in statement.selected_columns
        )
        found = DriverStatement(
            sql=compiled.string,
            names=names,
            own_values=compiled.params,
            required=frozenset(name for name in names if compiled.binds[name].required),
            plain=plain,
        )
        by_dialect[dialect.name] = found
    return found


def runs_on_driver(connection: Connection) -> bool:
    """asyncpg outside any transaction (nothing SQLAlchemy tracks is bypassed), or sqlite3
    (for statements with no values to convert: see the module)."""
    return _driver_connection(connection) is not None


def _driver_connection(connection: Connection) -> Any | None:
    """The asyncpg connection under ``connection`` if statements may run on it directly
    (see ``runs_on_driver``); None otherwise, or if it is no longer connected."""
    dialect = connection.dialect
    if dialect.driver == "pysqlite":
        return connection.connection.driver_connection
    if dialect.driver != "asyncpg":
        return None
    pooled = connection.connection
    dbapi_connection = pooled.dbapi_connection
    if dbapi_connection is None or not dialect.detect_autocommit_setting(dbapi_connection):
        return None
    return pooled.driver_connection


def fetch_rows(
    connection: Connection, statement: Select | CompoundSelect, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of a prebuilt read statement, to be read by position (see the module)."""
    driver = _driver_connection(connection)
    if driver is None:
        return connection.execute(statement, params).all()
    prepared = driver_statement(statement, connection)
    on_sqlite = isinstance(driver, sqlite3.Connection)
    if on_sqlite and not prepared.plain:
        return connection.execute(statement, params).all()
    values = prepared.values(params)
    try:
        if on_sqlite:
            return driver.execute(prepared.sql, values).fetchall()
        return await_only(driver.fetch(prepared.sql, *values))
    except Exception:
        # Errors stay SQLAlchemy's business: the statement runs again through it, which
        # classifies the error (a NUL in text is a DataError: the request's fault, a 422),
        # invalidates a dead connection and raises as for any other statement. Only a
        # failing call pays twice.
        return connection.execute(statement, params).all()
