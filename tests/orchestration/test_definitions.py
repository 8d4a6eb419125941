"""The code location: it loads and validates, every job resolves, keys connect raw loads
and dbt into one graph, schedules cover recent days, and the dbt argument builder passes
partition windows as inclusive dates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dbt import dbt_project
from orchestration.defs.schedules import RANGE_END, RANGE_START
from orchestration.defs.transform_incremental.assets import dbt_build_args
from orchestration.loads import shop_tables
from orchestration.pipeline import load_definitions

ROOT = dbt_project.project_dir.parent


@pytest.fixture(scope="module")
def defs(dbt_manifest: Path) -> dg.Definitions:
    return load_definitions()


@pytest.mark.slow
def test_dagster_definitions_validate(tmp_path: Path, dbt_manifest: Path) -> None:
    env = {**os.environ, "MERCADO_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m",
         "orchestration.definitions"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_every_job_resolves(defs: dg.Definitions) -> None:
    for name in ("events_partition_refresh", "quarantine_refresh", "hourly_refresh",
                 "daily_full_build"):  # fmt: skip
        assert defs.resolve_job_def(name).name == name


def test_raw_assets_are_the_dbt_sources(defs: dg.Definitions) -> None:
    """Every dbt source is a raw-load asset (one lineage graph), and every raw table a source."""
    graph = defs.resolve_asset_graph()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    sources = {("raw", s["name"]) for s in manifest["sources"].values()}
    raw_assets = {tuple(k.path) for k in graph.get_all_asset_keys() if k.path[0] == "raw"}
    assert {("raw", "events"), ("raw", "events_bad")} <= raw_assets
    assert {("raw", f"shop_{t}") for t in shop_tables()} <= raw_assets
    assert sources <= raw_assets
    for key in raw_assets:
        assert graph.get(dg.AssetKey(list(key))).is_materializable, key
    staging = [k for k in graph.get_all_asset_keys() if k.path[0] == "staging"]
    assert staging and all(graph.get(k).parent_keys for k in staging)


def test_marts_are_assets_with_dbt_tests_as_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    marts = {k.path[-1] for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert {"fct_orders", "dim_customers"} <= marts
    checks = {c.asset_key.path[-1] for c in graph.asset_check_keys}
    assert "fct_orders" in checks


def test_dashboards_read_the_marts_and_run_history_in_one_graph(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    site = graph.get(dg.AssetKey(["dashboards", "site"]))
    parents = {k.to_user_string() for k in site.parent_keys}

    assert site.group_name == "dashboards"
    assert {"marts/fct_orders", "marts/recommendation_performance", "ops/check_results",
            "ops/asset_costs"} <= parents  # fmt: skip
    for key in site.parent_keys:  # every table the pages read is an asset of the graph
        assert graph.get(key).is_materializable, key
    history = graph.get(dg.AssetKey(["ops", "asset_costs"]))
    assert history.group_name == "ops" and history.is_materializable


def test_hourly_schedule_covers_yesterday_and_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERCADO_PARTITIONS_START", "2026-01-01")
    schedule = load_definitions().resolve_schedule_def("hourly_refresh_schedule")
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 10, 5, tzinfo=UTC)
    )
    request = schedule(context)
    assert request.tags[RANGE_START] == "2026-03-01"
    assert request.tags[RANGE_END] == "2026-03-02"


def test_dbt_vars_are_the_inclusive_partition_dates() -> None:
    window = dg.TimeWindow(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 4, tzinfo=UTC))
    args = dbt_build_args(window)
    assert args[:2] == ["build", "--vars"]
    assert json.loads(args[2]) == {"min_date": "2026-01-01", "max_date": "2026-01-03"}
    assert dbt_build_args(None, full_refresh=True) == ["build", "--full-refresh"]


def test_profiles_follow_the_marts_and_the_published_model(defs: dg.Definitions) -> None:
    """Profiles read marts and the published recommender (one lineage graph); the daily
    build and `mercado pipeline run` both build them."""
    from orchestration.pipeline import PIPELINE_ASSETS

    graph = defs.resolve_asset_graph()
    profiles = dg.AssetKey(["profiles", "customer_profiles"])
    segments = dg.AssetKey(["profiles", "segments"])
    parents = graph.get(profiles).parent_keys
    assert dg.AssetKey(["ml", "published_recommender"]) in parents
    assert dg.AssetKey(["marts", "customer_rfm"]) in parents
    assert all(graph.has(key) for key in parents)
    assert graph.get(segments).parent_keys == {profiles}
    assert {graph.get(k).group_name for k in (profiles, segments)} == {"profiles"}
    daily = defs.resolve_job_def("daily_full_build")
    in_daily = daily.asset_layer.asset_graph.get_all_asset_keys()
    assert {profiles, segments} <= set(in_daily)
    assert {profiles, segments} <= PIPELINE_ASSETS.resolve(graph)


def test_the_neptune_export_is_an_asset_reading_the_two_graph_marts(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    export = graph.get(dg.AssetKey(["exports", "neptune_graph"]))
    assert export.parent_keys == {
        dg.AssetKey(["marts", "neptune_vertices"]),
        dg.AssetKey(["marts", "neptune_edges"]),
    }
    assert not any(key.path[-1] == "neptune_export" for key in graph.get_all_asset_keys())
