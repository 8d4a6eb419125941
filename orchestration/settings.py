"""Where the pipeline reads and writes, derived from the shop's own ``MERCADO_*`` settings.

The home, lake and shop database come from ``shop_api.core.config.Settings`` so the shop
and the pipeline can never disagree about them; the warehouse, partitions, DuckDB limits,
alerts and retention are the pipeline's own.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shop_api.core.config import Settings as ShopSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# DuckDB's own default is 80% of the RAM: on a shared machine a big build then leaves the
# other processes almost nothing. Past this share of the RAM DuckDB spills to disk.
DUCKDB_MEMORY_SHARE = 0.6


def default_duckdb_memory_limit() -> str:
    """``DUCKDB_MEMORY_SHARE`` of the physical memory, in whole MB (DuckDB's syntax)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return "4GB"
    return f"{max(512, int(total * DUCKDB_MEMORY_SHARE / 2**20))}MB"


class PipelineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERCADO_", env_file=".env", extra="ignore")

    warehouse: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="Engine dbt builds the warehouse with: DuckDB (the file) or Spark (Parquet "
        "tables under spark_dir; needs the `spark` extra and Java).",
    )
    spark_master: str = Field(
        default="local[*]",
        description="Spark master URL: local[*], spark://host:7077 or k8s://https://host:443.",
    )
    spark_driver_host: str = Field(
        default="127.0.0.1",
        description="Address executors reach the driver at: loopback for local[*], an "
        "address the workers can reach for a cluster.",
    )
    spark_driver_memory: str = Field(default="2g", description="spark.driver.memory.")
    spark_executor_memory: str = Field(default="2g", description="spark.executor.memory.")
    spark_shuffle_partitions: int = Field(
        default=8, ge=1, description="spark.sql.shuffle.partitions (Spark's 200 suits clusters)."
    )
    spark_dbt_threads: int = Field(
        default=4,
        ge=1,
        description="dbt threads on Spark: models and tests run as concurrent Spark jobs, "
        "overlapping each one's fixed cost (Parquet commit, metastore update).",
    )
    spark_dir: Path | None = Field(
        default=None,
        description="Spark's warehouse: raw/ Parquet datasets, warehouse/ (managed tables) and "
        "the metastore; $MERCADO_HOME/spark when unset.",
    )
    warehouse_path: Path | None = Field(
        default=None, description="DuckDB file; $MERCADO_HOME/warehouse.duckdb when unset."
    )
    partitions_start: date | None = Field(
        default=None,
        description="First daily partition of events; the lake's earliest day when unset.",
    )
    duckdb_memory_limit: str = Field(
        default_factory=default_duckdb_memory_limit,
        description="DuckDB memory_limit for loads and dbt (e.g. '8GB'); 60% of RAM when unset.",
    )
    duckdb_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="DuckDB threads for loads and dbt; the number of cores when unset.",
    )

    graph_export_dir: Path | None = Field(
        default=None,
        description="Where the Neptune bulk-load CSV files are written; "
        "$MERCADO_HOME/exports/graph when unset.",
    )
    dagster_home: Path | None = Field(
        default=None,
        validation_alias="DAGSTER_HOME",
        description="Dagster instance (runs, materialisations); $MERCADO_HOME/dagster when unset.",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="Where failed runs and blocking check failures are posted (JSON); "
        "unset: they are only logged.",
    )
    retention_events_days: int | None = Field(
        default=None,
        ge=1,
        description="Days of clickstream kept in the lake (events/dt=) and raw.events, by event "
        "day; unset keeps them (imported datasets are years old).",
    )
    retention_quarantine_days: int | None = Field(
        default=90,
        ge=1,
        description="Days quarantined events (events_bad/, raw.events_bad) and quality.* rows are "
        "kept; unset keeps them.",
    )
    retention_published_days: int | None = Field(
        default=30,
        ge=1,
        description="Days superseded versions under var/published and var/artifacts are kept "
        "(the latest version of each is always kept); unset keeps them.",
    )

    # Celery (the `scale` extra): with a broker set, every job of the code location runs
    # its steps on Celery workers listening on it (`orchestration/celery.yaml`).
    celery_broker_url: str | None = Field(
        default=None,
        description="Celery broker, e.g. redis://127.0.0.1:6379/0 or "
        "pyamqp://guest:guest@127.0.0.1:5672//; unset: steps run in processes of the run "
        "(Dagster's multiprocess executor).",
    )
    celery_backend_url: str | None = Field(
        default=None,
        description="Celery result backend: the broker URL for Redis, rpc:// for RabbitMQ. "
        "Set with the broker.",
    )

    @model_validator(mode="after")
    def _celery_needs_both(self) -> PipelineSettings:
        if bool(self.celery_broker_url) != bool(self.celery_backend_url):
            raise ValueError(
                "set MERCADO_CELERY_BROKER_URL and MERCADO_CELERY_BACKEND_URL together "
                "(the workers read both from the environment)"
            )
        return self

    @property
    def resolved_dagster_home(self) -> Path:
        if self.dagster_home is not None:
            return self.dagster_home.expanduser().resolve()
        return self.shop.resolved_home / "dagster"

    @property
    def shop(self) -> ShopSettings:
        return ShopSettings()

    @property
    def resolved_warehouse_path(self) -> Path:
        if self.warehouse_path is not None:
            return self.warehouse_path.expanduser().resolve()
        return self.shop.resolved_home / "warehouse.duckdb"

    @property
    def resolved_graph_export_dir(self) -> Path:
        if self.graph_export_dir is not None:
            return self.graph_export_dir.expanduser().resolve()
        return self.shop.resolved_home / "exports" / "graph"

    @property
    def resolved_spark_dir(self) -> Path:
        if self.spark_dir is not None:
            return self.spark_dir.expanduser().resolve()
        return self.shop.resolved_home / "spark"

    @property
    def lake_dir(self) -> Path:
        return self.shop.lake_dir

    @property
    def shop_database_url(self) -> str:
        return self.shop.sqlalchemy_url
