"""``mercado demo``: migrate, start the API, play the scenario over HTTP, simulate a month
of shoppers with a recommender trained and published part-way, build every asset, and
print what came out and where to look."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from mercado_cli.demo_build import PIPELINE, BuildReport, cpu_seconds
from mercado_cli.demo_plan import DemoPlan
from mercado_cli.demo_profiles import ProfileSummary, summarise_profiles
from mercado_cli.demo_recommendations import (
    busiest_shoppers,
    format_performance,
    performance_by_version,
    show_recommendations,
)
from mercado_cli.demo_summary import print_summary
from mercado_cli.pipeline import stdout_console
from mercado_cli.progress import SimulationProgress
from mercado_cli.server import running_api
from ml.artifacts import artifact_root, read_pointer, versions
from orchestration.pipeline import pipeline_instance
from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
from shop_api.catalog.service import seed_category_tree
from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.migrations import upgrade_to_head
from shop_api.tracking.lake import EVENTS, landing_zone
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
    """(events, files) in the landing zone the settings name."""
    lake = landing_zone(settings)
    keys = lake.keys(EVENTS)
    return sum(len(lake.object_lines(key)) for key in keys), len(keys)


class Phases:
    """Wall and CPU seconds of each chapter of the demo, printed at the end (on a shared
    machine the CPU seconds say more than the wall clock)."""

    def __init__(self) -> None:
        self.seconds: dict[str, tuple[float, float]] = {}
        self._mark = time.monotonic()
        self._cpu = cpu_seconds()

    def done(self, name: str) -> None:
        now, cpu = time.monotonic(), cpu_seconds()
        self._add(name, now - self._mark, cpu - self._cpu)
        self._mark, self._cpu = now, cpu

    def done_in_child(self, steps: list[tuple[str, float, float]], rest: str) -> None:
        """Since the last mark: a child process's ``steps`` (name, wall, CPU) as it
        measured them, and what they leave of the time (the child's start-up) under
        ``rest``."""
        now, cpu = time.monotonic(), cpu_seconds()
        wall, used = now - self._mark, cpu - self._cpu
        for name, step_wall, step_cpu in steps:
            self._add(name, step_wall, step_cpu)
            wall, used = wall - step_wall, used - step_cpu
        self._add(rest, max(wall, 0.0), max(used, 0.0))
        self._mark, self._cpu = now, cpu

    def _add(self, name: str, wall: float, cpu: float) -> None:
        before_wall, before_cpu = self.seconds.get(name, (0.0, 0.0))
        self.seconds[name] = (before_wall + wall, before_cpu + cpu)

    def table(self) -> Table:
        table = Table(title="where the time went", title_justify="left")
        table.add_column("phase")
        table.add_column("wall s", justify="right")
        table.add_column("CPU s", justify="right")
        for name, (wall, cpu) in self.seconds.items():
            table.add_row(name, f"{wall:.1f}", f"{cpu:.1f}")
        total_wall = sum(wall for wall, _ in self.seconds.values())
        total_cpu = sum(cpu for _, cpu in self.seconds.values())
        table.add_row("total", f"{total_wall:.1f}", f"{total_cpu:.1f}", style="bold")
        return table


class StepFailed(RuntimeError):
    """A step of the demo (a pipeline or training run, a simulation) did not succeed."""


def run_cli(args: list[str], env: dict[str, str]) -> int:
    """A ``mercado`` command in its own process with this demo's home and database: the
    pipeline's Dagster resources read ``MERCADO_*`` from the environment. It shows its own
    progress and keeps Dagster's and dbt's logs in ``$MERCADO_HOME/logs``."""
    command = [sys.executable, "-m", "mercado_cli.main", *args]
    return subprocess.call(command, env={**os.environ, **env})


def train_step(console: Console, home: Path, env: dict[str, str]) -> str | None:
    """``mercado ml train --build-marts``: what training reads (raw loads and the dbt models
    upstream, without tests: the build at the end tests everything), then the
    recommender's Dagster assets; the published version, if the gate let the new one
    through."""
    console.print(
        "\n[bold]Training the recommender (mercado ml train --build-marts): the marts it "
        "reads, then every model and baseline on the last days held out, scored against the "
        "simulator's ground truth too[/bold]"
    )
    root = artifact_root(home)
    before = set(versions(root))
    code = run_cli(["ml", "train", "--build-marts"], env)
    written = [v for v in versions(root) if v not in before]
    if not written:
        raise StepFailed(f"training wrote no model version (exit code {code})")
    published = read_pointer(root)
    return published if published == written[-1] else None


def build_step(console: Console, env: dict[str, str], phases: Phases, docs: bool) -> Path | None:
    """``mercado pipeline run --full-refresh``, ``mercado audiences refresh`` and, with
    ``docs``, ``make docs``, in one child process (``mercado_cli.demo_build``); the docs
    folder when it was built."""
    console.print(
        "\n[bold]Building every asset (mercado pipeline run --full-refresh): raw loads, dbt "
        "models and tests, quality checks (the served lists' impressions and clicks too)"
        "[/bold]"
    )
    report_path = Path(env["MERCADO_HOME"]) / "demo-build.json"
    report_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "mercado_cli.demo_build", str(report_path)]
    code = subprocess.call([*command, *(["--docs"] if docs else [])], env={**os.environ, **env})
    if not report_path.exists():
        phases.done("pipeline, every asset")
        raise StepFailed(f"the build stopped before its report (exit code {code})")
    report = BuildReport.read(report_path)
    phases.done_in_child(report.steps, rest=report.steps[0][0] if report.steps else PIPELINE)
    if report.failed:
        raise StepFailed(report.failed)
    return Path(report.docs) if report.docs else None


def run_demo(
    settings: Settings,
    plan: DemoPlan | None = None,
    *,
    port: int = 0,
    console: Console | None = None,
) -> int:
    """The shop's story over HTTP, then ``plan``'s month of shoppers with a recommender
    trained, published and served part-way, every asset built at the end, and the
    summary: GMV, the model against the baselines, how the served lists did, two
    shoppers' recommendations, and where everything is."""
    plan = plan or DemoPlan()
    console = console or stdout_console()
    phases = Phases()
    home = settings.resolved_home
    console.print("[bold]Mercado demo[/bold]")
    console.print(f"home: {home}   database: {settings.sqlalchemy_url}", highlight=False)
    added = prepare_database(settings)
    console.print(f"migrated; category tree seeded ({added} new categories)")
    phases.done("migrate")
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
    docs: Path | None = None
    profiles: ProfileSummary | None = None
    try:
        with running_api(env, port=port, log_path=log_path) as base_url:
            console.print(f"API started at {base_url} (log: {log_path})", highlight=False)
            run_scenario(base_url, say=lambda line: console.out(line, highlight=False))
        phases.done("API and the shop's story over HTTP")
        if plan.shoppers:

            def train_at_midnight(day: date) -> None:
                nonlocal published
                phases.done("simulation, before the model")
                published = train_step(console, home, env)
                if published:
                    console.print(f"published: LATEST is now {published}", highlight=False)
                else:
                    console.print("not published: the shop keeps serving its popularity lists")
                phases.done("marts for training, training, publication")
                console.print(
                    f"\n[bold]The simulation goes on for {plan.serve_days} days: the shop "
                    f"serves {published or 'no model'} from {day} on[/bold]"
                )

            simulate(console, home, settings, plan, train_at_midnight)
            phases.done("simulation, model serving" if plan.training_day else "simulation")
        if plan.pipeline:
            # Every shop table reloaded: the simulated days after the first run are dated
            # before the story's rows, so loading new rows by watermark would skip them.
            docs = build_step(console, env, phases, plan.docs)
            profiles = summarise_profiles(warehouse, pipeline_instance())
            console.print("\n[bold]Recommendation lists by model version[/bold]")
            console.out(format_performance(performance_by_version(warehouse)), highlight=False)
            if plan.shoppers:
                console.print(
                    "\n[bold]What the shop recommends to its two busiest shoppers "
                    "(GET /recommendations, signed in as each)[/bold]"
                )
                with running_api(env, port=port, log_path=log_path) as base_url:
                    show_recommendations(base_url, busiest_shoppers(home, warehouse), published)
                phases.done("sample recommendations")
    except (DemoFailure, RuntimeError, httpx.HTTPError) as exc:
        console.out(f"\ndemo failed: {exc}", style="red", highlight=False)
        console.print(f"see the API log at {log_path}", highlight=False)
        phases.done("until the failure")
        console.print(phases.table())
        return 1
    events, files = lake_summary(settings)
    print_summary(
        console,
        settings,
        warehouse=warehouse,
        published=published,
        docs=docs,
        lake=(events, files),
        built=plan.pipeline,
        profiles=profiles,
    )
    console.print(phases.table())
    return 0


def simulate(
    console: Console,
    home: Path,
    settings: Settings,
    plan: DemoPlan,
    at_training_midnight: Callable[[date], None],
) -> None:
    """``mercado simulate``'s run, in this process so the model can be trained and
    published at the simulated midnight before ``plan.training_day``."""
    from simulator.cli import print_report
    from simulator.driver import SimulationConfig, SimulationError, Simulator

    assert plan.start is not None  # set by DemoPlan.__post_init__
    config = SimulationConfig(
        shoppers=plan.shoppers,
        days=plan.days,
        start=plan.start,
        home=home,
        database_url=settings.database_url,
        visit_rate=plan.visit_rate,
    )
    console.print(
        f"\n[bold]Simulating {plan.shoppers:,} shoppers for {plan.days} days[/bold] from "
        f"{plan.start} (seed {config.seed}; {plan.visit_rate} visits a day on average, "
        "through the shop's API in this process, on a simulated clock)"
    )
    progress = SimulationProgress(console, plan.days)

    def midnight(day: date) -> None:
        if day == plan.training_day:
            with progress.paused():
                at_training_midnight(day)

    try:
        with progress:
            report = Simulator(config, progress=progress, midnight=midnight).run()
    except SimulationError as exc:
        raise StepFailed(f"the simulation did not finish: {exc}") from None
    print_report(report)
