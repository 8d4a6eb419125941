"""``mercado pipeline run``: materialise every asset once, in dependency order.

Runs in-process on the given (or an ephemeral) Dagster instance, as one run over the
range of days present in the landing zone: Dagster orders the steps by the asset graph,
partitioned assets (raw events, incremental dbt models) get the whole range in one step
(single-run backfill policy), everything else runs once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.dbt import prepare_dbt_manifest
from orchestration.loads.lake import EVENTS, lake_days
from orchestration.settings import PipelineSettings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


@dataclass
class PipelineResult:
    """What one pipeline run did: success, days, assets and checks, failures, seconds."""

    success: bool
    days: list[str]
    materialized: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    seconds: float = 0.0
    run_id: str | None = None
    # Dagster's AssetCheckEvaluation of every check run (passed, severity, metadata).
    check_evaluations: list[Any] = field(default_factory=list)

    def summary(self) -> str:
        days = f"{self.days[0]}..{self.days[-1]} ({len(self.days)} days)" if self.days else "none"
        lines = [
            f"pipeline {'succeeded' if self.success else 'FAILED'} in {self.seconds:.1f} s",
            f"  event partitions: {days}",
            f"  assets materialised: {len(self.materialized)}",
            f"  checks: {self.checks_passed} passed, {len(self.checks_failed)} failed",
        ]
        lines += [f"  failed check: {name}" for name in self.checks_failed]
        lines += [f"  failed step: {name}" for name in self.failed_steps]
        return "\n".join(lines)


def load_definitions() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs()


def partition_window(days: list[str], partitions: dg.PartitionsDefinition) -> list[str]:
    """Days of the lake that are valid partition keys (older ones are reported, not run)."""
    valid = set(partitions.get_partition_keys())
    return [day for day in days if day in valid]


def run_pipeline(
    *,
    days: list[str] | None = None,
    full_refresh: bool = False,
    instance: dg.DagsterInstance | None = None,
    selection: dg.AssetSelection | None = None,
    prepare: bool = True,
    checks: bool = True,
    quality: bool = True,
) -> PipelineResult:
    """Materialise ``selection`` (default: every asset) for ``days`` (default: the lake's).

    ``checks=False`` skips asset checks (dbt tests and quality checks included): a quicker
    rebuild; ``quality=False`` skips only the quality checks (``defs/quality``), so bad
    rows are not quarantined either."""
    started = time.perf_counter()
    if prepare:
        prepare_dbt_manifest()
    settings = PipelineSettings()
    settings.resolved_warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    from orchestration.defs.partitions import daily_partitions

    wanted = days if days is not None else lake_days(Path(settings.lake_dir), EVENTS)
    run_days = partition_window(sorted(wanted), daily_partitions)
    keys = (selection or dg.AssetSelection.all()).resolve(graph)
    keys = {k for k in keys if graph.get(k).is_materializable}
    tags: dict[str, str] = {}
    if run_days:
        tags = {RANGE_START: run_days[0], RANGE_END: run_days[-1]}
    else:
        keys = {k for k in keys if graph.get(k).partitions_def is None}
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
    result = job.execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags=tags,
        run_config=run_config,
        raise_on_error=False,
    )
    return _summarise(result, run_days, time.perf_counter() - started)


def _summarise(result: Any, days: list[str], seconds: float) -> PipelineResult:
    materialized = sorted(
        {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    )
    passed = 0
    failed: list[str] = []
    for event in result.get_asset_check_evaluations():
        if event.passed:
            passed += 1
        else:
            failed.append(f"{event.asset_key.to_user_string()}:{event.check_name}")
    failed_steps = [e.step_key for e in result.all_events if e.is_step_failure and e.step_key]
    return PipelineResult(
        success=result.success,
        days=days,
        materialized=materialized,
        checks_passed=passed,
        checks_failed=sorted(failed),
        failed_steps=failed_steps,
        seconds=round(seconds, 1),
        run_id=result.run_id,
        check_evaluations=list(result.get_asset_check_evaluations()),
    )
