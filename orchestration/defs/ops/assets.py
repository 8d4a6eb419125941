"""Run history as warehouse tables: ``ops.runs``, ``ops.check_results`` and
``ops.asset_costs``, from the instance's event log (``orchestration.run_history``), so
the dashboards read check status and pipeline cost like any mart."""

import dagster as dg

from dashboards.queries import mart_keys
from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.defs.resources import WarehouseResource
from orchestration.run_history import SCHEMA, record_runs

OPS_GROUP = "ops"
RUNS, CHECK_RESULTS, ASSET_COSTS = (
    dg.AssetKey([SCHEMA, name]) for name in ("runs", "check_results", "asset_costs")
)


TABLES = {
    RUNS: "One row per run recorded: job, status, times.",
    CHECK_RESULTS: "One row per check evaluation: run, asset, check, severity, passed, "
    "failing rows, time.",
    ASSET_COSTS: "One row per asset materialised per run: seconds, rows, bytes.",
}


@dg.multi_asset(
    # Downstream of the marts the dashboards read, so a run records itself once they are built.
    specs=[dg.AssetSpec(key, description=text, deps=mart_keys()) for key, text in TABLES.items()],
    name="ops_run_history",
    group_name=OPS_GROUP,
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def run_history(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Records every finished run not yet in ``ops.*``, and this run as far as it got
    (every step upstream of the marts the dashboards read); idempotent by run id."""
    with warehouse.writer() as conn:
        runs, checks, costs = record_runs(conn, context.instance, current=context.run.run_id)
    yield dg.MaterializeResult(asset_key=RUNS, metadata={"runs_recorded": runs})
    yield dg.MaterializeResult(asset_key=CHECK_RESULTS, metadata={"rows_written": checks})
    yield dg.MaterializeResult(asset_key=ASSET_COSTS, metadata={"rows_written": costs})
