"""``mercado pipeline``: run the Dagster asset graph once, without a Dagster server."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from mercado_cli.progress import PipelineProgress

pipeline_app = typer.Typer(
    help="Warehouse pipeline: raw loads, dbt models and tests.", no_args_is_help=True
)


@pipeline_app.command("run")
def pipeline_run(
    full_refresh: Annotated[
        bool, typer.Option(help="Reload every shop table instead of new rows only")
    ] = False,
    day: Annotated[
        list[date] | None,
        typer.Option(help="Only these event days (YYYY-MM-DD; default: every day in the lake)"),
    ] = None,
    verbose: Annotated[
        bool, typer.Option(help="Show Dagster and dbt logs here instead of in a log file")
    ] = False,
) -> None:
    """Materialise every asset once in dependency order (event partitions: the lake's days)
    and print a summary with a few mart figures."""
    days = [d.isoformat() for d in day] if day else None
    code = run_and_report(days=days, full_refresh=full_refresh, verbose=verbose)
    raise typer.Exit(code)


@contextlib.contextmanager
def progress_and_log(
    console: Console, *, verbose: bool = False, log_name: str = "pipeline"
) -> Iterator[tuple[PipelineProgress, Path | None]]:
    """A run's progress on ``console`` (bound to the real stdout), and Dagster's and dbt's
    logs in ``$MERCADO_HOME/logs/<log_name>-<time>.log`` unless ``verbose`` (then here)."""
    from mercado_cli.progress import PipelineProgress
    from orchestration.settings import PipelineSettings

    logs = PipelineSettings().shop.resolved_home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = None if verbose else logs / f"{log_name}-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(PipelineProgress(console, live=not verbose))
        if log_path is not None:
            out = stack.enter_context(log_path.open("w", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(out))
        yield progress, log_path


def stdout_console() -> Console:
    """A console on the real stdout (before Dagster's and dbt's output is redirected)."""
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)


def run_and_report(
    *, days: list[str] | None = None, full_refresh: bool = False, verbose: bool = False
) -> int:
    """Run the pipeline showing each step as it goes, then the summary, every mart's status
    and a few mart figures; 0 only if the run succeeded and left no mart stale or missing.

    Dagster's and dbt's logs go to ``$MERCADO_HOME/logs/pipeline-<time>.log`` unless
    ``verbose``; a failed run is also alerted (``orchestration.alerts``)."""
    from mercado_cli.progress import mart_table
    from orchestration.alerts import Alert, send_alert
    from orchestration.pipeline import run_pipeline
    from orchestration.report import format_figures, mart_figures
    from orchestration.settings import PipelineSettings

    console = stdout_console()
    settings = PipelineSettings()
    console.print(f"warehouse: {settings.resolved_warehouse_path}")
    console.print(f"dagster instance: {settings.resolved_dagster_home} (make dev shows its runs)")
    with progress_and_log(console, verbose=verbose) as (progress, log_path):
        result = run_pipeline(
            days=days, full_refresh=full_refresh, listener=progress, on_plan=progress.planned
        )
    console.print(result.summary(), highlight=False)
    if log_path is not None:
        console.print(f"  log: {log_path}", highlight=False)
    console.print(mart_table(result.marts))
    if result.materialized:
        console.print("mart figures:")
        console.print(
            format_figures(mart_figures(settings.resolved_warehouse_path)), highlight=False
        )
    if "dashboards/site" in result.materialized:
        site = settings.shop.resolved_home / "published" / "dashboards" / "index.html"
        console.print(f"dashboards: {site}", highlight=False)
    if not result.ok:
        send_alert(
            Alert.for_run(result.outcome, source="mercado pipeline run"), settings.alert_webhook_url
        )
        blocked = len(result.marts_blocked)
        if blocked:
            console.print(f"[red]{blocked} mart(s) left stale or missing by this run[/red]")
    return 0 if result.ok else 1
