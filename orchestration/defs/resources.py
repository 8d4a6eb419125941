"""Typed resources: the DuckDB warehouse, the shop database, the landing zone, dbt, alerts
and retention.

Paths and URLs come from ``MERCADO_*`` settings (``orchestration.settings``); the shop
database URL is passed as an ``EnvVar`` when it is set, so a password never shows in the
UI's resource config.
"""

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from pydantic import Field
from sqlalchemy import Engine

from orchestration.alerts import Alert, send_alert
from orchestration.dbt import dbt_executable
from orchestration.loads.parquet import link_spark_tables, write_raw_dataset
from orchestration.loads.warehouse import open_reader, open_writer
from orchestration.retention import RetentionPolicy, artifact_roots
from orchestration.settings import DBT_PROJECT_DIR, PipelineSettings
from shop_api.core.storage import open_object_store
from shop_api.tracking.lake import LandingZone


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse, whichever engine dbt builds it with. Writers hold the single-writer
    lock while connected.

    Loads, checks and readers always get a DuckDB connection to the warehouse file. On
    Spark the raw loads also write what they changed as Parquet datasets
    (``publish_raw``), and every table dbt built on Spark is a view of the same name in the
    file (``link_built_tables``), so readers query ``marts.*`` the same way on both engines.
    """

    database: str = Field(description="Path of the DuckDB file.")
    engine: str = Field(default="duckdb", description="duckdb or spark (MERCADO_WAREHOUSE).")
    spark_dir: str | None = Field(
        default=None, description="Spark's raw datasets, tables and metastore (on spark)."
    )

    @property
    def path(self) -> Path:
        return Path(self.database).expanduser().resolve()

    @property
    def on_spark(self) -> bool:
        return self.engine == "spark"

    def publish_raw(
        self, conn: duckdb.DuckDBPyConnection, table: str, days: list[str] | None = None
    ) -> None:
        """On Spark, write ``raw.<table>`` (or only ``days`` of it) as its Parquet dataset."""
        if self.on_spark and self.spark_dir is not None:
            write_raw_dataset(conn, Path(self.spark_dir), table, days)

    def link_built_tables(self) -> list[str]:
        """On Spark, make the tables dbt built views in the warehouse file (after dbt)."""
        if not (self.on_spark and self.spark_dir is not None):
            return []
        with self.writer() as conn:
            return link_spark_tables(conn, Path(self.spark_dir))

    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_writer(self.path) as conn:
            yield conn

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_reader(self.path) as conn:
            yield conn


class ShopDatabaseResource(dg.ConfigurableResource):
    """The shop's OLTP database (SQLite or PostgreSQL), read through SQLAlchemy.

    It is brought to the latest migration before it is read, as ``mercado serve`` does
    before serving: a home whose only data is an imported clickstream has a shop
    database nobody has migrated yet, and its tables must load empty, not fail."""

    url: str = Field(description="SQLAlchemy URL of the shop database.")

    @contextlib.contextmanager
    def engine(self) -> Iterator[Engine]:
        from shop_api.core.config import normalise_database_url
        from shop_api.core.db import create_db_engine
        from shop_api.core.migrations import is_at_head, upgrade_to_head

        url = normalise_database_url(self.url)
        engine = create_db_engine(url, pool_size=1)
        try:
            if not is_at_head(engine):
                upgrade_to_head(url)
            yield engine
        finally:
            engine.dispose()


class LakeResource(dg.ConfigurableResource):
    """The clickstream landing zone (``events/`` and ``events_bad/``): a local folder, or
    an S3-compatible store when ``url`` is set (credentials from boto3's usual chain)."""

    root: str = Field(description="Folder holding events/ and events_bad/.")
    url: str | None = Field(
        default=None, description="s3://bucket/prefix of the lake; the folder when unset."
    )
    endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible store; AWS when unset."
    )

    @property
    def path(self) -> Path:
        return Path(self.root).expanduser().resolve()

    @property
    def zone(self) -> LandingZone:
        if self.url:
            return LandingZone(open_object_store(self.url, endpoint_url=self.endpoint_url))
        return LandingZone(self.path)


class AlertsResource(dg.ConfigurableResource):
    """Where alerts go: always the log, and the webhook when one is set."""

    webhook_url: str | None = Field(default=None, description="JSON webhook for alerts.")

    def send(self, alert: Alert, logger: logging.Logger | None = None) -> bool:
        return send_alert(alert, self.webhook_url, logger)


class RetentionResource(dg.ConfigurableResource):
    """How long each kind of data is kept (days; None keeps it) and where artifacts live."""

    events_days: int | None = Field(default=None, description="lake events/ and raw.events")
    quarantine_days: int | None = Field(
        default=None, description="events_bad/, raw.events_bad and quality.*"
    )
    published_days: int | None = Field(
        default=None, description="superseded versions of published artifacts"
    )
    artifact_roots: list[str] = Field(
        default_factory=list, description="Folders of versioned artifacts (published/, artifacts/)."
    )

    @property
    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            events_days=self.events_days,
            quarantine_days=self.quarantine_days,
            published_days=self.published_days,
        )


def build_resources(settings: PipelineSettings | None = None) -> dict[str, object]:
    settings = settings or PipelineSettings()
    shop_url: str | dg.EnvVar = (
        dg.EnvVar("MERCADO_DATABASE_URL")
        if os.environ.get("MERCADO_DATABASE_URL")
        else settings.shop_database_url
    )
    return {
        "warehouse": WarehouseResource(
            database=str(settings.resolved_warehouse_path),
            engine=settings.warehouse,
            spark_dir=str(settings.resolved_spark_dir),
        ),
        "shop_db": ShopDatabaseResource(url=shop_url),
        "lake": LakeResource(
            root=str(settings.lake_dir),
            url=settings.shop.lake_url,
            endpoint_url=settings.shop.s3_endpoint_url,
        ),
        "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()),
        # an EnvVar, so a webhook's secret path never shows in the UI's resource config
        "alerts": AlertsResource(
            webhook_url=dg.EnvVar("MERCADO_ALERT_WEBHOOK_URL")
            if os.environ.get("MERCADO_ALERT_WEBHOOK_URL")
            else None
        ),
        "retention": RetentionResource(
            events_days=settings.retention_events_days,
            quarantine_days=settings.retention_quarantine_days,
            published_days=settings.retention_published_days,
            artifact_roots=[str(p) for p in artifact_roots(settings.shop.resolved_home)],
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
