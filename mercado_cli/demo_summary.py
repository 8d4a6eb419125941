"""The demo's last page: the month in figures (GMV first), the trained model against the
baselines, and where to look next."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from rich.console import Console

from audiences.catalogue import print_audiences
from audiences.refresh import audiences_root
from mercado_cli.demo_profiles import ProfileSummary, format_profiles
from ml.artifacts import artifact_root, versions
from ml.evaluation import render_table
from orchestration.report import format_figures, mart_figures
from shop_api.core.config import Settings
from shop_api.tracking.lake import EVENTS, landing_zone

PROJECT_HOME = Path(__file__).resolve().parent.parent / "var"


def model_table(home: Path) -> tuple[str, str] | None:
    """(version, metric table) of the newest model version trained in ``home``."""
    root = artifact_root(home)
    trained = versions(root)
    if not trained:
        return None
    report = json.loads((root / trained[-1] / "metrics.json").read_text())
    return trained[-1], render_table(report)


def dev_command(home: Path) -> str:
    """``make dev`` on this demo's home (its Dagster runs live in ``home/dagster``)."""
    if home.resolve() == PROJECT_HOME.resolve():
        return "make dev"
    return f"MERCADO_HOME={shlex.quote(str(home))} make dev"


def print_summary(
    console: Console,
    settings: Settings,
    *,
    warehouse: Path,
    published: str | None,
    docs: Path | None,
    lake: tuple[int, int],
    built: bool,
    profiles: ProfileSummary | None = None,
) -> None:
    home = settings.resolved_home
    say = console.print
    if built:
        say("\n[bold]The month in figures (from the marts)[/bold]")
        console.out(format_figures(mart_figures(warehouse)), highlight=False)
        trained = model_table(home)
        if trained is not None:
            version, table = trained
            state = "published, served the last days" if version == published else "not published"
            say(
                f"\n[bold]The recommender against the baselines[/bold] (version {version}, "
                f"{state}; scored on the held-out last days, and against the simulator's "
                "ground truth in the 'true' columns)"
            )
            console.out(table, highlight=False)
    if profiles is not None:
        say("\n[bold]Customer profiles[/bold] (the profiles/customer_profiles and segments assets)")
        console.out(format_profiles(profiles), highlight=False)
    audience_files = audiences_root(home)
    if built and audience_files.exists():
        say(
            "\n[bold]Campaign audiences[/bold] (members with both ad consents; adds and removes "
            "against the previous version; files in Customer Match CSV layout)"
        )
        print_audiences(audience_files, lambda line: console.out("  " + line, highlight=False))
    events, files = lake
    dev = dev_command(home)
    docs_line = (
        f"{docs / 'index.html'}\n"
        f"                     serve: cd {shlex.quote(str(docs))} && "
        "python -m http.server 8081 --bind 127.0.0.1"
        if docs is not None
        else "make docs  (builds the docs site and prints where)"
    )
    site = home / "published" / "dashboards" / "index.html"
    dashboards = (
        f"{site} (open it in a browser: offline, one page per topic)"
        if site.exists()
        else "not built (the pipeline's dashboards/site asset did not run)"
    )
    say("\n[bold]Where to look next[/bold]")
    console.out(
        f"  dashboards         {dashboards}\n"
        f"  dbt docs           {docs_line}\n"
        f"  Dagster UI         {dev}  → http://127.0.0.1:3000 (this demo's runs, assets, "
        "checks, schedules)\n"
        f"  API docs           {dev}  → http://127.0.0.1:8000/docs (OpenAPI, try it out)\n"
        f"  warehouse (DuckDB) {warehouse} (schemas raw, staging, intermediate, marts, "
        "profiles, quality, ops)\n"
        f"  audience files     {audience_files} (mercado audiences list|show|pull NAME)\n"
        f"  recommender        {artifact_root(home)} (LATEST: {published or 'none'})\n"
        f"  clickstream lake   {landing_zone(settings).root / EVENTS} "
        f"({events:,} events in {files:,} files)\n"
        f"  simulation truth   {settings.simulation_dir / 'truth'}\n"
        f"  shop database      {settings.sqlalchemy_url}\n"
        f"  listing photos     {settings.media_dir}\n"
        f"  logs               {home / 'logs'} (Dagster and dbt), {home / 'demo-api.log'} (API)",
        highlight=False,
    )
