"""``mercado quality``: the warehouse's quarantine (rows that failed a quality rule)."""

from __future__ import annotations

from typing import Annotated

import typer

quality_app = typer.Typer(
    help="Data quality: quarantined rows and their replay.", no_args_is_help=True
)


@quality_app.command("replay")
def quality_replay(
    table: Annotated[
        str | None,
        typer.Option(help="Raw table whose quarantine to replay (events, shop_orders, …)"),
    ] = None,
) -> None:
    """Re-admit quarantined rows that pass the current rules (after a fix of the rule or of
    the row); rows whose key was reloaded into raw since are dropped as superseded.
    Running it twice changes nothing."""
    from orchestration.loads.warehouse import open_writer
    from orchestration.quality import replay_quarantine
    from orchestration.settings import PipelineSettings

    path = PipelineSettings().resolved_warehouse_path
    if not path.exists():
        raise typer.BadParameter(f"no warehouse at {path}: run `mercado pipeline run` first")
    with open_writer(path) as conn:
        try:
            results = replay_quarantine(conn, table)
        except KeyError as error:
            raise typer.BadParameter(str(error.args[0])) from None
    if not results:
        typer.echo("nothing quarantined")
    for result in results:
        typer.echo(
            f"{result.table}: {result.readmitted} re-admitted, {result.superseded} superseded "
            f"by a reload, {result.still_failing} still quarantined"
        )
    if any(r.readmitted for r in results):
        typer.echo("run `mercado pipeline run` to rebuild what reads them")
