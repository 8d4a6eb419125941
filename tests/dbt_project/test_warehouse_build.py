"""The dbt project end to end: a small simulated shop, raw loads, ``dbt build``, figures.

The warehouse is a private copy of the orchestration tests' built home (see
``tests/orchestration/conftest.py``: a simulated shop whose raw tables the orchestration
loaders filled and whose every dbt model and test ``mercado pipeline run`` built, once
per test run). The mart figures are checked against the shop database itself, computed
independently with SQLAlchemy: orders and their totals per day, GMV, customers. Re-running
plain dbt on the same data (an incremental run, and a run over one day's window as Dagster
does) must leave every table identical; and a buyer erased in the shop must leave no
personal data in the marts after the raw reload and an incremental run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from sqlalchemy import create_engine, text

from audiences.identifiers import hashed_email, hashed_phone
from orchestration.graph_export import write_neptune_files
from tests.orchestration.conftest import Home

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = ROOT / "dbt_project"


@dataclass
class Warehouse:
    home: Path
    database: Path
    shop_url: str
    target: Path

    def dbt(self, *args: str) -> None:
        options = {
            "--project-dir": PROJECT_DIR,
            "--profiles-dir": PROJECT_DIR,
            "--target-path": self.target,
            "--log-path": self.home / "dbt-logs",
        }
        flags = [part for option, value in options.items() for part in (option, str(value))]
        result = dbtRunner().invoke([*args, *flags, "--no-use-colors", "--quiet"])
        assert result.success, f"dbt {' '.join(args)} failed: {result.exception or result.result}"

    def connect(self) -> duckdb.DuckDBPyConnection:
        # dbt-duckdb keeps the database open in this process after a run, and DuckDB only
        # shares an open database with connections of the same configuration (read-write).
        return duckdb.connect(str(self.database))

    def query(self, sql: str) -> list[tuple]:
        with self.connect() as conn:
            return conn.execute(sql).fetchall()

    def fingerprint(self) -> dict[str, tuple]:
        """Row count and a content hash of every table dbt materialised."""
        with self.connect() as conn:
            tables = conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE' and table_schema in ('staging', 'marts')"
            ).fetchall()
            return {
                f"{schema}.{table}": conn.execute(
                    "select count(*), "
                    "md5(coalesce(string_agg(row_text, '|' order by row_text), '')) "
                    f'from (select cast(t as varchar) as row_text from {schema}."{table}" as t)'
                ).fetchall()[0]
                for schema, table in tables
            }


def load_raw(home: Path, database: Path, shop_url: str) -> None:
    from orchestration.loads import (
        lake_days,
        load_all_shop_tables,
        load_events_bad,
        load_events_partition,
        open_writer,
    )
    from shop_api.core.db import create_db_engine

    engine = create_db_engine(shop_url)
    try:
        with open_writer(database) as conn:
            load_all_shop_tables(conn, engine)
            for day in lake_days(home / "lake"):
                load_events_partition(conn, home / "lake", day)
            load_events_bad(conn, home / "lake")
    finally:
        engine.dispose()


@pytest.fixture
def warehouse(home_copy: Home, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """A private copy of the orchestration tests' built home: their simulated shop, its raw
    tables loaded and every dbt model built and tested by one pipeline run, shared by the
    whole test run (this test then reruns, erases and rebuilds in its copy)."""
    assert (home_copy.path / "pipeline.exit").read_text() == "0", "the shared build failed"
    monkeypatch.setenv("MERCADO_WAREHOUSE_PATH", str(home_copy.warehouse))
    home = home_copy.path
    copy = Warehouse(home, home_copy.warehouse, home_copy.shop_url, target=home / "dbt-target")
    return copy


def shop_rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    engine = create_engine(warehouse.shop_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def check_orders_and_totals_per_day_match_the_shop(warehouse: Warehouse) -> None:
    shop = shop_rows(
        warehouse,
        "select date(placed_at), count(*), sum(total_minor), "
        "sum(case when paid_at is not null then 1 else 0 end), "
        "sum(case when paid_at is not null then total_minor else 0 end) "
        "from orders group by date(placed_at) order by 1",
    )
    marts = warehouse.query(
        "select cast(order_date as varchar), count(*), sum(total_minor), "
        "sum(case when is_paid then 1 else 0 end), "
        "sum(case when is_paid then total_minor else 0 end) "
        "from marts.fct_orders group by order_date order by 1"
    )
    assert shop, "the simulation placed no orders: the reconciliation would prove nothing"
    assert [tuple(int(v) if i else v for i, v in enumerate(row)) for row in marts] == shop


def check_gmv_and_customers_match_the_shop(warehouse: Warehouse) -> None:
    [(gmv, paid_orders, buyers)] = shop_rows(
        warehouse,
        "select sum(total_minor), count(*), count(distinct buyer_id) from orders "
        "where paid_at is not null",
    )
    [(customers,)] = shop_rows(
        warehouse,
        "select count(*) from users where role = 'shopper' or id in (select buyer_id from orders)",
    )
    [(mart_gmv, mart_paid_orders)] = warehouse.query(
        "select sum(total_minor), count(*) from marts.fct_orders where is_paid"
    )
    [(mart_customers, mart_buyers, lifetime_gross)] = warehouse.query(
        "select count(*), count(*) filter (where orders_paid > 0), sum(gross_spend_minor) "
        "from marts.dim_customers"
    )
    assert paid_orders > 0
    assert (mart_gmv, mart_paid_orders) == (gmv, paid_orders)
    assert lifetime_gross == gmv
    assert (mart_customers, mart_buyers) == (customers, buyers)


def check_customer_identifiers_and_consents_match_the_shop(warehouse: Warehouse) -> None:
    """Hashes by the one normaliser (audiences.identifiers), consents per purpose, and no
    raw phone anywhere in the warehouse."""
    shop = {
        str(user_id).replace("-", ""): (
            hashed_email(email),
            hashed_phone(phone),
            bool(data),
            bool(personalization),
        )
        for user_id, email, phone, data, personalization in shop_rows(
            warehouse,
            "select id, email, phone, ad_user_data_consent, ad_personalization_consent "
            "from users where role = 'shopper' and erased_at is null",
        )
    }
    marts = {
        user_id.replace("-", ""): (email_hash, phone_hash, data, personalization, marketing)
        for user_id, email_hash, phone_hash, data, personalization, marketing in warehouse.query(
            "select customer_id, email_sha256, phone_sha256, has_ad_user_data_consent, "
            "has_ad_personalization_consent, has_marketing_consent from marts.dim_customers "
            "where role = 'shopper' and not is_erased"
        )
    }
    assert marts.keys() == shop.keys()
    assert {key: row[:4] for key, row in marts.items()} == shop
    assert all(row[4] == (row[2] and row[3]) for row in marts.values())
    assert any(row[1] for row in marts.values()), "no simulated shopper gave a phone"
    assert any(row[2] and not row[3] for row in marts.values()) or any(
        row[3] and not row[2] for row in marts.values()
    ), "the purposes never differ: the test would not tell them apart"
    raw_columns = {
        name
        for (name,) in warehouse.query(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'shop_users'"
        )
    }
    assert {"email_sha256", "phone_sha256"} <= raw_columns
    assert "phone" not in raw_columns


def check_clickstream_marts_are_populated(warehouse: Warehouse) -> None:
    [(sessions, funnel_sessions)] = warehouse.query(
        "select (select count(*) from marts.fct_sessions), "
        "(select sum(sessions) from marts.fct_session_funnel_daily)"
    )
    assert sessions > 0 and funnel_sessions == sessions
    [(searches, zero_result)] = warehouse.query(
        "select sum(searches), sum(zero_result_searches) from marts.fct_search_terms"
    )
    assert searches > 0 and 0 <= zero_result <= searches
    [(impressions,)] = warehouse.query(
        "select sum(impressions) from marts.recommendation_performance"
    )
    assert impressions > 0
    [(interactions, users)] = warehouse.query(
        "select count(*), count(distinct user_key) from marts.interactions"
    )
    assert interactions > 0 and users > 0


def check_user_funnel_counts_every_buyer_on_the_day_they_paid(warehouse: Warehouse) -> None:
    """Each paid order sends a server-side purchase naming its buyer, so the user funnel's
    purchases are the shop's (buyer, payment day) pairs, whatever session filled the cart;
    the same-session funnel counts fewer (carts filled in an earlier session)."""
    [(buyer_days,)] = shop_rows(
        warehouse,
        "select count(*) from (select distinct buyer_id, date(paid_at) from orders "
        "where paid_at is not null) as paid",
    )
    [(user_purchases, session_purchases)] = warehouse.query(
        "select (select sum(users_purchase) from marts.fct_user_funnel_daily), "
        "(select sum(sessions_purchase) from marts.fct_session_funnel_daily)"
    )
    assert buyer_days > 0
    assert user_purchases == buyer_days
    assert session_purchases <= user_purchases


def check_neptune_export_files_have_bulk_load_headers(warehouse: Warehouse) -> None:
    graph = warehouse.home / "exports" / "graph"
    with warehouse.connect() as conn:
        write_neptune_files(conn, graph)
    vertices = (graph / "vertices.csv").read_text().splitlines()
    edges = (graph / "edges.csv").read_text().splitlines()
    assert vertices[0].split(",")[:2] == ["~id", "~label"]
    assert edges[0].split(",")[:4] == ["~id", "~from", "~to", "~label"]
    [(nodes, graph_edges)] = warehouse.query(
        "select (select count(*) from marts.interaction_graph_nodes), "
        "(select count(*) from marts.interaction_graph_edges)"
    )
    assert (len(vertices) - 1, len(edges) - 1) == (nodes, graph_edges)


def check_rerunning_on_the_same_data_changes_nothing(warehouse: Warehouse) -> None:
    before = warehouse.fingerprint()
    warehouse.dbt("run")
    assert warehouse.fingerprint() == before
    [(last_day,)] = warehouse.query("select cast(max(event_date) as varchar) from raw.events")
    window = f'{{"min_date": "{last_day}", "max_date": "{last_day}"}}'
    warehouse.dbt("run", "--select", "config.materialized:incremental", "--vars", window)
    assert warehouse.fingerprint() == before


def check_an_erased_buyer_leaves_no_personal_data_in_the_marts(warehouse: Warehouse) -> None:
    """Erase a buyer in the shop (no app running: the lake is not rewritten, so the raw
    loads' erasure sweep and dbt's own handling must do the job), reload, rebuild."""
    import uuid

    from sqlalchemy.orm import Session

    from shop_api.accounts.erasure import erase_user
    from shop_api.core.clock import SystemClock
    from shop_api.models import User

    [(user_id, email)] = warehouse.query(
        "select customer_id, email from marts.dim_customers "
        "where orders_paid > 0 and customer_id in (select user_id from marts.fct_sessions) "
        "order by phone_sha256 is null, has_ad_user_data_consent desc, customer_id limit 1"
    )
    engine = create_engine(warehouse.shop_url)
    try:
        with Session(engine) as session:
            erase_user(session, session.get(User, uuid.UUID(user_id)), SystemClock())
    finally:
        engine.dispose()
    load_raw(warehouse.home, warehouse.database, warehouse.shop_url)
    warehouse.dbt("run")
    warehouse.dbt("test", "--select", "assert_no_personal_data_of_erased_users")

    [erased] = warehouse.query(
        "select is_erased, email, email_sha256, phone_sha256, display_name, "
        "has_ad_user_data_consent, has_ad_personalization_consent, has_marketing_consent "
        f"from marts.dim_customers where customer_id = '{user_id}'"
    )
    assert erased == (True, None, None, None, None, False, False, False)
    for table in ("marts.fct_sessions", "marts.interactions", "staging.stg_raw__events"):
        assert warehouse.query(f"select count(*) from {table} where user_id = '{user_id}'") == [
            (0,)
        ], table
    assert warehouse.query(
        f"select count(*) from marts.customer_rfm where customer_id = '{user_id}'"
    ) == [(0,)]
    # the export asset runs after the graph marts it reads, as in a pipeline run
    graph = warehouse.home / "exports" / "graph"
    with warehouse.connect() as conn:
        write_neptune_files(conn, graph)
    vertices = (graph / "vertices.csv").read_text()
    assert f"buyer:{user_id}" not in vertices
    assert email not in vertices


def test_warehouse_builds_and_reconciles_with_the_shop(warehouse: Warehouse) -> None:
    """One test (one build): under ``pytest -n 2`` separate tests could land on both workers
    and simulate and build twice."""
    check_orders_and_totals_per_day_match_the_shop(warehouse)
    check_gmv_and_customers_match_the_shop(warehouse)
    check_customer_identifiers_and_consents_match_the_shop(warehouse)
    check_clickstream_marts_are_populated(warehouse)
    check_user_funnel_counts_every_buyer_on_the_day_they_paid(warehouse)
    check_neptune_export_files_have_bulk_load_headers(warehouse)
    check_rerunning_on_the_same_data_changes_nothing(warehouse)
    check_an_erased_buyer_leaves_no_personal_data_in_the_marts(warehouse)
