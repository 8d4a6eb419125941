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


def cpu_seconds() -> float:
    """CPU of this process and of its child processes that have ended (the API server, the
    pipeline and training runs, the simulator's collect process)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Phases:
    """Wall and CPU seconds of each chapter of the demo, printed at the end (on a shared
    machine the CPU seconds say more than the wall clock)."""

    def __init__(self) -> None:
        self.seconds: dict[str, tuple[float, float]] = {}
        self._mark = time.monotonic()
        self._cpu = cpu_seconds()

    def done(self, name: str) -> None:
        now, cpu = time.monotonic(), cpu_seconds()
        wall, used = self.seconds.get(name, (0.0, 0.0))
        self.seconds[name] = (wall + now - self._mark, used + cpu - self._cpu)
        self._mark, self._cpu = now, cpu

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


def run_pipeline_step(console: Console, env: dict[str, str], title: str, **options: bool) -> None:
    console.print(f"\n[bold]{title}[/bold]")
    flags = [f"--{name.replace('_', '-')}" for name, on in options.items() if on]
    if run_cli(["pipeline", "run", *flags], env) != 0:
        raise StepFailed("the pipeline did not succeed")


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


def audiences_step(console: Console, env: dict[str, str]) -> None:
    """``mercado audiences refresh``: every audience definition published from the marts
    and profiles just built, consent read from the shop at this moment."""
    console.print(
        "\n[bold]Publishing the campaign audiences (mercado audiences refresh): members with "
        "both ad consents, hashed for Customer Match, with adds and removes[/bold]"
    )
    if run_cli(["audiences", "refresh"], env) != 0:
        raise StepFailed("the audiences were not all published")


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
            run_pipeline_step(
                console,
                env,
                "Building every asset: raw loads, dbt models and tests, quality checks "
                "(the served lists' impressions and clicks too)",
                full_refresh=True,
            )
            phases.done("pipeline, every asset")
            profiles = summarise_profiles(warehouse, pipeline_instance())
            audiences_step(console, env)
            phases.done("audiences")
            if plan.docs:
                docs = build_docs(console, env)
                phases.done("dbt docs")
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


def build_docs(console: Console, env: dict[str, str]) -> Path | None:
    """``make docs`` (dbt docs generate against the warehouse) in a child process."""
    with console.status("[bold]Building the dbt docs site (dbt docs generate)[/bold]"):
        code = subprocess.call(
            [sys.executable, "-m", "orchestration.docs"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
        )
    folder = Path(env["MERCADO_HOME"]) / "docs" / "dbt"
    if code != 0 or not (folder / "index.html").exists():
        console.print("[yellow]dbt docs: not built (make docs shows why)[/yellow]")
        return None
    console.print(f"dbt docs built: {folder / 'index.html'}", highlight=False)
    return folder


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
