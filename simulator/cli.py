"""``mercado simulate``: synthetic shoppers and sellers drive the shop for N simulated days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from simulator.driver import DayReport, RunReport


def simulate(
    shoppers: Annotated[int, typer.Option(min=1, help="Shoppers in the population")] = 1000,
    days: Annotated[int, typer.Option(min=1, help="Simulated days")] = 30,
    seed: Annotated[int, typer.Option(help="Same seed, same simulation")] = 42,
    start: Annotated[
        date | None,
        typer.Option(
            help="First simulated day (YYYY-MM-DD). Default 2026-01-01 in-process; with "
            "--base-url the last DAYS days, so the server's collector accepts the events."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="Drive a running server over HTTP instead of an in-process app"),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(help="MERCADO_HOME to simulate into (default: the configured one)"),
    ] = None,
    sellers: Annotated[
        int | None, typer.Option(min=1, help="Sellers (default: one per 40 shoppers, at least 10)")
    ] = None,
    collect_process: Annotated[
        bool | None,
        typer.Option(
            "--collect-process/--no-collect-process",
            help="Post clickstream batches from a second process (default: for big runs)",
        ),
    ] = None,
) -> None:
    """Simulate shoppers with latent tastes and sellers with catalogues, through the real
    shop API and /collect; ground truth goes to MERCADO_HOME/sim/truth/."""
    from shop_api.core.config import get_settings
    from simulator.driver import SimulationConfig, SimulationError, Simulator

    settings = get_settings()
    if start is not None:
        first_day = start
    elif base_url:
        first_day = datetime.now(UTC).date() - timedelta(days=days)
    else:
        first_day = date(2026, 1, 1)
    config = SimulationConfig(
        shoppers=shoppers,
        days=days,
        seed=seed,
        start=first_day,
        home=home or settings.home,
        base_url=base_url,
        database_url=settings.database_url,  # MERCADO_DATABASE_URL, else shop.db in home
        sellers=sellers,
        collect_process=collect_process,
    )
    where = base_url or f"in-process shop at {config.home.expanduser().resolve()}"
    typer.echo(
        f"simulating {shoppers} shoppers for {days} days from {first_day} (seed {seed}) "
        f"against the {where}"
    )
    if base_url and days > 7:
        typer.echo(
            "note: a server's collector refuses events older than collect_max_age_days "
            "(7 by default); simulated days before that are rejected"
        )

    try:
        report = Simulator(config, progress=print_day).run()
    except SimulationError as exc:
        typer.echo(f"simulation failed: {exc}", err=True)
        raise typer.Exit(1) from None
    print_report(report)


def print_day(day: DayReport) -> None:
    """One line per simulated day (``mercado simulate`` and the demo)."""
    typer.echo(
        f"  {day.day} {day.day:%a}  sessions {day.sessions:>6,}  events {day.events:>8,}  "
        f"orders {day.orders:>5,}  | total {day.total_events:>10,} events, "
        f"{day.seconds:7.1f} s, {day.rate:8,.0f} events/s"
    )


def print_report(report: RunReport) -> None:
    """The run's totals: events, activity, catalogue, searches; where the truth went."""
    stats = report.stats
    typer.echo(
        f"done: {report.events_accepted:,} clickstream events accepted "
        f"({report.events_rejected:,} rejected) in {report.seconds:.1f} s = "
        f"{report.events_per_second:,.0f} events/s; {report.api_calls:,} API calls"
    )
    typer.echo(
        f"  sessions {stats.get('sessions', 0):,}, cart adds {stats.get('cart_adds', 0):,}, "
        f"orders paid {stats.get('orders_paid', 0):,}, declines "
        f"{stats.get('payments_declined', 0):,}, cancellations "
        f"{stats.get('cancellations', 0):,}, reviews {stats.get('reviews', 0):,}, questions "
        f"{stats.get('questions', 0):,}"
    )
    searches = stats.get("searches", 0)
    empty = stats.get("searches_without_results", 0)
    typer.echo(
        f"  listings {stats.get('listings', 0):,} in "
        f"{stats.get('categories_with_listings', 0)} categories; searches {searches:,}, "
        f"{empty:,} without results ({100 * empty / max(1, searches):.1f}%)"
    )
    typer.echo(f"  ground truth: {report.truth_dir}")
    if report.unexpected:
        typer.echo(f"  unplanned answers from the shop: {len(report.unexpected)}; first:")
        for line in report.unexpected[:5]:
            typer.echo(f"    {line}")
