"""Raw loads into the warehouse as plain functions (no Dagster inside).

Every function takes an open DuckDB connection (get one from
``orchestration.loads.warehouse.open_writer``, which holds the single-writer lock) and
returns ``LoadStats``. The raw contract (tables, columns, keys) is in
``orchestration/README.md``.
"""

from orchestration.loads.erasure import erased_user_ids, scrub_erased_users
from orchestration.loads.lake import (
    EVENTS,
    EVENTS_BAD,
    lake_days,
    load_events_bad,
    load_events_bad_partition,
    load_events_partition,
    load_events_partitions,
    stale_partitions,
)
from orchestration.loads.shop import load_all_shop_tables, load_shop_table, shop_tables
from orchestration.loads.stats import LoadStats
from orchestration.loads.warehouse import (
    default_warehouse_path,
    open_reader,
    open_writer,
    writer_lock,
)

__all__ = [
    "EVENTS",
    "EVENTS_BAD",
    "LoadStats",
    "default_warehouse_path",
    "erased_user_ids",
    "lake_days",
    "load_all_shop_tables",
    "load_events_bad",
    "load_events_bad_partition",
    "load_events_partition",
    "load_events_partitions",
    "load_shop_table",
    "open_reader",
    "open_writer",
    "scrub_erased_users",
    "shop_tables",
    "stale_partitions",
    "writer_lock",
]
