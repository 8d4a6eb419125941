"""Shared execution policies: the warehouse pool, retries and freshness of raw data."""

from datetime import timedelta

import dagster as dg

# Every warehouse writer runs in this pool; dagster.yaml sets its limit to 1 (DuckDB has
# one writer process), lifted with MERCADO_WAREHOUSE=spark (orchestration/instance.py).
WAREHOUSE_POOL = "warehouse"

# Upkeep assets (retention): their own job and schedule, never part of a build.
MAINTENANCE_GROUP = "maintenance"

# Transient failures (a locked warehouse, a shop database restart) are retried with
# exponential backoff and jitter: 10 s, 20 s, 40 s.
TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

RAW_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=2)
)
