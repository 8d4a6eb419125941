"""Simulator benchmark: clickstream events/s of ``mercado simulate`` on a fresh home.

Runs the simulator in-process (the real shop app and its ``/collect``, on a scratch
``MERCADO_HOME`` that is removed afterwards unless ``--keep``) for ``--shoppers`` x
``--days`` and prints the events accepted by the collector, wall seconds, events/s, the
API calls and business facts behind them, the CPU used, and a linear extrapolation to the
10,000 shoppers x 90 days of the reference run (time scales with shoppers x days: sessions,
orders and listings all grow with the number of shoppers). It prints figures and never
asserts on them:

    .venv/bin/python bench/simulate.py                          # 2,000 shoppers x 14 days
    .venv/bin/python bench/simulate.py --shoppers 10000 --days 90 --json var/bench/sim.json
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from figures import measured, write_figures

from shop_api.core.config import get_settings
from simulator.driver import DayReport, SimulationConfig, Simulator

REFERENCE = (10_000, 90)


def cpu_seconds() -> tuple[float, float]:
    """CPU of this process and of its finished children (the collector process)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", default="2026-01-05", help="first simulated day")
    parser.add_argument(
        "--collect-process", choices=("auto", "yes", "no"), default="auto",
        help="POST /collect from a second process (auto: for big runs)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the scratch home")
    parser.add_argument("--quiet", action="store_true", help="no per-day lines")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    base = get_settings().resolved_home / "bench"
    base.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="simulate-", dir=base))
    config = SimulationConfig(
        shoppers=args.shoppers,
        days=args.days,
        seed=args.seed,
        start=date.fromisoformat(args.start),
        home=home,
        collect_process={"auto": None, "yes": True, "no": False}[args.collect_process],
    )
    load = os.getloadavg()[0]
    print(
        f"simulate: {args.shoppers:,} shoppers x {args.days} days from {args.start} "
        f"(seed {args.seed}), home {home}; collect process: "
        f"{'yes' if config.uses_collect_process else 'no'}; machine load before: {load:.2f} "
        f"on {os.cpu_count()} cores"
    )

    def progress(day: DayReport) -> None:
        if not args.quiet:
            print(
                f"  {day.day} {day.day:%a} sessions {day.sessions:>6,} events {day.events:>8,}"
                f" orders {day.orders:>5,} | {day.total_events:>10,} events {day.seconds:7.1f} s"
                f" {day.rate:7,.0f} events/s",
                flush=True,
            )

    started = time.perf_counter()
    try:
        simulator = Simulator(config, progress=progress)  # migrates the scratch database
        prepared = time.perf_counter() - started
        report = simulator.run()
        wall = time.perf_counter() - started
        own_cpu, child_cpu = cpu_seconds()
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)

    shopper_days = args.shoppers * args.days
    scale = REFERENCE[0] * REFERENCE[1] / shopper_days
    stats = report.stats
    figures = {
        "shoppers": args.shoppers,
        "days": args.days,
        "events": report.events_accepted,
        "events_rejected": report.events_rejected,
        "seconds": round(wall, 1),
        "seconds_preparing_shop": round(prepared, 1),
        "events_per_second": round(report.events_accepted / wall, 1),
        "events_per_shopper_day": round(report.events_accepted / shopper_days, 2),
        "api_calls": report.api_calls,
        "collect_batches": report.batches,
        "sessions": stats.get("sessions", 0),
        "orders_paid": stats.get("orders_paid", 0),
        "cpu_seconds_simulator": round(own_cpu, 1),
        "cpu_seconds_collector_process": round(child_cpu, 1),
        "machine_load_before": round(load, 2),
        "extrapolated_events_10000x90": round(report.events_accepted * scale),
        "extrapolated_seconds_10000x90": round(wall * scale),
    }
    print(
        f"events accepted  {report.events_accepted:>12,}  ({report.events_rejected} rejected)\n"
        f"seconds          {wall:>12,.1f}  (of which preparing the shop {prepared:.1f})\n"
        f"events/s         {figures['events_per_second']:>12,.0f}\n"
        f"per shopper-day  {figures['events_per_shopper_day']:>12,.2f} events\n"
        f"API calls        {report.api_calls:>12,}  ({report.batches:,} /collect batches)\n"
        f"sessions         {figures['sessions']:>12,}  orders paid {figures['orders_paid']:,}\n"
        f"CPU seconds      {own_cpu:>12,.1f}  simulator + shop; {child_cpu:,.1f} collector\n"
        f"10,000 x 90      {figures['extrapolated_events_10000x90']:>12,} events in about "
        f"{figures['extrapolated_seconds_10000x90'] / 60:,.0f} min (linear in shoppers x days)"
    )
    if args.json:
        scale_label = f"{args.shoppers:,} shoppers x {args.days} days"
        records = [
            measured(f"events/s, {scale_label}", figures["events_per_second"], "events/s"),
            measured(
                "10,000 shoppers x 90 days, extrapolated",
                figures["extrapolated_seconds_10000x90"] / 60, "min",
            ),
        ]  # fmt: skip
        write_figures(args.json, records, **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
