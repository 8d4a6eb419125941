"""Retention as an asset: each materialisation deletes what is past its keeping period
(``orchestration.retention``) and records what it freed."""

import contextlib
import time
from pathlib import Path

import dagster as dg

from orchestration.defs.policies import MAINTENANCE_GROUP, WAREHOUSE_POOL
from orchestration.defs.resources import LakeResource, RetentionResource, WarehouseResource
from orchestration.retention import apply_retention


@dg.asset(
    key=["maintenance", "retention"],
    group_name=MAINTENANCE_GROUP,
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    tags={"layer": "maintenance"},
)
def expire_old_data(
    warehouse: WarehouseResource, lake: LakeResource, retention: RetentionResource
) -> dg.MaterializeResult:
    """Deletes lake partitions, raw and quarantine rows, and superseded published versions
    older than their retention settings (``MERCADO_RETENTION_*``); the latest version of
    every artifact is always kept. Idempotent: a second run the same day deletes nothing."""
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        # No warehouse yet: nothing to delete there, and none is created just for this.
        conn = stack.enter_context(warehouse.writer()) if warehouse.path.exists() else None
        report = apply_retention(
            retention.policy,
            lake_dir=lake.zone,
            artifact_roots=[Path(root) for root in retention.artifact_roots],
            conn=conn,
        )
    return dg.MaterializeResult(
        metadata={**report.as_metadata(), "seconds": round(time.perf_counter() - started, 3)}
    )
