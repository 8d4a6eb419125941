"""``mercado demo``: migrate, start the API, play the scenario over HTTP, simulate shoppers,
build the warehouse, train and publish a recommender mid-simulation, measure it, show
what it serves, say where to look."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import typer

from mercado_cli.demo_recommendations import (
    busiest_shoppers,
    format_performance,
    performance_rows,
    show_recommendations,
)
from mercado_cli.server import running_api
from ml.artifacts import artifact_root, read_pointer, versions
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


class Phases:
    """Wall time of each chapter of the demo, printed at the end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._mark = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._mark
        self._mark = now

    def render(self) -> str:
        width = max(len(name) for name in self.seconds)
        return "\n".join(f"  {name.ljust(width)}  {s:6.1f} s" for name, s in self.seconds.items())


class StepFailed(RuntimeError):
    """A step of the demo (a pipeline or training run, a simulation) did not succeed."""


def run_cli(args: list[str], env: dict[str, str], log_path: Path | None = None) -> int:
    """A ``mercado`` command in its own process with this demo's home and database: the
    pipeline's Dagster resources read ``MERCADO_*`` from the environment. ``log_path``
    takes its stderr (Dagster's logs) instead of the terminal."""
    command = [sys.executable, "-m", "mercado_cli.main", *args]
    if log_path is None:
        return subprocess.call(command, env={**os.environ, **env})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.call(command, env={**os.environ, **env}, stderr=log)


def run_pipeline_step(env: dict[str, str], title: str, *, full_refresh: bool = False) -> None:
    typer.secho(f"\n{title}", bold=True)
    if run_cli(["pipeline", "run", *(["--full-refresh"] if full_refresh else [])], env) != 0:
        raise StepFailed("the pipeline did not succeed")


def train_step(home: Path, env: dict[str, str]) -> str | None:
    """``mercado ml train``: the recommender's Dagster assets; the published version, if
    the gate let the new one through."""
    typer.secho(
        "\nTraining the recommender on the warehouse (mercado ml train): every model and "
        "baseline on the last days held out, scored against the simulator's ground truth too",
        bold=True,
    )
    root = artifact_root(home)
    before = set(versions(root))
    log_path = home / "logs" / f"ml-train-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    code = run_cli(["ml", "train"], env, log_path)
    typer.echo(f"  log: {log_path}")
    written = [v for v in versions(root) if v not in before]
    if not written:
        raise StepFailed(f"training wrote no model version (exit code {code}; see {log_path})")
    published = read_pointer(root)
    return published if published == written[-1] else None


def run_demo(
    settings: Settings,
    *,
    port: int = 0,
    simulate_shoppers: int = 200,
    simulate_days: int = 10,
    serve_days: int = 3,
    pipeline: bool = True,
) -> int:
    """The shop's story over HTTP, then (``pipeline``) ``simulate_days`` of shoppers, the
    pipeline, a recommender trained and published at that midnight, ``serve_days`` more days
    in which it serves, the pipeline again with its performance, and two shoppers' lists."""
    started = time.monotonic()
    phases = Phases()
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
    warehouse = Path(os.environ.get("MERCADO_WAREHOUSE_PATH") or home / "warehouse.duckdb")
    published: str | None = None
    try:
        with running_api(env, port=port, log_path=log_path) as base_url:
            typer.echo(f"API started at {base_url} (log: {log_path})")
            run_scenario(base_url, say=typer.echo)
        phases.done("shop story over HTTP")
        if simulate_shoppers:
            days = simulate_days + (serve_days if pipeline else 0)

            def midnight(day: date) -> None:
                nonlocal published
                if not pipeline or day != start + timedelta(days=simulate_days):
                    return
                phases.done(f"simulation, days 1-{simulate_days}")
                run_pipeline_step(env, "Running the data pipeline: raw loads, dbt models and tests")
                phases.done("pipeline, first run")
                published = train_step(home, env)
                if published:
                    typer.echo(f"published: LATEST is now {published}")
                else:
                    typer.echo("not published: the shop keeps serving its popularity lists")
                phases.done("training and publication")
                typer.secho(
                    f"\nThe simulation goes on for {serve_days} days: the shop serves "
                    f"{published or 'no model'} from {day} on",
                    bold=True,
                )

            # The simulated days end yesterday: the warehouse's daily partitions then span
            # them and the story's today, and the holdout window (the last days before the
            # newest interaction) holds simulated days, not only the story.
            start = datetime.now(UTC).date() - timedelta(days=days)
            typer.secho(f"\nSimulating {simulate_shoppers} shoppers for {days} days", bold=True)
            simulate(home, settings, simulate_shoppers, days, start, midnight)
            phases.done(
                f"simulation, days {simulate_days + 1}-{days}"
                if pipeline
                else f"simulation, days 1-{days}"
            )
        if pipeline:
            # Every shop table reloaded: the simulated days after the first run are dated
            # before the story's rows, so loading new rows by watermark would skip them.
            run_pipeline_step(
                env,
                "Running the pipeline again: the served lists' impressions and clicks",
                full_refresh=True,
            )
            phases.done("pipeline, second run")
            typer.secho("\nRecommendation performance by model version and day", bold=True)
            typer.echo(format_performance(performance_rows(warehouse)))
            if simulate_shoppers:
                typer.secho(
                    "\nWhat the shop recommends to its two busiest shoppers "
                    "(GET /recommendations, signed in as each)",
                    bold=True,
                )
                with running_api(env, port=port, log_path=log_path) as base_url:
                    show_recommendations(base_url, busiest_shoppers(home, warehouse), published)
                phases.done("sample recommendations")
    except (DemoFailure, RuntimeError, httpx.HTTPError) as exc:
        typer.secho(f"\ndemo failed: {exc}", fg="red", err=True)
        typer.echo(f"see the API log at {log_path}", err=True)
        return 1
    events, files = lake_summary(settings)
    typer.secho(f"\nDemo finished in {time.monotonic() - started:.1f} s:", bold=True)
    typer.echo(phases.render())
    typer.echo(
        "Where to look next:\n"
        f"  shop database      {settings.sqlalchemy_url}\n"
        f"  listing photos     {settings.media_dir}\n"
        f"  clickstream lake   {settings.lake_dir / 'events'} "
        f"({events:,} events in {files:,} files)\n"
        f"  simulation truth   {settings.simulation_dir / 'truth'}\n"
        f"  warehouse (DuckDB) {warehouse} "
        "(schemas raw, staging, intermediate, marts)\n"
        f"  recommender        {artifact_root(home)} (LATEST: {published or 'none'})\n"
        "  dbt docs           make docs  (builds the docs site and prints where)\n"
        "  API and its docs   make dev   → http://127.0.0.1:8000/docs (OpenAPI, try it out)\n"
        "  Dagster UI         make dev   → http://127.0.0.1:3000 (assets, runs, schedules)"
    )
    return 0


def simulate(
    home: Path,
    settings: Settings,
    shoppers: int,
    days: int,
    start: date,
    midnight: Callable[[date], None],
) -> None:
    """``mercado simulate``'s run, in this process so ``midnight`` can train between days."""
    from simulator.cli import print_day, print_report
    from simulator.driver import SimulationConfig, SimulationError, Simulator

    config = SimulationConfig(
        shoppers=shoppers, days=days, start=start, home=home, database_url=settings.database_url
    )
    typer.echo(f"simulating {shoppers} shoppers from {start} (seed {config.seed})")
    try:
        report = Simulator(config, progress=print_day, midnight=midnight).run()
    except SimulationError as exc:
        raise StepFailed(f"the simulation did not finish: {exc}") from None
    print_report(report)
