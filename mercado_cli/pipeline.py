"""``mercado pipeline``: run the Dagster asset graph once, without a Dagster server."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

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


def run_and_report(
    *, days: list[str] | None = None, full_refresh: bool = False, verbose: bool = False
) -> int:
    """Run the pipeline, print the summary and mart figures; 0 on success.

    Dagster's and dbt's logs go to ``$MERCADO_HOME/logs/pipeline-<time>.log`` unless
    ``verbose``."""
    import contextlib
    from datetime import UTC, datetime

    from orchestration.pipeline import run_pipeline
    from orchestration.report import format_figures, mart_figures
    from orchestration.settings import PipelineSettings

    settings = PipelineSettings()
    typer.echo(f"warehouse: {settings.resolved_warehouse_path}")
    typer.echo("parsing the dbt project and running every asset (raw loads, dbt build)…")
    logs = settings.shop.resolved_home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"pipeline-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    with contextlib.ExitStack() as stack:
        if not verbose:
            out = stack.enter_context(log_path.open("w", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(out))
            stack.enter_context(contextlib.redirect_stderr(out))
        result = run_pipeline(days=days, full_refresh=full_refresh)
    typer.echo(result.summary())
    if not verbose:
        typer.echo(f"  log: {log_path}")
    if result.materialized:
        typer.echo("mart figures:")
        typer.echo(format_figures(mart_figures(settings.resolved_warehouse_path)))
    return 0 if result.success else 1
