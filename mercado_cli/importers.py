"""``mercado import …``: load real public datasets (see ``simulator/importers``)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shop_api.core.config import get_settings
from simulator.importers.report import ImportReport

import_app = typer.Typer(
    help="Import real datasets: Olist into the shop database, clickstreams into the lake.",
    no_args_is_help=True,
)


class Clickstream(StrEnum):
    diginetica = "diginetica"
    online_retail = "online-retail"
    movielens = "movielens"


JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON")]


def _print(report: ImportReport, as_json: bool) -> None:
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.render())


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@import_app.command("olist")
def import_olist_command(
    path: Annotated[
        Path | None, typer.Option(help="Folder of Olist CSV files (.csv or .csv.gz)")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Use the full olist_brazilian_ecommerce folder")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load the Olist marketplace (sample by default) into the shop database, idempotently."""
    from shop_api.core.db import create_db_engine
    from shop_api.core.migrations import upgrade_to_head
    from simulator.importers.datasets import DatasetMissing
    from simulator.importers.olist import import_olist

    settings = get_settings()
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        report = import_olist(engine, path, full=full)
    except (DatasetMissing, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    finally:
        engine.dispose()
    _print(report, as_json)


@import_app.command("clickstream")
def import_clickstream_command(
    dataset: Annotated[Clickstream, typer.Argument(help="Which dataset")],
    path: Annotated[
        Path | None, typer.Option(help="The dataset's file or folder (default: shared data)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Land a clickstream / interaction dataset in the lake as event v1 (idempotent)."""
    from shop_api.tracking.lake import landing_zone
    from simulator.importers.clickstream import CLICKSTREAM_IMPORTERS
    from simulator.importers.datasets import DatasetMissing

    lake = landing_zone(get_settings())
    try:
        report = CLICKSTREAM_IMPORTERS[dataset.value](lake, path)
    except (DatasetMissing, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _print(report, as_json)


@import_app.command("csv")
def import_csv_command(
    path: Annotated[Path, typer.Argument(help="CSV: user_id,item_id,timestamp[,event_name,value]")],
    dataset_name: Annotated[
        str, typer.Option(help="Name of the import; re-importing a name replaces it")
    ],
    currency: Annotated[
        str | None, typer.Option(help="Currency of the value column (default: shop default)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Land any interactions CSV in the lake as event v1 (idempotent per dataset name)."""
    from shop_api.tracking.lake import landing_zone
    from simulator.importers.generic import import_csv

    settings = get_settings()
    if not path.is_file():
        raise _fail(f"{path} is not a file")
    try:
        report = import_csv(
            landing_zone(settings),
            path,
            dataset_name=dataset_name,
            currency=(currency or settings.default_currency).upper(),
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _print(report, as_json)
