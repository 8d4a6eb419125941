"""The end-of-run table of marts: each is built, stale (an older table is still there) or
missing, and a mart the run meant to build and did not names the failed check or step
upstream of it; a run that leaves a mart stale does not pass.

The fast tests read the project's real asset graph with a run outcome written by hand;
the slow one breaks a raw row so that a real dbt test fails, and runs the command."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mercado_cli.pipeline import run_and_report
from orchestration.outcome import BUILT, MISSING, STALE, FailedCheck, RunOutcome, mart_statuses
from orchestration.pipeline import load_definitions, pipeline_instance
from tests.orchestration.conftest import Home, Receiver

ORDERS_REFUND_CHECK = "expression_is_true_fct_orders_refunded_minor_total_minor"


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
def test_a_failed_dbt_test_leaves_its_marts_stale_and_the_run_fails(
    home_copy: Home,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An order refunded beyond its total (written into raw, on the oldest order, which the
    incremental shop load does not reread) passes the row rules of the quality checks (no
    negative money, known status) but fails a blocking dbt test on ``fct_orders``: `mercado
    pipeline run` exits 1, its table shows the marts built on it stale with that check as
    the reason (their old tables kept), the alert reaches the webhook, the run is in the
    home's Dagster instance, and the check's messages carry no colour codes."""
    with duckdb.connect(str(home_copy.warehouse)) as conn:
        before = conn.execute("select count(*) from marts.dim_customers").fetchall()[0][0]
        conn.execute(
            "update raw.shop_orders set refunded_minor = total_minor + 1 where id = "
            "(select id from raw.shop_orders order by modified_at limit 1)"
        )
    monkeypatch.setenv("MERCADO_ALERT_WEBHOOK_URL", receiver.url)

    code = run_and_report(days=[])  # no event days: the shop's raw tables and dbt models

    out = capsys.readouterr().out
    assert code == 1
    [row] = [line for line in out.splitlines() if "marts/dim_customers " in line]
    assert "stale" in row and ORDERS_REFUND_CHECK in out
    with home_copy.read() as conn:
        assert conn.execute("select count(*) from marts.dim_customers").fetchall()[0][0] == before
    [alert] = receiver.bodies
    assert any(ORDERS_REFUND_CHECK in check for check in alert["failed_checks"])
    assert "marts/dim_customers" in alert["blocked_assets"]
    instance = pipeline_instance()
    run = instance.get_run_by_id(alert["run_id"])
    assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
    evaluations = [
        e.dagster_event.event_specific_data
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    failed = [e for e in evaluations if ORDERS_REFUND_CHECK in e.check_name]
    assert failed and not failed[0].passed
    metadata = " ".join(str(getattr(v, "value", v)) for v in failed[0].metadata.values())
    [log] = (home_copy.path / "logs").glob("pipeline-*.log")
    assert ORDERS_REFUND_CHECK in log.read_text()
    assert "\x1b[" not in metadata and "\x1b[" not in log.read_text()
