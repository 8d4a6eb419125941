"""``mercado demo``: migrate, start the API, play the scenario over HTTP, say where to look."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import typer

from mercado_cli.server import running_api
from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
from shop_api.catalog.service import seed_category_tree
from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.migrations import upgrade_to_head
from simulator.demo_scenario import DemoFailure, run_scenario


def prepare_database(settings: Settings) -> int:
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url, pool_size=1)
    with create_session_factory(engine)() as session:
        added = seed_category_tree(session, SystemClock(), DEFAULT_CATEGORY_TREE)
    engine.dispose()
    return added


def lake_summary(settings: Settings) -> tuple[int, int]:
    """(events, files) in the landing zone."""
    files = list((settings.lake_dir / "events").glob("dt=*/part-*.jsonl"))
    events = 0
    for path in files:
        with path.open("rb") as handle:
            events += sum(1 for line in handle if line.strip())
    return events, len(files)


def run_demo(
    settings: Settings,
    *,
    port: int = 0,
    simulate_shoppers: int = 200,
    simulate_days: int = 7,
    pipeline: bool = True,
) -> int:
    started = time.monotonic()
    home = settings.resolved_home
    typer.secho("Mercado demo", bold=True)
    typer.echo(f"home: {home}   database: {settings.sqlalchemy_url}")
    added = prepare_database(settings)
    typer.echo(f"migrated; category tree seeded ({added} new categories)")
    env = {
        "MERCADO_HOME": str(home),
        "MERCADO_ACCESS_LOG": "false",
        # The sandbox gateway settles in a blink; the demo moves parcels itself.
        "MERCADO_SANDBOX_PROCESSING_SECONDS": "0.2",
        "MERCADO_SANDBOX_CARRIER_STEP_SECONDS": "3600",
        "MERCADO_BACKGROUND_INTERVAL_SECONDS": "0.1",
    }
    if settings.database_url:
        env["MERCADO_DATABASE_URL"] = settings.database_url
    log_path = home / "demo-api.log"
    try:
        with running_api(env, port=port, log_path=log_path) as base_url:
            typer.echo(f"API started at {base_url} (log: {log_path})")
            run_scenario(base_url, say=typer.echo)
    except (DemoFailure, RuntimeError) as exc:
        typer.secho(f"\ndemo failed: {exc}", fg="red", err=True)
        typer.echo(f"see the API log at {log_path}", err=True)
        return 1
    if simulate_shoppers:
        typer.secho(
            f"\nSimulating {simulate_shoppers} shoppers for {simulate_days} days", bold=True
        )
        code = subprocess.call(
            [
                sys.executable, "-m", "mercado_cli.main", "simulate",
                "--shoppers", str(simulate_shoppers), "--days", str(simulate_days),
                "--home", str(home),
            ],
            env={**os.environ, **env},
        )  # fmt: skip
        if code != 0:
            typer.secho("demo failed: the simulation did not finish", fg="red", err=True)
            return 1
    if pipeline:
        typer.secho("\nRunning the data pipeline: raw loads, dbt models and tests", bold=True)
        # Its own process with this demo's home and database, as for the simulation: the
        # pipeline's Dagster resources read MERCADO_* from the environment.
        code = subprocess.call(
            [sys.executable, "-m", "mercado_cli.main", "pipeline", "run"],
            env={**os.environ, **env},
        )
        if code != 0:
            typer.secho("demo failed: the pipeline did not succeed", fg="red", err=True)
            return 1
    events, files = lake_summary(settings)
    warehouse = os.environ.get("MERCADO_WAREHOUSE_PATH") or home / "warehouse.duckdb"
    typer.secho(f"\nDemo finished in {time.monotonic() - started:.1f} s.", bold=True)
    typer.echo(
        "Where to look next:\n"
        f"  shop database      {settings.sqlalchemy_url}\n"
        f"  listing photos     {settings.media_dir}\n"
        f"  clickstream lake   {settings.lake_dir / 'events'} "
        f"({events:,} events in {files:,} files)\n"
        f"  simulation truth   {settings.simulation_dir / 'truth'}\n"
        f"  warehouse (DuckDB) {warehouse} "
        "(schemas raw, staging, intermediate, marts)\n"
        "  dbt docs           make docs  (builds the docs site and prints where)\n"
        "  API and its docs   make dev   → http://127.0.0.1:8000/docs (OpenAPI, try it out)\n"
        "  Dagster UI         make dev   → http://127.0.0.1:3000 (assets, runs, schedules)"
    )
    return 0
