"""``mercado pipeline run``: materialise every asset once, in dependency order.

Runs in-process as one run over the range of days present in the landing zone: Dagster
orders the steps by the asset graph, partitioned assets (raw events, incremental dbt
models) get the whole range in one step (single-run backfill policy), everything else runs
once. The run is recorded in the Dagster instance ``make dev`` opens
(``$DAGSTER_HOME``, else ``$MERCADO_HOME/dagster``), so the UI shows its runs and
materialisations; a listener sees each event as it is stored (the CLI's progress display).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from orchestration.dbt import prepare_dbt_manifest
from orchestration.instance import write_instance_config
from orchestration.loads.lake import EVENTS, lake_days
from orchestration.outcome import MartStatus, RunOutcome, existing_tables, mart_statuses
from orchestration.settings import PipelineSettings
from shop_api.tracking.lake import landing_zone

# The recommender (group "ml") trains in the daily build and with `mercado ml train`, not
# in every pipeline run: its publication gate may rightly refuse a model. Profiles (group
# "profiles") are in: they read the marts this run builds and take embeddings from
# whatever model is published (null embeddings when none is). Audiences (group
# "audiences") publish in the daily build, on their own schedules and with
# `mercado audiences refresh`: a pipeline run is not a campaign upload.
PIPELINE_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.groups("ml", "audiences")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class PipelineResult:
    """What one pipeline run did: the run's outcome, days, marts, seconds."""

    success: bool
    days: list[str]
    outcome: RunOutcome
    marts: list[MartStatus] = field(default_factory=list)
    days_outside: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def run_id(self) -> str:
        return self.outcome.run_id

    @property
    def materialized(self) -> list[str]:
        return sorted(self.outcome.materialized)

    @property
    def checks_passed(self) -> int:
        return self.outcome.checks_passed

    @property
    def checks_failed(self) -> list[str]:
        return sorted(c.name for c in self.outcome.failed_checks)

    @property
    def failed_steps(self) -> list[str]:
        return list(self.outcome.failed_steps)

    @property
    def marts_blocked(self) -> list[MartStatus]:
        return [m for m in self.marts if m.blocked]

    @property
    def ok(self) -> bool:
        """The run succeeded and left no mart stale or missing."""
        return self.success and not self.marts_blocked

    def summary(self) -> str:
        days = f"{self.days[0]}..{self.days[-1]} ({len(self.days)} days)" if self.days else "none"
        outcome = self.outcome
        lines = [
            f"pipeline {'succeeded' if self.ok else 'FAILED'} in {self.seconds:.1f} s "
            f"(run {self.run_id})",
            f"  event partitions: {days}",
        ]
        if self.days_outside:
            lines.append(
                f"  lake days outside the partitions, not loaded: {len(self.days_outside)} "
                f"({self.days_outside[0]}..{self.days_outside[-1]}; MERCADO_PARTITIONS_START)"
            )
        lines += [
            f"  assets materialised: {len(outcome.materialized)}",
            f"  checks: {outcome.checks_passed} passed, {len(outcome.failed_checks)} failed",
        ]
        for check in sorted(outcome.failed_checks, key=lambda c: c.name):
            kind = "failed check" if check.blocking else "warning"
            lines.append(f"  {kind}: {check.name}")
        lines += [f"  failed step: {s}: {m}" for s, m in outcome.failed_steps.items()]
        return "\n".join(lines)


def load_definitions() -> dg.Definitions:
    """The code location as it loads now, like a reload of the code server: the modules
    under ``orchestration.defs`` are imported afresh, so the partitions (which start at the
    lake's earliest day) follow this process's current home, not the first one it saw."""
    for name in [m for m in sys.modules if m.startswith("orchestration.defs")]:
        del sys.modules[name]
    from orchestration.definitions import defs

    return defs()


def pipeline_instance(settings: PipelineSettings | None = None) -> dg.DagsterInstance:
    """The instance ``make dev`` opens, with the project's instance settings."""
    settings = settings or PipelineSettings()
    home = settings.resolved_dagster_home
    write_instance_config(home, settings)
    return dg.DagsterInstance.from_config(str(home))


def partition_window(
    days: list[str], partitions: dg.PartitionsDefinition
) -> tuple[list[str], list[str]]:
    """(lake days that are partition keys, lake days that are not)."""
    valid = set(partitions.get_partition_keys())
    return [d for d in days if d in valid], [d for d in days if d not in valid]


def run_pipeline(
    *,
    days: list[str] | None = None,
    full_refresh: bool = False,
    instance: dg.DagsterInstance | None = None,
    selection: dg.AssetSelection | None = None,
    prepare: bool = True,
    checks: bool = True,
    quality: bool = True,
    listener: Callable[[dg.EventLogEntry], None] | None = None,
    on_plan: Callable[[list[str]], None] | None = None,
) -> PipelineResult:
    """Materialise ``selection`` (default: every asset but the recommender's and
    maintenance) for ``days`` (default: the lake's), recorded in ``instance`` (default:
    ``pipeline_instance()``).

    ``checks=False`` skips asset checks (dbt tests and quality checks included): a
    quicker rebuild; ``quality=False`` skips only the quality checks (``defs/quality``),
    so bad rows are not quarantined either. ``listener`` receives every event of the run
    as it is stored; ``on_plan`` the names of the steps the run will execute, before the
    first starts (a progress bar's total)."""
    started = time.perf_counter()
    if prepare:
        prepare_dbt_manifest()
    settings = PipelineSettings()
    settings.resolved_warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    from orchestration.defs.partitions import daily_partitions
    from orchestration.defs.policies import MAINTENANCE_GROUP

    wanted = days if days is not None else lake_days(landing_zone(settings.shop), EVENTS)
    run_days, outside = partition_window(sorted(wanted), daily_partitions)
    default = PIPELINE_ASSETS - dg.AssetSelection.groups(MAINTENANCE_GROUP)
    keys = (selection or default).resolve(graph)
    keys = {k for k in keys if graph.get(k).is_materializable}
    tags: dict[str, str] = {}
    if run_days:
        tags = {RANGE_START: run_days[0], RANGE_END: run_days[-1]}
    else:
        keys = {k for k in keys if graph.get(k).partitions_def is None}
    if not keys:  # an empty subset would mean the whole job
        raise ValueError("nothing to run: the selection has no asset for these days")
    run_config: dict[str, Any] = {}
    if full_refresh:
        run_config = {"ops": {"raw_shop_tables": {"config": {"full_refresh": True}}}}
    # Without checks: the raw loads' own checks stay (they are computed by the load
    # itself and cost nothing); dbt tests and quality checks are skipped.
    from orchestration.defs.quality.checks import QUALITY_CHECKS

    wanted_checks = {c for c in graph.asset_check_keys if c.asset_key in keys}
    if not checks:
        wanted_checks = {
            c for c in wanted_checks if c.asset_key.path[0] == "raw" and c not in QUALITY_CHECKS
        }
    elif not quality:
        wanted_checks -= QUALITY_CHECKS
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=keys, asset_check_selection=wanted_checks
    )
    if on_plan is not None:
        on_plan([node.name for node in job.nodes_in_topological_order])
    instance = instance or pipeline_instance(settings)
    run_id = str(uuid.uuid4())
    if listener is not None:
        instance.add_event_listener(run_id, listener)
    try:
        result = job.execute_in_process(
            instance=instance, tags=tags, run_config=run_config, raise_on_error=False,
            run_id=run_id,
        )  # fmt: skip
    finally:
        _close_interrupted_run(instance, run_id)
    outcome = RunOutcome.from_instance(instance, run_id)
    not_run = "no event days in the lake" if not run_days else "not selected"
    marts = mart_statuses(
        graph,
        outcome,
        existing_tables(settings.resolved_warehouse_path),
        not_run_reason=not_run,
    )
    return PipelineResult(
        success=result.success,
        days=run_days,
        outcome=outcome,
        marts=marts,
        days_outside=outside,
        seconds=round(time.perf_counter() - started, 1),
    )


def _close_interrupted_run(instance: dg.DagsterInstance, run_id: str) -> None:
    """A run stopped by Ctrl-C must not stay "started" in the UI, holding a slot of the
    warehouse pool that every later run of ``make dev`` would wait for."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        instance.report_run_canceled(run, message="interrupted")
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)
