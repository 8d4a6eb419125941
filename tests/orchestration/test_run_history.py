"""Run history in ``ops.*``: check results and per-asset costs read from a real Dagster
instance's event log, written once per run (idempotent by run id)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.run_history import record_runs


@dg.asset(
    key=["raw", "things"], check_specs=[dg.AssetCheckSpec("few_enough", asset=["raw", "things"])]
)
def things() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"dagster/row_count": 3, "seconds": 0.25},
        check_results=[
            dg.AssetCheckResult(
                check_name="few_enough",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "outcomes": dg.MetadataValue.json(
                        [{"success": False, "unexpected_count": 2}, {"success": True}]
                    )
                },
            )
        ],
    )


@dg.asset(key=["marts", "summary"], deps=[things])
def summary() -> None:
    pass


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute(
        "create schema raw; create table raw.things as select range as id from range(50000)"
    )
    conn.execute("checkpoint")
    yield conn
    conn.close()


def test_checks_and_costs_of_each_run_are_recorded_once(warehouse) -> None:
    with dg.instance_for_test() as instance:
        first = dg.materialize([things, summary], instance=instance).run_id
        second = dg.materialize([things], instance=instance).run_id

        assert record_runs(warehouse, instance) == (2, 2, 3)
        assert record_runs(warehouse, instance) == (0, 0, 0)  # nothing new: nothing written
        # The recording run itself is written again each time it is named (as far as it got).
        assert record_runs(warehouse, instance, current=second) == (1, 1, 1)

    runs = warehouse.execute("select run_id, status from ops.runs order by run_id").fetchall()
    assert sorted(runs) == sorted([(first, "SUCCESS"), (second, "SUCCESS")])
    checks = warehouse.execute(
        "select asset, check_name, severity, passed, failing_rows from ops.check_results "
        "where run_id = ?",
        [first],
    ).fetchall()
    assert checks == [("raw/things", "few_enough", "WARN", False, 2)]
    costs = {
        row[0]: row[1:]
        for row in warehouse.execute(
            "select asset, seconds, seconds_source, rows, bytes from ops.asset_costs "
            "where run_id = ?",
            [first],
        ).fetchall()
    }
    assert costs["raw/things"][:3] == (0.25, "asset", 3)
    assert costs["raw/things"][3] > 0  # the table's blocks in the DuckDB file
    seconds, source, rows, size = costs["marts/summary"]
    assert source == "step_share" and seconds >= 0 and rows is None
    assert size is None  # no such table in the warehouse
    assert warehouse.execute("select count(*) from ops.asset_costs").fetchall() == [(3,)]
