"""The incremental dbt models (event-sized facts) as daily-partitioned assets, with the
few models between them (tag ``daily_partitioned``, see ``orchestration.dbt``).

A run for a partition (or a range of them, in one dbt invocation) passes the window as
``--vars '{"min_date": ..., "max_date": ...}'`` (inclusive dates), which the models use
to bound ``is_incremental()``; ``full_refresh`` rebuilds them from scratch.

dbt's parse cache is keyed on ``--vars``: seeded with the state of ``dbt parse`` (no vars),
every windowed build would parse the whole project again. Each build starts from the state
the last windowed build left instead (``windowed_parse_state``), so a build over the same
window as the last one (the same day's runs; a rebuild of the same range) parses nothing
again.
"""

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.components.dbt_translation import MercadoDbtTranslator
from orchestration.components.warehouse_dbt import (
    dbt_target_dir,
    known_dbt_version,
    link_spark_build,
    released_dbt_adapter,
    warehouse_env,
)
from orchestration.dbt import PARTITIONED_SELECTOR, dbt_project, load_manifest, partitioned_models
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.loads.warehouse import writer_lock
from orchestration.settings import PipelineSettings


class DbtRunConfig(dg.Config):
    """Run config of the incremental dbt models."""

    full_refresh: bool = False


def dbt_build_args(window: dg.TimeWindow | None, full_refresh: bool = False) -> list[str]:
    """``dbt build`` arguments for a partition window (end exclusive → inclusive max_date)."""
    args = ["build"]
    if window is not None:
        dates = {
            "min_date": window.start.date().isoformat(),
            "max_date": (window.end - timedelta(days=1)).date().isoformat(),
        }
        args += ["--vars", json.dumps(dates)]
    if full_refresh:
        args.append("--full-refresh")
    return args


PARSE_STATE = "partial_parse.msgpack"


def windowed_parse_state(settings: PipelineSettings) -> Path:
    """The parse cache the last windowed build left, beside ``dbt parse``'s own."""
    return dbt_target_dir(settings) / "windowed" / PARSE_STATE


def seeded_target(settings: PipelineSettings, name: str) -> Path:
    """A fresh target folder for one dbt invocation, holding the last windowed build's
    parse cache when there is one (dagster-dbt then leaves it as it is)."""
    target = dbt_target_dir(settings) / f"{name}-{uuid.uuid4().hex[:7]}"
    target.mkdir(parents=True)
    state = windowed_parse_state(settings)
    if state.exists():
        shutil.copyfile(state, target / PARSE_STATE)
    return target


def keep_parse_state(settings: PipelineSettings, target: Path) -> None:
    """Keep ``target``'s parse cache for the next windowed build (renamed into place)."""
    written = target / PARSE_STATE
    if not written.exists():
        return
    state = windowed_parse_state(settings)
    state.parent.mkdir(parents=True, exist_ok=True)
    staged = state.with_name(f".{PARSE_STATE}-{os.getpid()}-{uuid.uuid4().hex[:7]}")
    shutil.copyfile(written, staged)
    os.replace(staged, state)


def _indirect_selection(context: dg.AssetExecutionContext) -> str | None:
    """``eager`` when every partitioned model runs: a test between one of them and an
    unpartitioned model (``relationships`` to ``dim_products``) then runs here, the other
    model being built in an earlier step (no unpartitioned model is downstream of these).
    ``buildable`` would skip it, as dim_products is not selected. Subsets keep the default."""
    whole = set(context.selected_asset_keys) == set(context.assets_def.keys)
    return "eager" if whole else None


def build_incremental_assets(manifest: dict[str, Any]) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest,
        select=PARTITIONED_SELECTOR,
        name="dbt_incremental_models",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=MercadoDbtTranslator(),
        project=dbt_project,
        pool=WAREHOUSE_POOL,
        op_tags={"layer": "transform"},
    )
    def dbt_incremental_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig
    ) -> Iterator[Any]:
        """Incremental dbt models for the run's partition window."""
        partitioned = context.has_partition_key or context.has_partition_key_range
        window = context.partition_time_window if partitioned else None
        settings = PipelineSettings()
        target = seeded_target(
            settings, f"{context.op_execution_context.op.name}-{context.run_id[:7]}"
        )
        with (
            warehouse_env(indirect_selection=_indirect_selection(context)),
            writer_lock(settings.resolved_warehouse_path),
            released_dbt_adapter(),
        ):
            args = dbt_build_args(window, config.full_refresh)
            invocation = known_dbt_version(dbt).cli(args, context=context, target_path=target)
            if settings.warehouse == "spark":
                # row counts would start a second Spark beside dbt's (and its metastore)
                yield from invocation.stream()
            else:
                yield from invocation.stream().fetch_row_counts()
        keep_parse_state(settings, target)
        link_spark_build(settings)

    return dbt_incremental_models


@dg.definitions
def incremental() -> dg.Definitions:
    manifest = load_manifest()
    if not partitioned_models(manifest):
        return dg.Definitions()
    return dg.Definitions(assets=[build_incremental_assets(manifest)])
