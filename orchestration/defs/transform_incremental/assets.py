"""The incremental dbt models (event-sized facts) as daily-partitioned assets, with the
few models between them (tag ``daily_partitioned``, see ``orchestration.dbt``).

A run for a partition (or a range of them, in one dbt invocation) passes the window as
``--vars '{"min_date": ..., "max_date": ...}'`` (inclusive dates), which the models use
to bound ``is_incremental()``; ``full_refresh`` rebuilds them from scratch.
"""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.components.dbt_translation import MercadoDbtTranslator
from orchestration.components.warehouse_dbt import (
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
        with (
            warehouse_env(indirect_selection=_indirect_selection(context)),
            writer_lock(settings.resolved_warehouse_path),
            released_dbt_adapter(),
        ):
            invocation = dbt.cli(dbt_build_args(window, config.full_refresh), context=context)
            if settings.warehouse == "spark":
                # row counts would start a second Spark beside dbt's (and its metastore)
                yield from invocation.stream()
            else:
                yield from invocation.stream().fetch_row_counts()
        link_spark_build(settings)

    return dbt_incremental_models


@dg.definitions
def incremental() -> dg.Definitions:
    manifest = load_manifest()
    if not partitioned_models(manifest):
        return dg.Definitions()
    return dg.Definitions(assets=[build_incremental_assets(manifest)])
