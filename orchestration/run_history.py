"""Run history in the warehouse: check results and asset costs, read from the Dagster
instance's event log and written to ``ops.*``, so dashboards read them like any mart.

Idempotent by run id: a run's rows are deleted and written again in one transaction. A
finished run is recorded once; a run still in progress (the one recording, typically) is
recorded as far as it got and recorded again, complete, by the next pass.

Costs, per run and asset: ``seconds`` is the asset's own time where its step reports one
(dbt's ``Execution Duration`` of the model, a load's ``seconds``), else the step's wall
time split evenly among the assets it materialised (``seconds_source`` says which); ``rows`` is the
``dagster/row_count`` metadata (rows in the table after a dbt model or a shop load,
rows loaded by an events load); ``bytes``
is the table's share of the DuckDB file when the run is recorded: the storage blocks its
columns occupy (``pragma_storage_info``), a block shared by several tables split evenly;
null for views and non-table assets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

SCHEMA = "ops"
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
RUNS_PER_PASS = 500  # newest finished runs considered per pass (bounds a first pass)
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.runs (
    run_id varchar primary key, job varchar, status varchar,
    started_at timestamptz, ended_at timestamptz, recorded_at timestamptz
);
create table if not exists {SCHEMA}.check_results (
    run_id varchar, job varchar, asset varchar, check_name varchar, severity varchar,
    passed boolean, failing_rows bigint, evaluated_at timestamptz, run_started_at timestamptz
);
create table if not exists {SCHEMA}.asset_costs (
    run_id varchar, job varchar, asset varchar, step_key varchar, materializations integer,
    seconds double, seconds_source varchar, rows bigint, bytes bigint,
    materialized_at timestamptz, run_started_at timestamptz
);
"""
CHECK_COLUMNS = [
    "run_id",
    "job",
    "asset",
    "check_name",
    "severity",
    "passed",
    "failing_rows",
    "evaluated_at",
    "run_started_at",
]
COST_COLUMNS = [
    "run_id",
    "job",
    "asset",
    "step_key",
    "materializations",
    "seconds",
    "seconds_source",
    "rows",
    "bytes",
    "materialized_at",
    "run_started_at",
]


def _time(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _number(metadata: dict[str, Any], key: str) -> float | None:
    value = metadata.get(key)
    value = getattr(value, "value", value)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def failing_rows(metadata: dict[str, Any]) -> int | None:
    """Rows failing a check: dbt's failed-row count, else the quality suites' failed
    outcomes' unexpected counts, else rows quarantined; None when none is reported."""
    dbt = _number(metadata, "dagster_dbt/failed_row_count")
    if dbt is not None:
        return int(dbt)
    outcomes = getattr(metadata.get("outcomes"), "value", metadata.get("outcomes"))
    if isinstance(outcomes, list):
        counts = [o.get("unexpected_count") or 0 for o in outcomes if not o.get("success", True)]
        return int(sum(counts))
    quarantined = _number(metadata, "rows_quarantined")
    return None if quarantined is None else int(quarantined)


@dataclass
class RunRecord:
    """One run's rows for ``ops.*``, read from its event log."""

    run_id: str
    job: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    checks: list[dict[str, Any]] = field(default_factory=list)
    costs: list[dict[str, Any]] = field(default_factory=list)


def read_run(instance: dg.DagsterInstance, run_id: str) -> RunRecord | None:
    records = instance.get_run_records(dg.RunsFilter(run_ids=[run_id]))
    if not records:
        return None
    record = records[0]
    run = record.dagster_run
    started = _time(record.start_time) or record.create_timestamp
    result = RunRecord(run_id, run.job_name, run.status.value, started, _time(record.end_time))
    step_start: dict[str, float] = {}
    step_seconds: dict[str, float] = {}
    materialized: dict[str, dict[str, Any]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START and event.step_key:
            step_start[event.step_key] = entry.timestamp
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            if event.step_key in step_start:
                step_seconds[event.step_key] = entry.timestamp - step_start[event.step_key]
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization  # type: ignore[union-attr]
            asset = materialization.asset_key.to_user_string()
            metadata = materialization.metadata
            seen = materialized.setdefault(
                asset,
                {
                    "step_key": event.step_key,
                    "count": 0,
                    "seconds": None,
                    "rows": None,
                    "at": entry.timestamp,
                },
            )
            seen["count"] += 1
            seen["at"] = entry.timestamp
            # A partition range is one execution: each partition's materialisation
            # carries the same metadata, so it is taken once, not summed.
            own = _number(metadata, "Execution Duration")
            own = own if own is not None else _number(metadata, "seconds")
            if own is not None and seen["seconds"] is None:
                seen["seconds"] = own
            rows = _number(metadata, "dagster/row_count")
            if rows is not None:
                seen["rows"] = max(seen["rows"] or 0, int(rows))
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            result.checks.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),  # type: ignore[union-attr]
                    "check_name": evaluation.check_name,  # type: ignore[union-attr]
                    "severity": evaluation.severity.value,  # type: ignore[union-attr]
                    "passed": bool(evaluation.passed),  # type: ignore[union-attr]
                    "failing_rows": failing_rows(evaluation.metadata),  # type: ignore[union-attr]
                    "evaluated_at": _time(entry.timestamp),
                }
            )
    per_step: dict[str, int] = defaultdict(int)
    for seen in materialized.values():
        per_step[seen["step_key"]] += 1
    for asset, seen in materialized.items():
        step = seen["step_key"]
        seconds, source = seen["seconds"], "asset"
        if seconds is None and step in step_seconds:
            seconds, source = step_seconds[step] / per_step[step], "step_share"
        result.costs.append(
            {
                "asset": asset,
                "step_key": step,
                "materializations": seen["count"],
                "seconds": seconds,
                "seconds_source": source if seconds is not None else None,
                "rows": seen["rows"],
                "bytes": None,
                "materialized_at": _time(seen["at"]),
            }
        )
    return result


def table_bytes(conn: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
    """Bytes of the DuckDB file each ``schema.table`` occupies (views and missing tables
    left out): its storage blocks, a block shared with other tables split evenly."""
    existing = {
        f"{s}.{t}"
        for s, t in conn.execute(
            "select schema_name, table_name from duckdb_tables() where not temporary"
        ).fetchall()
    }
    block_size = conn.execute("select block_size from pragma_database_size()").fetchall()[0][0]
    blocks: dict[str, set[int]] = {}
    for table in sorted(existing):
        schema, name = table.split(".", 1)
        rows = conn.execute(
            "select distinct block_id from pragma_storage_info(?) where block_id >= 0",
            [f'"{schema}"."{name}"'],
        ).fetchall()
        blocks[table] = {row[0] for row in rows}
    sharers: dict[int, int] = defaultdict(int)
    for ids in blocks.values():
        for block in ids:
            sharers[block] += 1
    return {
        table: int(sum(block_size / sharers[b] for b in blocks[table]))
        for table in tables
        if table in blocks
    }


def runs_to_record(
    conn: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, current: str | None
) -> list[str]:
    """Finished runs not yet recorded as finished (newest ``RUNS_PER_PASS``), and
    ``current``."""
    done = {
        row[0]
        for row in conn.execute(
            f"select run_id from {SCHEMA}.runs where status in ?",
            [[s.value for s in FINISHED]],
        ).fetchall()
    }
    records = instance.get_run_records(dg.RunsFilter(statuses=FINISHED), limit=RUNS_PER_PASS)
    wanted = [r.dagster_run.run_id for r in records if r.dagster_run.run_id not in done]
    if current and current not in wanted:
        wanted.append(current)
    return wanted


def record_runs(
    conn: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, current: str | None = None
) -> tuple[int, int, int]:
    """Write every run not yet recorded (and ``current``) to ``ops.*``; returns (runs,
    check rows, cost rows) written."""
    conn.execute(DDL)
    runs = [
        r for r in (read_run(instance, i) for i in runs_to_record(conn, instance, current)) if r
    ]
    if not runs:
        return 0, 0, 0
    ids = [r.run_id for r in runs]
    previous = {
        (run_id, asset): size
        for run_id, asset, size in conn.execute(
            f"select run_id, asset, bytes from {SCHEMA}.asset_costs "
            "where run_id in ? and bytes is not null",
            [ids],
        ).fetchall()
    }
    assets = sorted({c["asset"] for r in runs for c in r.costs})
    sizes = table_bytes(conn, [a.replace("/", ".", 1) for a in assets if a.count("/") == 1])
    now = datetime.now(UTC)
    checks = pd.DataFrame(
        [
            {"run_id": r.run_id, "job": r.job, **c, "run_started_at": r.started_at}
            for r in runs
            for c in r.checks
        ],
        columns=CHECK_COLUMNS,
    )
    costs = pd.DataFrame(
        [
            {
                "run_id": r.run_id,
                "job": r.job,
                **c,
                "run_started_at": r.started_at,
                "bytes": previous.get(
                    (r.run_id, c["asset"]), sizes.get(c["asset"].replace("/", ".", 1))
                ),
            }
            for r in runs
            for c in r.costs
        ],
        columns=COST_COLUMNS,
    )
    run_rows = pd.DataFrame(
        [
            {
                "run_id": r.run_id,
                "job": r.job,
                "status": r.status,
                "started_at": r.started_at,
                "ended_at": r.ended_at,
                "recorded_at": now,
            }
            for r in runs
        ]
    )
    conn.execute("begin")
    try:
        for table in ("runs", "check_results", "asset_costs"):
            conn.execute(f"delete from {SCHEMA}.{table} where run_id in ?", [ids])
        conn.register("_run_rows", run_rows)
        conn.register("_check_rows", checks)
        conn.register("_cost_rows", costs)
        conn.execute(f"insert into {SCHEMA}.runs by name select * from _run_rows")
        conn.execute(f"insert into {SCHEMA}.check_results by name select * from _check_rows")
        conn.execute(f"insert into {SCHEMA}.asset_costs by name select * from _cost_rows")
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        for name in ("_run_rows", "_check_rows", "_cost_rows"):
            conn.unregister(name)
    return len(runs), len(checks), len(costs)
