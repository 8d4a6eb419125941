"""``mercado audiences …``: what marketers pull (see ``audiences/README.md``). Every
command but ``refresh`` reads the published files under ``$MERCADO_HOME/published``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from shop_api.core.errors import MercadoError

audiences_app = typer.Typer(
    help="Campaign audiences: list, show, pull and approve published versions.",
    no_args_is_help=True,
)


def _root() -> Path:
    from audiences.refresh import audiences_root
    from shop_api.core.config import get_settings

    return audiences_root(get_settings().resolved_home)


def _fail(exc: Exception) -> MercadoError:
    return MercadoError(str(exc))


@audiences_app.command("list")
def list_command() -> None:
    """Each audience's released size, adds, removes and files; blocked versions named."""
    from audiences.catalogue import print_audiences

    print_audiences(_root(), typer.echo)


@audiences_app.command("show")
def show_command(name: str) -> None:
    """Who is in and why (the definition), the release and every retained version."""
    from audiences.catalogue import summary, version_history
    from audiences.publication import PublicationError

    try:
        item = summary(_root(), name)
    except PublicationError as exc:
        raise _fail(exc) from None
    history = version_history(_root(), name)
    latest = item.manifest or (history[0] if history else {})
    typer.echo(f"{name}: {latest.get('description', '')}")
    typer.echo(
        f"owner: {latest.get('owner')}  "
        f"identifiers: {', '.join(latest.get('identifier_types', []))}"
    )
    typer.echo("members are in because:\n  " + str(latest.get("rule", "")).replace("\n", "\n  "))
    typer.echo(f"released: {item.released or 'nothing yet'}  files: {item.path}")
    typer.echo("version            status     members     adds  removes  approved")
    for manifest in history:
        c = manifest["counts"]
        approved = (
            f"{manifest['approved_by']} {manifest['approved_at']}"
            if manifest["approved_by"]
            else ""
        )
        mark = "*" if manifest["version"] == item.released else " "
        typer.echo(
            f"{manifest['version']}{mark} {manifest['status']:<9} {c['members']:>8} "
            f"{c['adds']:>8} {c['removes']:>8}  {approved}"
        )
    if item.pending:
        typer.echo(f"blocked: {history[0].get('reason', '')}")


@audiences_app.command("pull")
def pull_command(
    name: str,
    version: Annotated[str | None, typer.Option(help="A version (default: the release)")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder (default: ./<name>-<version>)")] = None,
) -> None:
    """Copy a version's members.csv, adds.csv, removes.csv and manifest.json to a folder,
    ready for the ad platform's Customer Match upload."""
    from audiences.catalogue import pull
    from audiences.publication import PublicationError, read_latest

    root = _root()
    chosen = version or read_latest(root / name)
    try:
        done, folder = pull(root, name, out or Path(f"{name}-{chosen}"), chosen)
    except PublicationError as exc:
        raise _fail(exc) from None
    typer.echo(f"{name} {done} -> {folder}")


@audiences_app.command("approve")
def approve_command(
    name: str,
    by: Annotated[str | None, typer.Option(help="Who approves (default: the OS user)")] = None,
    version: Annotated[str | None, typer.Option(help="Default: the newest blocked")] = None,
) -> None:
    """Release a publication blocked by a drop of more than half its members."""
    from audiences.publication import PublicationError, approve

    try:
        manifest = approve(_root() / name, by or getpass.getuser(), version=version)
    except PublicationError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"{name} {manifest['version']} approved by {manifest['approved_by']} at "
        f"{manifest['approved_at']}: {manifest['counts']['members']} members released"
    )


@audiences_app.command("refresh")
def refresh_command() -> None:
    """Refresh and publish every audience now (in-process, recorded in the Dagster
    instance); ``mercado pipeline run`` builds the marts first."""
    raise typer.Exit(refresh_and_report())


def refresh_and_report() -> int:
    """``refresh``'s run and listing; 0 when every audience was published. Dagster's log
    goes to ``$MERCADO_HOME/logs/audiences-<time>.log``, as ``pipeline run``'s does."""
    import dagster as dg

    from audiences.catalogue import print_audiences
    from mercado_cli.pipeline import progress_and_log, stdout_console
    from orchestration.defs.audiences.assets import AUDIENCES_GROUP
    from orchestration.pipeline import run_pipeline

    console = stdout_console()
    with progress_and_log(console, log_name="audiences") as (progress, log_path):
        result = run_pipeline(
            selection=dg.AssetSelection.groups(AUDIENCES_GROUP),
            listener=progress,
            on_plan=progress.planned,
        )
    typer.echo(result.summary())
    if log_path is not None:
        typer.echo(f"  log: {log_path}")
    print_audiences(_root(), typer.echo)
    return 0 if result.success else 1
