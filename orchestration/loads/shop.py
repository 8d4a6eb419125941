"""Shop OLTP tables → ``raw.shop_<table>``: incremental by watermark, deletions propagated.

Reads go through SQLAlchemy Core with the shop's own metadata, so the same code reads
SQLite and PostgreSQL (DuckDB's sqlite/postgres scanners would need an extension
download). Rows land through pyarrow tables (one bulk insert per batch). UUIDs become
canonical lowercase dashed text, the form the clickstream carries, so marts can join
them; ``users.password_hash`` never leaves the shop. ``users.email`` and ``users.phone``
also arrive as ``email_sha256`` and ``phone_sha256``, hashed here by the one Customer
Match normaliser (``audiences.identifiers``); the raw phone itself is not copied.
"""

from __future__ import annotations

import enum
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Engine, Table, select, types

from audiences.identifiers import hashed_email, hashed_phone
from orchestration.loads.erasure import scrub_erased_users
from orchestration.loads.stats import LoadStats

# Provider-internal (sandbox gateway/carrier) and transport tables are not shop data;
# nor are credentials (the e-mail outbox holds reset links until they are sent) or the
# login throttle's counters.
EXCLUDED_PREFIXES = ("sandbox_",)
EXCLUDED_TABLES = frozenset(
    {
        "event_outbox",
        "alembic_version",
        "outbound_messages",
        "password_reset_tokens",
        "login_throttle",
    }
)
EXCLUDED_COLUMNS = {"users": frozenset({"password_hash", "phone"})}


@dataclass(frozen=True)
class DerivedColumn:
    """A column computed in Python from a source column as each row is loaded (VARCHAR);
    null for an erased account, whatever its source holds."""

    name: str
    source: str
    compute: Callable[[Any], str | None]


DERIVED_COLUMNS = {
    "users": (
        DerivedColumn("email_sha256", "email", hashed_email),
        DerivedColumn("phone_sha256", "phone", hashed_phone),
    )
}
# Append-only timestamps used as the watermark when a table has no ``modified_at``.
WATERMARK_CANDIDATES = (
    "modified_at",
    "changed_at",
    "occurred_at",
    "recorded_at",
    "received_at",
    "requested_at",
)
# Rows committed out of timestamp order (concurrent transactions) are caught by re-reading
# this much before the last watermark; the upsert makes re-reading harmless.
WATERMARK_LOOKBACK = timedelta(hours=1)
BATCH_ROWS = 50_000
# Loading these tables may reveal new erasures: sweep every raw table afterwards.
ERASURE_TABLES = frozenset({"users", "erasure_records"})


@dataclass(frozen=True)
class ShopTable:
    """How one OLTP table is loaded: columns, key and watermark."""

    name: str
    table: Table
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    watermark: str | None
    derived: tuple[DerivedColumn, ...] = ()

    @property
    def read_columns(self) -> tuple[str, ...]:
        """What is read from the OLTP table: the copied columns, then derived sources."""
        extra = [d.source for d in self.derived if d.source not in self.columns]
        return self.columns + tuple(dict.fromkeys(extra))

    @property
    def raw_name(self) -> str:
        return f"shop_{self.name}"

    @property
    def qualified(self) -> str:
        return f"raw.shop_{self.name}"


def shop_metadata() -> Any:
    """The shop's SQLAlchemy metadata with every model registered."""
    import shop_api.models  # noqa: F401  (registers the tables)
    from shop_api.core.db import Base

    return Base.metadata


def shop_tables() -> dict[str, ShopTable]:
    """Every OLTP table that belongs in the warehouse, by OLTP name (dependency order)."""
    tables: dict[str, ShopTable] = {}
    for table in shop_metadata().sorted_tables:
        if table.name in EXCLUDED_TABLES or table.name.startswith(EXCLUDED_PREFIXES):
            continue
        hidden = EXCLUDED_COLUMNS.get(table.name, frozenset())
        columns = tuple(c.name for c in table.columns if c.name not in hidden)
        watermark = next((c for c in WATERMARK_CANDIDATES if c in columns), None)
        tables[table.name] = ShopTable(
            name=table.name,
            table=table,
            columns=columns,
            primary_key=tuple(c.name for c in table.primary_key.columns),
            watermark=watermark,
            derived=DERIVED_COLUMNS.get(table.name, ()),
        )
    return tables


def _kind(column_type: types.TypeEngine[Any]) -> tuple[str, pa.DataType]:
    """DuckDB and Arrow types for a SQLAlchemy column type."""
    if isinstance(column_type, types.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, types.Uuid):
        return "varchar", pa.string()
    if isinstance(column_type, types.DateTime):
        if column_type.timezone:
            return "timestamptz", pa.timestamp("us", tz="UTC")
        return "timestamp", pa.timestamp("us")
    if isinstance(column_type, types.Date):
        return "date", pa.date32()
    if isinstance(column_type, types.Boolean):
        return "boolean", pa.bool_()
    if isinstance(column_type, types.BigInteger):
        return "bigint", pa.int64()
    if isinstance(column_type, types.Integer):
        return "bigint", pa.int64()
    if isinstance(column_type, types.Float):
        return "double", pa.float64()
    if isinstance(column_type, types.Numeric):
        return "double", pa.float64()
    if isinstance(column_type, types.JSON):
        return "json", pa.string()
    if isinstance(column_type, types.LargeBinary):
        return "blob", pa.binary()
    return "varchar", pa.string()


def _convert(value: Any) -> Any:
    """One OLTP value as Arrow takes it: UUIDs dashed lowercase, enums by value, JSON text."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def _uuid_text(value: Any) -> str | None:
    """Canonical dashed lowercase UUID text, whatever the backend stored."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(uuid.UUID(str(value)))


def _schema(spec: ShopTable) -> list[tuple[str, str, pa.DataType]]:
    copied = [(name, *_kind(spec.table.c[name].type)) for name in spec.columns]
    return copied + [(d.name, "varchar", pa.string()) for d in spec.derived]


def _ensure_table(conn: duckdb.DuckDBPyConnection, spec: ShopTable) -> None:
    """Create ``raw.shop_<table>``, or add columns the OLTP table gained since."""
    conn.execute("create schema if not exists raw")
    schema = _schema(spec)
    cols = ", ".join(f'"{name}" {kind}' for name, kind, _ in schema)
    conn.execute(f"create table if not exists {spec.qualified} ({cols}, _loaded_at timestamptz)")
    existing = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ?",
            [spec.raw_name],
        ).fetchall()
    }
    for name, kind, _ in schema:
        if name not in existing:
            conn.execute(f'alter table {spec.qualified} add column "{name}" {kind}')


def _arrow_batch(spec: ShopTable, rows: list[Any]) -> pa.Table:
    arrays = []
    fields = []
    read = {name: index for index, name in enumerate(spec.read_columns)}
    for name, kind, arrow_type in _schema(spec):
        if name not in read:  # derived
            arrays.append(pa.array(_derived_values(spec, name, read, rows), type=arrow_type))
            fields.append(pa.field(name, arrow_type))
            continue
        index = read[name]
        column_type = spec.table.c[name].type
        if isinstance(column_type, types.TypeDecorator):
            column_type = column_type.impl_instance
        if kind == "json":
            values = [_json_text(row[index]) for row in rows]
        elif isinstance(column_type, types.Uuid):
            values = [_uuid_text(row[index]) for row in rows]
        else:
            values = [_convert(row[index]) for row in rows]
        arrays.append(pa.array(values, type=arrow_type))
        fields.append(pa.field(name, arrow_type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _derived_values(
    spec: ShopTable, name: str, read: dict[str, int], rows: list[Any]
) -> list[str | None]:
    derived = next(d for d in spec.derived if d.name == name)
    source = read[derived.source]
    erased = read.get("erased_at")
    return [
        None if erased is not None and row[erased] is not None else derived.compute(row[source])
        for row in rows
    ]


def _insert_sql(spec: ShopTable, view: str) -> str:
    columns = ", ".join(f'"{name}"' for name, _, _ in _schema(spec))
    casts = ", ".join(f'cast("{name}" as {kind})' for name, kind, _ in _schema(spec))
    return f"insert into {spec.qualified} ({columns}, _loaded_at) select {casts}, now() from {view}"


def _key_match(spec: ShopTable, left: str, right: str) -> str:
    return " and ".join(f'{left}."{k}" = {right}."{k}"' for k in spec.primary_key)


def _batches(engine: Engine, statement: Any) -> Iterable[list[Any]]:
    with engine.connect() as source:
        result = source.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
            statement
        )
        for partition in result.partitions(BATCH_ROWS):
            yield list(partition)


def _current_watermark(conn: duckdb.DuckDBPyConnection, spec: ShopTable) -> datetime | None:
    if spec.watermark is None:
        return None
    return conn.execute(f'select max("{spec.watermark}") from {spec.qualified}').fetchall()[0][0]


def load_shop_table(
    conn: duckdb.DuckDBPyConnection,
    shop_engine: Engine,
    table: str,
    full_refresh: bool = False,
) -> LoadStats:
    """Bring ``raw.shop_<table>`` up to date with the OLTP table, in one transaction.

    Incremental: rows whose watermark column is at or after (last watermark minus lookback)
    replace their copies by primary key; then rows whose key is gone from the OLTP table
    are deleted. Tables without a watermark, and ``full_refresh``, replace everything.
    """
    started = time.perf_counter()
    spec = shop_tables()[table]
    _ensure_table(conn, spec)
    source_columns = [spec.table.c[name] for name in spec.read_columns]
    incremental = spec.watermark is not None and not full_refresh
    since = _current_watermark(conn, spec) if incremental else None
    statement = select(*source_columns)
    if since is not None:
        statement = statement.where(spec.table.c[spec.watermark] >= since - WATERMARK_LOOKBACK)
    mode = "incremental" if incremental and since is not None else "full"

    loaded = deleted = 0
    conn.execute("begin transaction")
    try:
        if mode == "full":
            deleted = conn.execute(f"delete from {spec.qualified}").fetchall()[0][0]
        for rows in _batches(shop_engine, statement):
            batch = _arrow_batch(spec, rows)
            conn.register("_shop_batch", batch)
            try:
                if mode == "incremental":
                    conn.execute(
                        f"delete from {spec.qualified} t using _shop_batch b "
                        f"where {_key_match(spec, 't', 'b')}"
                    )
                conn.execute(_insert_sql(spec, "_shop_batch"))
            finally:
                conn.unregister("_shop_batch")
            loaded += batch.num_rows
        if mode == "incremental":
            deleted = _propagate_deletions(conn, shop_engine, spec)
        scrubbed = scrub_erased_users(conn) if table in ERASURE_TABLES else {}
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    watermark = _current_watermark(conn, spec)
    return LoadStats(
        table=spec.qualified,
        rows_loaded=loaded,
        rows_deleted=deleted,
        rows_in_table=conn.execute(f"select count(*) from {spec.qualified}").fetchall()[0][0],
        seconds=round(time.perf_counter() - started, 3),
        mode=mode,
        extra={"erasure_scrubbed_rows": sum(scrubbed.values())} if scrubbed else {},
        watermark=watermark.isoformat() if isinstance(watermark, datetime | date) else None,
    )


def _propagate_deletions(
    conn: duckdb.DuckDBPyConnection, shop_engine: Engine, spec: ShopTable
) -> int:
    """Delete raw rows whose primary key no longer exists in the OLTP table."""
    key_columns = [spec.table.c[k] for k in spec.primary_key]
    fields = [pa.field(k, _kind(spec.table.c[k].type)[1]) for k in spec.primary_key]
    keys: list[list[Any]] = [[] for _ in key_columns]
    for rows in _batches(shop_engine, select(*key_columns)):
        for index, key in enumerate(key_columns):
            is_uuid = isinstance(key.type, types.Uuid)
            keys[index].extend(
                _uuid_text(row[index]) if is_uuid else _convert(row[index]) for row in rows
            )
    present = pa.Table.from_arrays(
        [pa.array(values, type=f.type) for values, f in zip(keys, fields, strict=True)],
        schema=pa.schema(fields),
    )
    conn.register("_shop_keys", present)
    try:
        return conn.execute(
            f"delete from {spec.qualified} t where not exists "
            f"(select 1 from _shop_keys k where {_key_match(spec, 't', 'k')})"
        ).fetchall()[0][0]
    finally:
        conn.unregister("_shop_keys")


def load_all_shop_tables(
    conn: duckdb.DuckDBPyConnection, shop_engine: Engine, full_refresh: bool = False
) -> list[LoadStats]:
    return [load_shop_table(conn, shop_engine, name, full_refresh) for name in shop_tables()]


def source_row_count(shop_engine: Engine, table: str) -> int:
    """Rows in the OLTP table now (for the reconciliation check after a load)."""
    from sqlalchemy import func

    spec = shop_tables()[table]
    with shop_engine.connect() as source:
        return int(source.execute(select(func.count()).select_from(spec.table)).scalar_one())
