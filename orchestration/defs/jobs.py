"""Jobs: what the sensor, the hourly refresh and the daily build materialise.

The warehouse scope is every asset under the ``raw``, ``staging``, ``intermediate`` and
``marts`` prefixes; ML, audience and dashboard assets (other prefixes) join only the
daily build; maintenance (retention) has its own job. Raw loads carry their own retry
policy; dbt steps are not retried (a failing dbt test is not transient).
"""

import dagster as dg

WAREHOUSE = dg.AssetSelection.key_prefixes(["raw"], ["staging"], ["intermediate"], ["marts"])
RAW_EVENTS = dg.AssetSelection.assets(["raw", "events"])
RAW_EVENTS_BAD = dg.AssetSelection.assets(["raw", "events_bad"])

events_partition_job = dg.define_asset_job(
    "events_partition_refresh",
    selection=RAW_EVENTS.downstream() & WAREHOUSE,
    description="One day of clickstream: reload raw.events, rebuild what depends on it.",
)

events_bad_job = dg.define_asset_job(
    "quarantine_refresh",
    selection=RAW_EVENTS_BAD.downstream() & WAREHOUSE,
    description="Reload the changed days of the quarantine and what depends on it.",
)

hourly_job = dg.define_asset_job(
    "hourly_refresh",
    selection=WAREHOUSE,
    description="Raw loads (shop tables incremental) and dbt for yesterday and today.",
)

daily_job = dg.define_asset_job(
    "daily_full_build",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("maintenance"),
    description=(
        "Every asset: shop tables fully reloaded (reconciles anything a watermark missed), "
        "dbt for the last days, then downstream ML, audiences and dashboards."
    ),
    config={"ops": {"raw_shop_tables": {"config": {"full_refresh": True}}}},
)
