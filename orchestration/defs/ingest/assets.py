"""Raw-load assets: thin Dagster wrappers around ``orchestration.loads``.

Keys are ``["raw", <table>]``, the keys dagster-dbt gives the dbt sources, so the raw
loads and the dbt models form one lineage graph. Each materialisation reports rows,
bytes, seconds and source partitions (the project's cost accounting).
"""

import time
from collections.abc import Iterator

import dagster as dg

from orchestration.defs.partitions import daily_partitions
from orchestration.defs.policies import RAW_FRESHNESS, TRANSIENT_RETRY, WAREHOUSE_POOL
from orchestration.defs.resources import LakeResource, ShopDatabaseResource, WarehouseResource
from orchestration.loads import (
    EVENTS,
    EVENTS_BAD,
    load_events_bad,
    load_events_partitions,
    load_shop_table,
    shop_tables,
)
from orchestration.loads.shop import source_row_count

RAW_GROUP = "raw"
UNIQUE_EVENT_ID = "event_id_unique"
MATCHES_SOURCE = "row_count_matches_shop"


class ShopLoadConfig(dg.Config):
    """Run config of the shop-table loads."""

    full_refresh: bool = False


@dg.asset(
    key=["raw", "events"],
    group_name=RAW_GROUP,
    kinds={"duckdb", "python"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
    freshness_policy=RAW_FRESHNESS,
    check_specs=[
        dg.AssetCheckSpec(
            UNIQUE_EVENT_ID,
            asset=["raw", "events"],
            blocking=True,
            description="No event_id appears twice in the loaded partitions.",
        )
    ],
    tags={"layer": "raw"},
)
def raw_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Clickstream events of one day (or a range of days) from ``lake/events/dt=<day>/``.

    Replaces the days (a backfill's range in a few large statements, not one per day),
    deduplicated by ``event_id`` (earliest ``received_at`` wins), and records the files'
    fingerprints so late files and erasure rewrites make a day stale again. One row per
    event.
    """
    if not (context.has_partition_key or context.has_partition_key_range):
        raise dg.Failure(
            description=(
                "raw/events is loaded by day: launch this run with a partition or a range "
                "(the hourly schedule passes yesterday..today; a backfill picks its own), "
                "or use `mercado pipeline run`, which loads every day of the lake."
            ),
            allow_retries=False,
        )
    days = context.partition_keys
    started = time.perf_counter()
    with warehouse.writer() as conn:
        stats = load_events_partitions(conn, lake.zone, days)
        warehouse.publish_raw(conn, EVENTS, days)
        duplicates = conn.execute(
            "select count(*) - count(distinct event_id) from raw.events "
            "where event_date between ? and ?",
            [days[0], days[-1]],
        ).fetchall()[0][0]
    context.log.info(
        f"loaded {stats.rows_loaded:,} events from {stats.files} files for {len(days)} day(s)"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stats.rows_loaded,
            "rows_replaced": stats.rows_deleted,
            "rows_in_table": stats.rows_in_table,
            "files": stats.files,
            "bytes_read": stats.bytes_read,
            "seconds": round(time.perf_counter() - started, 3),
            "source_partitions": ", ".join(days) if len(days) <= 7 else f"{days[0]}..{days[-1]}",
            "erasure_scrubbed_rows": stats.extra.get("erasure_scrubbed_rows", 0),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=UNIQUE_EVENT_ID,
                passed=duplicates == 0,
                metadata={"duplicate_event_ids": duplicates},
            )
        ]
        if _selected(context, ["raw", "events"], UNIQUE_EVENT_ID)
        else [],
    )


@dg.asset(
    key=["raw", "events_bad"],
    group_name=RAW_GROUP,
    kinds={"duckdb", "python"},
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
    tags={"layer": "raw"},
)
def raw_events_bad(warehouse: WarehouseResource, lake: LakeResource) -> dg.MaterializeResult:
    """Quarantined events (``lake/events_bad/``) with their rejection reasons, one row per
    rejected event; days whose files changed are replaced whole."""
    with warehouse.writer() as conn:
        stats = load_events_bad(conn, lake.zone)
        warehouse.publish_raw(conn, EVENTS_BAD)
    return dg.MaterializeResult(metadata=_metadata(stats.as_metadata()))


def _selected(context: dg.AssetExecutionContext, key: list[str], check: str) -> bool:
    """Whether the run asked for this check (a run may skip checks)."""
    return dg.AssetCheckKey(dg.AssetKey(key), check) in context.selected_asset_check_keys


def _metadata(stats: dict[str, object]) -> dict[str, object]:
    """LoadStats as materialisation metadata (row count under Dagster's standard key)."""
    data = dict(stats)
    data["dagster/row_count"] = data.pop("rows_in_table", 0)
    data.pop("table", None)
    return data


def _shop_spec(table: str) -> dg.AssetSpec:
    spec = shop_tables()[table]
    watermark = spec.watermark or "none (full reload)"
    return dg.AssetSpec(
        key=["raw", spec.raw_name],
        group_name=RAW_GROUP,
        kinds={"duckdb", "python"},
        description=(
            f"Copy of the shop's `{table}` table, one row per `{', '.join(spec.primary_key)}`. "
            f"Incremental by `{watermark}`; deletions propagated."
        ),
        metadata={"watermark_column": watermark, "primary_key": ", ".join(spec.primary_key)},
        tags={"layer": "raw"},
        freshness_policy=RAW_FRESHNESS,
        skippable=True,
    )


SHOP_TABLES = list(shop_tables())


@dg.multi_asset(
    name="raw_shop_tables",
    specs=[_shop_spec(table) for table in SHOP_TABLES],
    check_specs=[
        dg.AssetCheckSpec(
            MATCHES_SOURCE,
            asset=["raw", f"shop_{table}"],
            description=(
                "Rows in raw equal rows in the shop table right after the load (a warning "
                "only: the live shop may write in between)."
            ),
        )
        for table in SHOP_TABLES
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
    retry_policy=TRANSIENT_RETRY,
)
def raw_shop_tables(
    context: dg.AssetExecutionContext,
    config: ShopLoadConfig,
    warehouse: WarehouseResource,
    shop_db: ShopDatabaseResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """One asset per shop table, loaded in one step (one warehouse lock, one connection)."""
    selected = {key.path[-1].removeprefix("shop_") for key in context.selected_asset_keys}
    with shop_db.engine() as engine, warehouse.writer() as conn:
        scrubbed = False
        for table in SHOP_TABLES:
            if table not in selected:
                continue
            stats = load_shop_table(conn, engine, table, full_refresh=config.full_refresh)
            warehouse.publish_raw(conn, shop_tables()[table].raw_name)
            scrubbed = scrubbed or bool(stats.extra.get("erasure_scrubbed_rows"))
            in_source = source_row_count(engine, table)
            key = dg.AssetKey(["raw", f"shop_{table}"])
            yield dg.MaterializeResult(asset_key=key, metadata=_metadata(stats.as_metadata()))
            if not _selected(context, key.path, MATCHES_SOURCE):
                continue
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=MATCHES_SOURCE,
                passed=in_source == stats.rows_in_table,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"rows_in_shop": in_source, "rows_in_raw": stats.rows_in_table},
            )
        if scrubbed:
            # an erasure also scrubbed the clickstream's raw tables, on any day
            warehouse.publish_raw(conn, EVENTS)
            warehouse.publish_raw(conn, EVENTS_BAD)
