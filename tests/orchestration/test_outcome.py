"""The end-of-run table of marts: each is built, stale (an older table is still there) or
missing, and a mart the run meant to build and did not names the failed check or step
upstream of it; a run that leaves a mart stale does not pass.

The fast tests read the project's real asset graph with a run outcome written by hand;
the slow one breaks a raw row so that a real dbt test fails, and runs the pipeline."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.outcome import BUILT, MISSING, STALE, FailedCheck, RunOutcome, mart_statuses
from orchestration.pipeline import load_definitions, pipeline_instance, run_pipeline
from tests.orchestration.conftest import Home

ORDERS_STATUS_CHECK = "accepted_values_stg_raw__orders_order_status"


@pytest.fixture(scope="module")
def graph(dbt_manifest: Path):  # the AssetGraph type is not public
    return load_definitions().resolve_asset_graph()


def all_marts(graph) -> set[str]:
    return {k.to_user_string() for k in graph.materializable_asset_keys if k.path[0] == "marts"}


def test_marts_downstream_of_a_failed_blocking_check_are_stale_or_missing(graph) -> None:
    marts = all_marts(graph)
    downstream = {
        k.to_user_string()
        for k in dg.AssetSelection.assets(["staging", "stg_raw__orders"])
        .downstream()
        .resolve(graph)
    }
    outcome = RunOutcome(
        run_id="r1", job="__ASSET_JOB", planned=marts, materialized=marts - downstream,
        failed_checks=[FailedCheck("staging/stg_raw__orders", "accepted_values_x", blocking=True)],
        failed_steps={"dbt_models": "dbt build failed"},
    )  # fmt: skip

    statuses = {m.mart: m for m in mart_statuses(graph, outcome, {"marts/fct_orders"})}

    assert set(statuses) == marts
    assert statuses["marts/fct_orders"].status == STALE
    assert (
        "check staging/stg_raw__orders:accepted_values_x failed"
        in statuses["marts/fct_orders"].reason
    )
    assert statuses["marts/dim_customers"].status == MISSING
    assert statuses["marts/dim_customers"].blocked
    for mart in marts - downstream:
        assert statuses[mart].status == BUILT and not statuses[mart].blocked


def test_a_warning_does_not_make_a_mart_stale_and_unselected_marts_do_not_fail(graph) -> None:
    marts = all_marts(graph)
    outcome = RunOutcome(
        run_id="r2", job="__ASSET_JOB", planned=marts - {"marts/fct_sessions"},
        materialized=marts - {"marts/fct_sessions"},
        failed_checks=[FailedCheck("raw/shop_orders", "row_count_matches_shop", blocking=False)],
    )  # fmt: skip

    statuses = {
        m.mart: m for m in mart_statuses(graph, outcome, set(), not_run_reason="no event days")
    }

    assert statuses["marts/fct_orders"].status == BUILT
    sessions = statuses["marts/fct_sessions"]
    assert (sessions.status, sessions.reason, sessions.blocked) == (MISSING, "no event days", False)


@pytest.mark.slow
def test_a_failed_dbt_test_leaves_its_marts_stale_and_the_run_fails(home_copy: Home) -> None:
    """An order status outside the vocabulary fails a blocking dbt test on staging: the
    marts built on it keep their old tables (stale, with the check as the reason), the run
    is recorded in the home's Dagster instance, and check messages carry no colour codes."""
    with home_copy.read() as conn:
        before = conn.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    import duckdb

    with duckdb.connect(str(home_copy.warehouse)) as conn:
        conn.execute("update raw.shop_orders set status = 'teleported' where rowid = 0")
    unpartitioned_dbt = dg.AssetSelection.key_prefixes(["staging"], ["intermediate"], ["marts"])
    defs_graph = load_definitions().resolve_asset_graph()
    keys = [
        k for k in unpartitioned_dbt.resolve(defs_graph) if defs_graph.get(k).partitions_def is None
    ]

    result = run_pipeline(days=[], selection=dg.AssetSelection.assets(*keys), prepare=False)

    assert not result.ok
    statuses = {m.mart: m for m in result.marts}
    orders = statuses["marts/fct_orders"]
    assert orders.status == STALE and orders.blocked
    assert ORDERS_STATUS_CHECK in orders.reason
    assert any(ORDERS_STATUS_CHECK in name for name in result.checks_failed)
    with home_copy.read() as conn:
        assert conn.execute("select count(*) from marts.fct_orders").fetchall()[0][0] == before
    instance = pipeline_instance()
    run = instance.get_run_by_id(result.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    [evaluation] = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(
            result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
        if ORDERS_STATUS_CHECK in e.dagster_event.event_specific_data.check_name
    ]
    assert "\x1b[" not in repr(evaluation.metadata)
