"""What a run did, read back from the Dagster instance's event log: the assets it
materialised, the checks that failed, the steps that failed, and what that left of the marts.

One reading serves ``mercado pipeline run``'s summary and the failure alerts, so both name
the same causes. Marts not materialised are "stale" when an older table is still in the
warehouse and "missing" when there is none; the reason is the failed blocking check or
failed step upstream of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from orchestration.loads.warehouse import open_reader

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

MARTS = "marts"
BUILT, STALE, MISSING = "built", "stale", "missing"


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    blocking: bool  # ERROR severity: dbt and Dagster skip what depends on it

    @property
    def name(self) -> str:
        return f"{self.asset}:{self.check}"


@dataclass
class RunOutcome:
    """The events of one run that matter to whoever reads its summary or alert."""

    run_id: str
    job: str
    planned: set[str] = field(default_factory=set)
    materialized: set[str] = field(default_factory=set)
    checks_passed: int = 0
    failed_checks: list[FailedCheck] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)  # step key -> error message

    @classmethod
    def from_instance(cls, instance: dg.DagsterInstance, run_id: str) -> RunOutcome:
        run = instance.get_run_by_id(run_id)
        outcome = cls(run_id=run_id, job=run.job_name if run else "")
        for entry in instance.all_logs(run_id):
            outcome.add(entry)
        return outcome

    def add(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            self.planned.add(event.asset_key.to_user_string())  # type: ignore[union-attr]
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self.materialized.add(event.asset_key.to_user_string())  # type: ignore[union-attr]
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if evaluation.passed:  # type: ignore[union-attr]
                self.checks_passed += 1
            else:
                self.failed_checks.append(
                    FailedCheck(
                        asset=evaluation.asset_key.to_user_string(),  # type: ignore[union-attr]
                        check=evaluation.check_name,  # type: ignore[union-attr]
                        blocking=evaluation.severity == dg.AssetCheckSeverity.ERROR,  # type: ignore[union-attr]
                    )
                )
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE and event.step_key:
            error = event.step_failure_data.error  # type: ignore[union-attr]
            while error is not None and error.cause is not None:
                error = error.cause  # the user's exception, not Dagster's wrapper
            self.failed_steps[event.step_key] = _first_line(error.message if error else "")

    @property
    def blocked(self) -> list[str]:
        """Assets the run meant to materialise and did not."""
        return sorted(self.planned - self.materialized)


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line.removeprefix("dagster._core.definitions.events.")[:300]


@dataclass(frozen=True)
class MartStatus:
    mart: str
    status: str  # built, stale or missing
    reason: str = ""
    blocked: bool = False  # left stale or missing by a failure of this run (not just unselected)


def existing_tables(database: Path) -> set[str]:
    """``schema/table`` of every table and view in the warehouse (empty without one)."""
    if not database.exists():
        return set()
    with open_reader(database) as conn:
        rows = conn.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    return {f"{schema}/{name}" for schema, name in rows}


def _step_of(graph: AssetGraph, key: dg.AssetKey) -> str:
    return graph.assets_def_for_key(key).node_def.name


def mart_statuses(
    graph: AssetGraph, outcome: RunOutcome, tables: Iterable[str], *, not_run_reason: str = ""
) -> list[MartStatus]:
    """Every mart of the asset graph, built by this run or not, and why not."""
    tables = set(tables)
    blocking = [c for c in outcome.failed_checks if c.blocking]
    statuses = []
    for key in sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string()):
        if key.path[0] != MARTS:
            continue
        name = key.to_user_string()
        if name in outcome.materialized:
            statuses.append(MartStatus(name, BUILT))
            continue
        status = STALE if name in tables else MISSING
        if name not in outcome.planned:
            statuses.append(MartStatus(name, status, not_run_reason or "not in this run"))
            continue
        upstream = {
            k.to_user_string() for k in dg.AssetSelection.assets(key).upstream().resolve(graph)
        }
        causes = [f"check {c.name} failed" for c in blocking if c.asset in upstream]
        steps = {_step_of(graph, dg.AssetKey.from_user_string(k)) for k in upstream}
        causes += [f"step {s} failed: {m}" for s, m in outcome.failed_steps.items() if s in steps]
        reason = "; ".join(causes[:3]) + (f" (+{len(causes) - 3} more)" if len(causes) > 3 else "")
        statuses.append(MartStatus(name, status, reason or "not materialised", blocked=True))
    return statuses
