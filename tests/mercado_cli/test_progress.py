"""The demo's simulation progress: a bar of days on a terminal, one line a day elsewhere."""

from __future__ import annotations

import io
from datetime import date

from rich.console import Console

from mercado_cli.progress import SimulationProgress
from simulator.driver import DayReport


def day(n: int, sessions: int, orders: int, total: int) -> DayReport:
    return DayReport(date(2026, 11, n), sessions, sessions * 20, orders, total, float(n))


def test_on_a_terminal_the_bar_counts_days_sessions_and_orders() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with SimulationProgress(console, days=30) as progress:
        progress(day(1, 200, 1, 4_000))
        with progress.paused():
            console.print("training at midnight")
        progress(day(2, 150, 3, 7_000))

    task = progress.progress.tasks[0]
    assert (task.completed, task.total) == (2, 30)
    assert task.fields["totals"] == "350 sessions, 7,000 events, 4 orders"
    assert "training at midnight" in out.getvalue()


def test_elsewhere_each_day_is_one_line(capsys) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    with SimulationProgress(console, days=2) as progress:
        progress(day(1, 200, 1, 4_000))
        progress(day(2, 150, 3, 7_000))

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("  2026-11-01 Sun  sessions    200")
