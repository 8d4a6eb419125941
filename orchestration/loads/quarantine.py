"""Quarantine: rows of a raw table that fail a row-level rule move to
``quality.quarantine_<table>`` with the check, the run and the reasons, so dbt never reads
them and one bad row never blocks a run; ``replay`` moves back the rows that now pass.

Plain DuckDB functions (no Dagster, no GE): the rules arrive compiled to SQL
(``expectations.sql.RowRule``). Each move is one transaction. A quarantined row whose key
is back in raw (its partition or shop row was reloaded) is superseded: the raw copy is
newer and is judged afresh, so the stale copy is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from expectations.sql import RowRule, any_failing, reasons_list

SCHEMA = "quality"
META_COLUMNS = {
    "_check": "varchar",
    "_run_id": "varchar",
    "_reasons": "varchar[]",
    "_quarantined_at": "timestamptz",
}
SAMPLE_ROWS = 5


@dataclass
class QuarantineResult:
    """What one quarantine pass did to one raw table."""

    table: str
    rows_checked: int = 0
    rows_quarantined: int = 0
    superseded: int = 0
    by_check: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bad_share(self) -> float:
        return self.rows_quarantined / self.rows_checked if self.rows_checked else 0.0


@dataclass
class ReplayResult:
    table: str
    readmitted: int = 0
    superseded: int = 0
    still_failing: int = 0


def quarantine_table(table: str) -> str:
    return f"{SCHEMA}.quarantine_{table}"


def quarantine_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Raw table names that have a quarantine table."""
    rows = conn.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_name like 'quarantine_%' order by 1",
        [SCHEMA],
    ).fetchall()
    return [name.removeprefix("quarantine_") for (name,) in rows]


def _columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def ensure_quarantine(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """``quality.quarantine_<table>``: the raw table's columns (kept in step) + metadata."""
    target = quarantine_table(table)
    conn.execute(f"create schema if not exists {SCHEMA}")
    meta = ", ".join(f"cast(null as {kind}) as {name}" for name, kind in META_COLUMNS.items())
    conn.execute(
        f"create table if not exists {target} as select *, {meta} from raw.{table} limit 0"
    )
    have = _columns(conn, SCHEMA, f"quarantine_{table}")
    for name, kind in _columns(conn, "raw", table).items():
        if name not in have:
            conn.execute(f'alter table {target} add column "{name}" {kind}')
    return target


def _key_match(key: tuple[str, ...], left: str, right: str) -> str:
    return " and ".join(f'{left}."{k}" = {right}."{k}"' for k in key)


def quarantine_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    key: tuple[str, ...],
    rules: list[RowRule],
    *,
    check: str,
    run_id: str,
    where: str = "true",
    params: list[Any] | None = None,
) -> QuarantineResult:
    """Move the rows of ``raw.<table>`` (those matching ``where``) failing any rule."""
    result = QuarantineResult(table=table)
    params = params or []
    target = ensure_quarantine(conn, table)
    conn.execute("begin transaction")
    try:
        result.superseded = conn.execute(
            f"delete from {target} q where exists (select 1 from raw.{table} t "
            f"where ({where}) and {_key_match(key, 't', 'q')})",
            params,
        ).fetchall()[0][0]
        conn.execute(
            f"create or replace temp table _bad as select rowid as _rid, "
            f"{reasons_list(rules)} as _reasons from raw.{table} "
            f"where ({where}) and ({any_failing(rules)})",
            params,
        )
        result.rows_checked = conn.execute(
            f"select count(*) from raw.{table} where {where}", params
        ).fetchall()[0][0]
        result.rows_quarantined = conn.execute("select count(*) from _bad").fetchall()[0][0]
        if result.rows_quarantined:
            conn.execute(
                f"insert into {target} by name select t.*, ? as _check, ? as _run_id, "
                f"b._reasons, now() as _quarantined_at "
                f"from raw.{table} t join _bad b on t.rowid = b._rid",
                [check, run_id],
            )
            keys = ", ".join(f't."{k}"' for k in key)
            result.sample = [
                {"key": [str(value) for value in row[:-1]], "reasons": row[-1]}
                for row in conn.execute(
                    f"select {keys}, b._reasons from raw.{table} t join _bad b "
                    f"on t.rowid = b._rid order by all limit {SAMPLE_ROWS}"
                ).fetchall()
            ]
            result.by_check = {
                reason.split(":", 1)[0]: count
                for reason, count in conn.execute(
                    "select r, count(*) from (select unnest(_reasons) as r from _bad) group by r"
                ).fetchall()
            }
            conn.execute(f"delete from raw.{table} where rowid in (select _rid from _bad)")
        conn.execute("drop table _bad")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return result


def replay(
    conn: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...], rules: list[RowRule]
) -> ReplayResult:
    """Re-admit quarantined rows of ``table`` that pass ``rules`` now (after a fix of the
    rule or of the row); rows whose key is back in raw are dropped as superseded. Running
    it again changes nothing."""
    result = ReplayResult(table=table)
    target = quarantine_table(table)
    raw_columns = ", ".join(f'"{c}"' for c in _columns(conn, "raw", table))
    conn.execute("begin transaction")
    try:
        result.superseded = conn.execute(
            f"delete from {target} q where exists "
            f"(select 1 from raw.{table} t where {_key_match(key, 't', 'q')})"
        ).fetchall()[0][0]
        conn.execute(
            f"create or replace temp table _ok as select rowid as _rid from {target} "
            f"where not ({any_failing(rules)})"
        )
        result.readmitted = conn.execute(
            f"insert into raw.{table} by name select {raw_columns} from {target} "
            f"where rowid in (select _rid from _ok)"
        ).fetchall()[0][0]
        conn.execute(f"delete from {target} where rowid in (select _rid from _ok)")
        conn.execute("drop table _ok")
        result.still_failing = conn.execute(f"select count(*) from {target}").fetchall()[0][0]
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return result
