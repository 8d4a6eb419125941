"""The whole pipeline (raw loads + dbt) on a simulated shop, checked against the shop.

Specification: ``mercado pipeline run`` succeeds; raw holds every shop row and every
distinct lake event; the marts agree with the shop database on orders and totals per
day, GMV and customers; re-running a day's partitions changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import text

from orchestration.loads import shop_tables
from orchestration.loads.warehouse import open_writer
from orchestration.pipeline import load_definitions, run_pipeline
from tests.orchestration.conftest import Home, checksum

pytestmark = pytest.mark.slow


def test_the_pipeline_run_succeeds(built_home: Home) -> None:
    code = (built_home.path / "pipeline.exit").read_text()
    log = (built_home.path / "build.log").read_text()
    assert code == "0", log[-4000:]
    assert "pipeline succeeded" in log
    assert "orders" in log and "GMV" in log  # the printed mart figures


def test_the_run_shows_each_step_and_ends_with_every_mart_built(built_home: Home) -> None:
    log = (built_home.path / "build.log").read_text()
    for step in ("raw__events", "raw_shop_tables", "dbt_models", "dbt_incremental_models"):
        assert f"✓ {step}: " in log, step
    graph = load_definitions().resolve_asset_graph()
    marts = [k.to_user_string() for k in graph.materializable_asset_keys if k.path[0] == "marts"]
    rows = {line.split("│")[1].strip(): line for line in log.splitlines() if "│ marts/" in line}
    assert set(rows) == set(marts)
    assert all("built" in row for row in rows.values())


def test_the_run_is_recorded_in_the_instance_make_dev_opens(built_home: Home) -> None:
    """`make dev` opens $MERCADO_HOME/dagster: its UI shows the run, the materialisations
    and the row counts of the dbt tables."""
    instance = dg.DagsterInstance.from_config(str(built_home.path / "dagster"))
    [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS
    event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_orders"]))
    assert event is not None and event.run_id == run.run_id
    with built_home.read() as conn:
        rows = conn.execute("select count(*) from marts.fct_orders").fetchall()[0][0]
    assert event.asset_materialization.metadata["dagster/row_count"].value == rows
    assert instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots == []


def test_raw_holds_every_shop_row(built_home: Home) -> None:
    engine = built_home.shop_engine()
    with engine.connect() as shop, built_home.read() as conn:
        for table in shop_tables():
            in_shop = shop.execute(text(f"select count(*) from {table}")).scalar_one()
            in_raw = conn.execute(f"select count(*) from raw.shop_{table}").fetchall()[0][0]
            assert in_raw == in_shop, table
    engine.dispose()


def test_raw_events_are_the_distinct_lake_events(built_home: Home) -> None:
    ids: Counter[str] = Counter()
    for path in (built_home.lake / "events").glob("dt=*/part-*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                ids[json.loads(line)["event_id"]] += 1
    with built_home.read() as conn:
        rows, distinct = conn.execute(
            "select count(*), count(distinct event_id) from raw.events"
        ).fetchall()[0]
    assert rows == distinct == len(ids) > 1000


def test_orders_and_totals_per_day_match_the_shop(built_home: Home) -> None:
    engine = built_home.shop_engine()
    with engine.connect() as shop:
        rows = shop.execute(text("select placed_at, total_minor, paid_at from orders")).all()
    engine.dispose()
    expected: dict[str, list[int]] = {}
    for placed_at, total, _ in rows:
        day = str(placed_at)[:10]
        expected.setdefault(day, [0, 0])
        expected[day][0] += 1
        expected[day][1] += total
    with built_home.read() as conn:
        marts = conn.execute(
            "select order_date::varchar, count(*), sum(total_minor) "
            "from marts.fct_orders group by 1"
        ).fetchall()
    assert {day: [n, int(total)] for day, n, total in marts} == expected
    assert sum(1 for *_, paid_at in rows if paid_at) >= 3, "the simulation has paid orders"


def test_gmv_and_customers_match_the_shop(built_home: Home) -> None:
    engine = built_home.shop_engine()
    with engine.connect() as shop:
        gmv = shop.execute(
            text("select coalesce(sum(total_minor), 0) from orders where paid_at is not null")
        ).scalar_one()
        customers = shop.execute(
            text(
                "select count(*) from users where role = 'shopper' "
                "or id in (select buyer_id from orders)"
            )
        ).scalar_one()
        paying = shop.execute(
            text("select count(distinct buyer_id) from orders where paid_at is not null")
        ).scalar_one()
    engine.dispose()
    with built_home.read() as conn:
        mart_gmv = conn.execute(
            "select sum(total_minor) from marts.fct_orders where is_paid"
        ).fetchall()[0][0]
        mart_customers, mart_paying = conn.execute(
            "select count(*), count(*) filter (where orders_paid > 0) from marts.dim_customers"
        ).fetchall()[0]
    assert gmv > 0
    assert int(mart_gmv) == gmv
    assert (mart_customers, mart_paying) == (customers, paying)


def partitioned_assets() -> list[dg.AssetKey]:
    """Raw events and the incremental dbt models: what a run over some days rebuilds."""
    graph = load_definitions().resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def]


def test_rerunning_a_day_changes_nothing(home_copy: Home) -> None:
    """Raw events and every incremental dbt model of one day, materialised again."""
    partitioned = partitioned_assets()
    assert dg.AssetKey(["raw", "events"]) in partitioned and len(partitioned) > 1
    tables = [".".join(k.path) for k in partitioned]
    with home_copy.read() as conn:
        day = conn.execute(
            "select event_date::varchar from raw.events group by 1 order by count(*) desc limit 1"
        ).fetchall()[0][0]
        before = {t: checksum(conn, t) for t in tables}

    result = run_pipeline(
        days=[day], selection=dg.AssetSelection.assets(*partitioned), prepare=False
    )

    assert result.success, result.summary()
    assert set(result.materialized) == {k.to_user_string() for k in partitioned}
    with home_copy.read() as conn:
        after = {t: checksum(conn, t) for t in tables}
    assert after == before


def test_a_devices_browsing_before_its_first_login_moves_to_the_account(home_copy: Home) -> None:
    """Interactions a device had before it logged in were keyed by the device
    ('client:<id>') in the runs of those days; the next run credits them to the account,
    merged with the account's own row of the same product and day."""
    signals = "select views, cart_adds, interaction_weight from marts.interactions "
    with home_copy.read() as conn:
        last_day = conn.execute("select max(event_date) from raw.events").fetchall()[0][0]
        device, user_id, product_id, day = conn.execute(
            """
            select s.client_id, s.user_id, i.product_id, i.interaction_date
            from intermediate.int_clients_stitched_to_users s
            join marts.interactions i on i.user_key = s.user_id
            where i.interaction_date < ? order by i.interaction_date, i.product_id limit 1
            """,
            [last_day],
        ).fetchall()[0]
        mine = signals + "where user_key = ? and product_id = ? and interaction_date = ?"
        [same_day] = conn.execute(mine, [user_id, product_id, day]).fetchall()
        day_before = conn.execute(mine, [user_id, product_id, day - timedelta(days=1)]).fetchall()
    with open_writer(home_copy.warehouse) as conn:
        # As the runs of those days left them, before the device logged in: two views of
        # the account's product that day, and a cart add of it the day before.
        conn.execute(
            """
            insert into marts.interactions by name
            select 'client:' || ? as user_key, null as user_id, ? as product_id,
                d as interaction_date, v as views, 0 as clicks, c as cart_adds,
                0 as units_purchased, null as review_rating, w as interaction_weight,
                d::timestamp as first_interaction_at, d::timestamp as last_interaction_at
            from (values (?::date, 2, 0, 2.0), (?::date - 1, 0, 1, 3.0)) as t(d, v, c, w)
            """,
            [device, product_id, day, day],
        )

    result = run_pipeline(
        days=[str(last_day)],
        selection=dg.AssetSelection.assets(*partitioned_assets()),
        prepare=False,
    )

    assert result.success, result.summary()
    with home_copy.read() as conn:
        anonymous = conn.execute(
            "select count(*) from marts.interactions where user_key = 'client:' || ?", [device]
        ).fetchall()[0][0]
        assert anonymous == 0
        [after_same_day] = conn.execute(mine, [user_id, product_id, day]).fetchall()
        [after_day_before] = conn.execute(
            mine, [user_id, product_id, day - timedelta(days=1)]
        ).fetchall()
    views, cart_adds, weight = same_day
    assert after_same_day[:2] == (views + 2, cart_adds)
    assert after_same_day[2] == pytest.approx(weight + 2.0)  # a view weighs 1.0
    views, cart_adds, weight = day_before[0] if day_before else (0, 0, 0.0)
    assert after_day_before[:2] == (views, cart_adds + 1)
    assert after_day_before[2] == pytest.approx(weight + 3.0)  # a cart add weighs 3.0
