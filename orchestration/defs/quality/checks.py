"""Great Expectations suites as Dagster asset checks.

Raw events and shop tables: the suites' row-level rules run as SQL on the batch just
loaded (the partitions of the run, not the history); failing rows are quarantined
(``quality.quarantine_<table>``) before dbt reads raw, and counted in a WARN result. The
result is an ERROR, blocking everything downstream of that raw table, only when the
quarantine takes more than the suite's ``max_bad_share`` (a systematic break, not a
poison row) or a dataset rule fails (duplicate keys). Event volumes and ``fct_orders``
(reconciliation with raw, order-value distribution) are checked on top.
"""

import re
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from expectations.results import Outcome
from expectations.severity import ERROR, WARN
from expectations.sql import row_rules
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.policies import WAREHOUSE_POOL
from orchestration.defs.quality.results import check_result
from orchestration.defs.resources import AlertsResource, WarehouseResource
from orchestration.loads.quarantine import QuarantineResult, quarantine_rows, quarantine_table
from orchestration.loads.shop import shop_tables
from orchestration.quality import EVENTS_KEY, events_suite, shop_suites

EVENTS = dg.AssetKey(["raw", "events"])
FCT_ORDERS = dg.AssetKey(["marts", "fct_orders"])
CONFORMS = "conforms_to_contract"
VOLUME = "volume_normal"
RECONCILES = "reconciles_with_raw"
DISTRIBUTION = "order_value_distribution"
SHOP_TABLES = [spec.raw_name for spec in shop_tables().values()]
# Every check this module defines, so a run can leave them all out (``quality=False``).
QUALITY_CHECKS = frozenset(
    [dg.AssetCheckKey(EVENTS, CONFORMS), dg.AssetCheckKey(EVENTS, VOLUME)]
    + [dg.AssetCheckKey(dg.AssetKey(["raw", t]), CONFORMS) for t in SHOP_TABLES]
    + [dg.AssetCheckKey(FCT_ORDERS, RECONCILES), dg.AssetCheckKey(FCT_ORDERS, DISTRIBUTION)]
)


def quarantine_outcomes(suite: Any, result: QuarantineResult) -> list[Outcome]:
    """One outcome per row rule (failing rows counted), and the quarantine's share."""
    outcomes = []
    for rule in row_rules(suite):
        failing = result.by_check.get(rule.check, 0)
        outcomes.append(
            Outcome(
                suite=suite.name,
                check=rule.check,
                description=rule.reason,
                severity=WARN,
                success=failing == 0,
                expectation="row rule (SQL)",
                element_count=result.rows_checked,
                unexpected_count=failing,
                sample=[
                    s
                    for s in result.sample
                    if any(r.startswith(rule.check + ":") for r in s["reasons"])
                ],
                note=f"{failing} row(s) quarantined in {quarantine_table(result.table)}"
                if failing
                else "",
            )
        )
    limit = float(suite.meta["max_bad_share"])
    broken = result.bad_share > limit and result.rows_quarantined >= suite.meta["min_bad_rows"]
    outcomes.append(
        Outcome(
            suite=suite.name,
            check="quarantined_share",
            description=(
                f"at most {limit:.0%} of the batch (or fewer than "
                f"{suite.meta['min_bad_rows']} rows) quarantined"
            ),
            severity=ERROR,
            success=not broken,
            expectation="quarantine share",
            element_count=result.rows_checked,
            unexpected_count=result.rows_quarantined,
            observed=round(result.bad_share, 6),
            note=f"{result.bad_share:.1%} of the rows failed row rules: a systematic break"
            if broken
            else "",
        )
    )
    return outcomes


def _quarantine_metadata(result: QuarantineResult) -> dict[str, Any]:
    return {
        "rows_checked": result.rows_checked,
        "rows_quarantined": result.rows_quarantined,
        "failing_rows_by_check": dg.MetadataValue.json(result.by_check),
        "sample": dg.MetadataValue.json(result.sample),
        "quarantine_table": quarantine_table(result.table),
    }


def _window(context: dg.AssetCheckExecutionContext) -> tuple[str, str]:
    keys = context.partition_key_range
    return keys.start, keys.end


@dg.asset_check(
    asset=EVENTS,
    name=CONFORMS,
    blocking=True,
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
    description=(
        "The loaded days' events conform to the collector's event schema (ids, names, "
        "items, times); failing events are quarantined, the rest flow."
    ),
)
def events_conform(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource
) -> dg.AssetCheckResult:
    suite = events_suite()
    start, end = _window(context)
    with warehouse.writer() as conn:
        result = quarantine_rows(
            conn,
            "events",
            EVENTS_KEY,
            row_rules(suite),
            check=CONFORMS,
            run_id=context.run.run_id,
            where="event_date between cast(? as date) and cast(? as date)",
            params=[start, end],
        )
    return check_result(
        context,
        alerts,
        asset_key=EVENTS,
        check_name=CONFORMS,
        suite_version=suite.meta["version"],
        outcomes=quarantine_outcomes(suite, result),
        metadata={**_quarantine_metadata(result), "partitions": f"{start}..{end}"},
    )


@dg.asset_check(
    asset=EVENTS,
    name=VOLUME,
    blocking=True,
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
    additional_deps=[dg.AssetKey(["raw", "shop_orders"])],
    description=(
        "Events per hour and name near the trailing same-hour-of-week median; purchases "
        "continue while orders do."
    ),
)
def events_volume(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource
) -> dg.AssetCheckResult:
    from expectations.volume import (
        VolumeRules,
        check_purchases,
        check_volume,
        evaluated_hours,
        window_start,
    )

    rules = VolumeRules()
    start, end = _window(context)
    with warehouse.writer() as conn:
        last = conn.execute(
            "select max(timezone('UTC', event_time)) from raw.events "
            "where event_date between cast(? as date) and cast(? as date)",
            [start, end],
        ).fetchall()[0][0]
        hours = evaluated_hours(last, rules) if last else []
        hours = [h for h in hours if h.date() >= date.fromisoformat(start)]
        since = window_start(hours, rules) if hours else None
        counts = pd.DataFrame(columns=["hour", "event_name", "events"])
        orders = pd.DataFrame(columns=["hour", "orders"])
        if since is not None:
            counts = conn.execute(
                "select timezone('UTC', date_trunc('hour', event_time)) as hour, event_name, "
                "count(*) as events from raw.events where event_date between "
                "cast(? as date) and cast(? as date) group by all",
                [since.date() - timedelta(days=1), end],
            ).df()
            if _exists(conn, "raw", "shop_orders"):
                orders = conn.execute(
                    "select timezone('UTC', date_trunc('hour', placed_at)) as hour, "
                    "count(*) as orders from raw.shop_orders where placed_at >= ? group by 1",
                    [since],
                ).df()
    outcomes = [check_volume(counts, hours, rules), check_purchases(counts, orders, hours, rules)]
    return check_result(
        context,
        alerts,
        asset_key=EVENTS,
        check_name=VOLUME,
        suite_version="volume-1",
        outcomes=outcomes,
        metadata={"hours_evaluated": len(hours)},
    )


def _exists(conn: Any, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


REFERENCED = re.compile(r"\braw\.(\w+)")


@dg.multi_asset_check(
    name="shop_tables_conform",
    specs=[
        dg.AssetCheckSpec(
            CONFORMS,
            asset=["raw", table],
            blocking=True,
            description=(
                "Keys present and unique, money not negative, statuses from the shop's "
                "enums, references resolve; failing rows are quarantined."
            ),
        )
        for table in SHOP_TABLES
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def shop_tables_conform(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource
):
    suites = shop_suites()
    selected = {key.asset_key.path[-1] for key in context.selected_asset_check_keys}
    with warehouse.writer() as conn:
        for (
            table
        ) in SHOP_TABLES:  # parents before children: orphans of a quarantined parent follow it
            if table not in selected or not _exists(conn, "raw", table):
                continue
            suite = suites[table]
            key = tuple(suite.meta["key"])
            rules = [
                r
                for r in row_rules(suite)
                if all(_exists(conn, "raw", t) for t in REFERENCED.findall(r.failing))
            ]
            result = quarantine_rows(
                conn, table, key, rules, check=CONFORMS, run_id=context.run.run_id
            )
            outcomes = quarantine_outcomes(suite, result)
            if len(key) == 1:
                duplicates = conn.execute(
                    f'select count(*) - count(distinct "{key[0]}") from raw.{table}'
                ).fetchall()[0][0]
                outcomes.append(
                    Outcome(
                        suite=suite.name,
                        check="key_unique",
                        description=f"key {key[0]} is unique",
                        severity=ERROR,
                        success=duplicates == 0,
                        unexpected_count=duplicates,
                    )
                )
            yield check_result(
                context,
                alerts,
                asset_key=dg.AssetKey(["raw", table]),
                check_name=CONFORMS,
                suite_version=suite.meta["version"],
                outcomes=outcomes,
                metadata=_quarantine_metadata(result),
            )


@dg.multi_asset_check(
    name="fct_orders_quality",
    specs=[
        dg.AssetCheckSpec(
            RECONCILES,
            asset=FCT_ORDERS,
            blocking=True,
            description="Every order admitted to raw once, the same GMV, totals that add up.",
        ),
        dg.AssetCheckSpec(
            DISTRIBUTION,
            asset=FCT_ORDERS,
            description="Recent order-value quartiles near the trailing window's.",
        ),
    ],
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def fct_orders_quality(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertsResource
):
    from expectations.runner import validate_frame
    from expectations.suites.marts import (
        MIN_ORDERS_FOR_DISTRIBUTION,
        QUANTILES,
        orders_suite,
    )

    with warehouse.writer() as conn:
        raw_orders, raw_total = conn.execute(
            "select count(*), coalesce(sum(total_minor), 0) from raw.shop_orders"
        ).fetchall()[0]
        frame = conn.execute(
            """
            select
                total_minor,
                total_minor - (subtotal_minor - discount_minor + shipping_minor + tax_minor)
                    as total_gap_minor,
                case when placed_at > (select max(placed_at) from marts.fct_orders)
                    - interval 7 day then total_minor end as recent_total_minor
            from marts.fct_orders
            """
        ).df()
        reference, trailing = conn.execute(
            f"""
            select quantile_cont(total_minor, {list(QUANTILES)}), count(*)
            from marts.fct_orders
            where placed_at between (select max(placed_at) from marts.fct_orders) - interval 35 day
                and (select max(placed_at) from marts.fct_orders) - interval 7 day
            """
        ).fetchall()[0]
    recent = int(frame["recent_total_minor"].notna().sum())
    enough = min(recent, trailing) >= MIN_ORDERS_FOR_DISTRIBUTION
    suite = orders_suite(
        raw_orders=int(raw_orders),
        raw_total_minor=int(raw_total),
        reference_quantiles=list(reference) if enough and reference else None,
    )
    outcomes = validate_frame(suite, frame)
    distribution = [o for o in outcomes if o.check == DISTRIBUTION] or [
        Outcome(
            suite=suite.name,
            check=DISTRIBUTION,
            description="recent order-value quartiles near the trailing window's",
            severity=WARN,
            success=True,
            note=f"insufficient history: {recent} recent and {trailing} trailing orders "
            f"(at least {MIN_ORDERS_FOR_DISTRIBUTION} each)",
        )
    ]
    selected = {key.name for key in context.selected_asset_check_keys}
    if RECONCILES in selected:
        yield check_result(
            context,
            alerts,
            asset_key=FCT_ORDERS,
            check_name=RECONCILES,
            suite_version=suite.meta["version"],
            outcomes=[o for o in outcomes if o.check != DISTRIBUTION],
            metadata={"orders_in_raw": int(raw_orders), "gmv_minor_in_raw": int(raw_total)},
        )
    if DISTRIBUTION in selected:
        yield check_result(
            context,
            alerts,
            asset_key=FCT_ORDERS,
            check_name=DISTRIBUTION,
            suite_version=suite.meta["version"],
            outcomes=distribution,
        )
