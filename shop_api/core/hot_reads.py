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
values, asyncpg's own ``uuid.UUID`` subclass, aware datetimes in UTC. Elsewhere (SQLite,
psycopg, or a connection inside a transaction that SQLAlchemy manages) it is
``connection.execute``: the same rows, through SQLAlchemy; and a statement that fails on
the driver is run again through SQLAlchemy, so that its errors are SQLAlchemy's.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
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

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        missing = self.required.difference(params)
        if missing:
            raise ArgumentError(f"no value for the bound parameters {sorted(missing)}")
        return [params[name] if name in params else self.own_values[name] for name in self.names]


# Keyed by the statement itself: hot statements are built once and live as long as the app.
_compiled: weakref.WeakKeyDictionary[Select, DriverStatement] = weakref.WeakKeyDictionary()


def driver_statement(statement: Select, connection: Connection) -> DriverStatement:
    found = _compiled.get(statement)
    if found is None:
        compiled = statement.compile(dialect=connection.dialect)
        names = tuple(compiled.positiontup or ())
        found = DriverStatement(
            sql=compiled.string,
            names=names,
            own_values=compiled.params,
            required=frozenset(name for name in names if compiled.binds[name].required),
        )
        _compiled[statement] = found
    return found


def runs_on_driver(connection: Connection) -> bool:
    """asyncpg, outside any transaction: nothing SQLAlchemy tracks is bypassed."""
    return _driver_connection(connection) is not None


def _driver_connection(connection: Connection) -> Any | None:
    """The asyncpg connection under ``connection`` if statements may run on it directly
    (see ``runs_on_driver``); None otherwise, or if it is no longer connected."""
    dialect = connection.dialect
    if dialect.driver != "asyncpg":
        return None
    pooled = connection.connection
    dbapi_connection = pooled.dbapi_connection
    if dbapi_connection is None or not dialect.detect_autocommit_setting(dbapi_connection):
        return None
    return pooled.driver_connection


def fetch_rows(
    connection: Connection, statement: Select, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Every row of a prebuilt read statement, to be read by position (see the module)."""
    driver = _driver_connection(connection)
    if driver is None:
        return connection.execute(statement, params).all()
    prepared = driver_statement(statement, connection)
    values = prepared.values(params)
    try:
        return await_only(driver.fetch(prepared.sql, *values))
    except Exception:
        # Errors stay SQLAlchemy's business: the statement runs again through it, which
        # classifies the error (a NUL in text is a DataError: the request's fault, a 422),
        # invalidates a dead connection and raises as for any other statement. Only a
        # failing call pays twice.
        return connection.execute(statement, params).all()
