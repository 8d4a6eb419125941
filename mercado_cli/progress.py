"""Progress of the long steps: a pipeline run, step by step, from the Dagster events as
they are stored, and a simulation, day by day.

On a terminal a pipeline run is a bar of steps done over a live table (step, state,
assets, checks, seconds) and a simulation a bar of days; elsewhere (a pipe, a log file,
or with Dagster's own logs on screen) one line as each step starts and ends or each day
ends, so a long run never sits silent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from orchestration.outcome import BUILT, MISSING, STALE, MartStatus

if TYPE_CHECKING:
    from simulator.driver import DayReport

STYLE = {"running": "cyan", "done": "green", "failed": "red", "retrying": "yellow"}


@dataclass
class StepState:
    state: str = "running"
    started: float = 0.0
    seconds: float = 0.0
    assets: int = 0
    checks_passed: int = 0
    checks_failed: int = 0

    def describe(self) -> str:
        checks = f"{self.checks_passed} checks passed" if self.checks_passed else ""
        if self.checks_failed:
            checks = (
                f"{checks}, {self.checks_failed} FAILED"
                if checks
                else f"{self.checks_failed} checks FAILED"
            )
        return ", ".join(p for p in (f"{self.assets} materialised", checks) if p)


class PipelineProgress:
    """Listener for ``run_pipeline``: keeps the state of each step and shows it."""

    def __init__(self, console: Console, *, live: bool = True) -> None:
        self.console = console
        self.use_live = live and console.is_terminal
        self.steps: dict[str, StepState] = {}
        self.phase = "parsing the dbt project, loading the definitions"
        self.live: Live | None = None
        self.total: int | None = None  # steps in the run, once planned

    def planned(self, steps: list[str]) -> None:
        """``run_pipeline``'s ``on_plan``: the steps the run will execute."""
        self.total = len(steps)
        self._say(f"{self.total} steps planned")

    def __enter__(self) -> PipelineProgress:
        if self.use_live:
            self.live = Live(
                self, console=self.console, refresh_per_second=4,
                redirect_stdout=False, redirect_stderr=False,
            )  # fmt: skip
            self.live.start()
        else:
            self.console.print(f"… {self.phase}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.RUN_START:
            self._say("running the steps")
            return
        key = event.step_key
        if key is None:
            return
        step = self.steps.setdefault(key, StepState(started=time.monotonic()))
        if kind == dg.DagsterEventType.STEP_START:
            step.state, step.started = "running", time.monotonic()
            self._say(f"{key} started")
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            step.assets += 1
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            if event.event_specific_data.passed:  # type: ignore[union-attr]
                step.checks_passed += 1
            else:
                step.checks_failed += 1
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            step.state = "retrying"
            self._say(f"{key} will be retried")
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            step.state = "done" if kind == dg.DagsterEventType.STEP_SUCCESS else "failed"
            step.seconds = time.monotonic() - step.started
            mark = "✓" if step.state == "done" else "✗"
            progress = f"[{self.finished}/{self.total}] " if self.total else ""
            self._say(f"{progress}{mark} {key}: {step.describe()} ({step.seconds:.1f} s)")

    @property
    def finished(self) -> int:
        return sum(step.state in ("done", "failed") for step in self.steps.values())

    def _say(self, phase: str) -> None:
        self.phase = phase
        if self.live is None:
            self.console.print(phase)

    def __rich__(self) -> RenderableType:
        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("step", "state", "progress", "seconds"):
            table.add_column(column, justify="right" if column == "seconds" else "left")
        now = time.monotonic()
        for key, step in self.steps.items():
            seconds = step.seconds if step.state in ("done", "failed") else now - step.started
            table.add_row(
                key, Text(step.state, style=STYLE.get(step.state, "")), step.describe(),
                f"{seconds:.0f}",
            )  # fmt: skip
        parts: list[RenderableType] = []
        if self.total:
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                "steps", ProgressBar(total=self.total, completed=self.finished, width=40),
                f"{self.finished}/{self.total}",
            )  # fmt: skip
            parts.append(bar)
        return Group(*parts, table, Spinner("dots", text=self.phase))


MART_STYLE = {BUILT: "green", STALE: "yellow", MISSING: "red"}


def mart_table(marts: list[MartStatus]) -> Table:
    """Every mart: built, stale or missing, and why."""
    table = Table(title="marts", title_justify="left", show_lines=False)
    table.add_column("mart", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("why")
    for mart in marts:
        table.add_row(mart.mart, Text(mart.status, style=MART_STYLE[mart.status]), mart.reason)
    return table


class SimulationProgress:
    """``Simulator``'s ``progress``: a bar of simulated days with the sessions, events and
    paid orders so far; one line per day (``simulator.cli.print_day``) when the output is
    not a terminal. ``paused()`` hides the bar while something else prints (the demo's
    pipeline and training at a simulated midnight)."""

    def __init__(self, console: Console, days: int, *, done: int = 0) -> None:
        self.console = console
        self.sessions = self.orders = self.events = 0
        self.progress: Progress | None = None
        if console.is_terminal:
            self.progress = Progress(
                TextColumn("[bold]simulating[/bold] {task.description}"),
                BarColumn(bar_width=30),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[totals]}"),
                TimeElapsedColumn(),
                console=console,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.task = self.progress.add_task(
                "days", total=days, completed=done, totals=self._totals()
            )

    def _totals(self) -> str:
        return f"{self.sessions:,} sessions, {self.events:,} events, {self.orders:,} orders"

    def __enter__(self) -> SimulationProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, day: DayReport) -> None:
        self.sessions += day.sessions
        self.orders += day.orders
        self.events = day.total_events
        if self.progress is None:
            from simulator.cli import print_day

            print_day(day)
            return
        self.progress.update(
            self.task, advance=1, description=f"{day.day} {day.day:%a}", totals=self._totals()
        )

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        if self.progress is None:
            yield
            return
        self.progress.stop()
        try:
            yield
        finally:
            self.progress.start()
