"""The warehouse built from each shipped real dataset, checked against pandas.

Acceptance of issue 14: every dataset is imported with ``mercado import`` into one fresh
``MERCADO_HOME`` (the datasets' ids never collide, each has its own prefix), as an analyst
adds them: Diginetica, a CSV of Diginetica's views through the generic importer, Olist,
MovieLens (1997-98) and Online Retail (2010). The raw tables are then loaded with the
plain load functions of ``orchestration.loads`` (the code the raw assets call, the shop
database migrated first as the shop resource does it) and the whole warehouse is built
with one ``dbt build`` over the lake's whole day range (the arguments the incremental
assets pass dbt), dbt tests included. Dagster itself is left to ``tests/orchestration``
(on a simulated shop): one pipeline run per dataset would cost minutes of start-up and
planning for no further check here. The build must succeed, and the marts must agree
with figures computed here, with pandas, straight from the source files: orders by
status, GMV, payments by method, the late-delivery share and review averages (Olist), the
users, items and rows of ``interactions`` (Diginetica, MovieLens, the CSV), purchases and
their value (Online Retail).

The datasets are not in the repository: they are looked for in ``$MERCADO_DATA_DIR`` or
``<repo>/../shared/data``, and the tests skip with the reason when one is absent.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from shop_api.core.config import get_settings
from simulator.importers.datasets import (
    DIGINETICA,
    MOVIELENS,
    OLIST_SAMPLE,
    ONLINE_RETAIL,
    data_dir,
    dataset_unavailable_reason,
)

pytestmark = pytest.mark.slow

ENV_KEYS = ("MERCADO_HOME", "MERCADO_DATABASE_URL", "MERCADO_WAREHOUSE_PATH", "DAGSTER_HOME")
OLIST_FILES = (
    "olist_orders_dataset.csv",
    "olist_order_items_dataset.csv",
    "olist_order_payments_dataset.csv",
    "olist_order_reviews_dataset.csv",
    "olist_customers_dataset.csv",
)
DIGINETICA_FILE = "sample_train-item-views.csv"
RETAIL_FILE = "online_retail_first10k_clean.csv.gz"
FEED_NAME = "partner feed"  # the generic CSV import; its ids get the prefix partner_feed:
FEED_PREFIX = "partner_feed"
MARTS = (
    "fct_orders", "fct_order_items", "fct_payments", "fct_shipments", "dim_customers",
    "dim_products", "dim_sellers", "seller_performance", "customer_rfm", "cohort_retention",
)  # fmt: skip


@dataclass(frozen=True)
class Built:
    """A home after its warehouse build: its path and what dbt reported."""

    home: Path
    success: bool
    summary: str

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.home / "warehouse.duckdb"), read_only=True) as conn:
            conn.execute("set TimeZone = 'UTC'")
            return conn.execute(sql).fetchall()

    def tables(self, schema: str) -> set[str]:
        rows = self.query(
            f"select table_name from information_schema.tables where table_schema = '{schema}'"
        )
        return {name for (name,) in rows}


def _skip_unless(dataset: str, *files: str) -> None:
    reason = dataset_unavailable_reason(dataset, *files)
    if reason:
        pytest.skip(f"shared dataset missing: {reason}")


@pytest.fixture(scope="module")
def fresh_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Makes a fresh MERCADO_HOME current (environment and settings) for a build."""
    patch = pytest.MonkeyPatch()

    def enter(name: str) -> Path:
        home = tmp_path_factory.mktemp(name)
        for key in ENV_KEYS:
            patch.delenv(key, raising=False)
        patch.setenv("MERCADO_HOME", str(home))
        patch.setenv("MERCADO_LOG_JSON", "false")
        get_settings.cache_clear()
        return home

    yield enter
    patch.undo()
    get_settings.cache_clear()


def _mercado(*args: str) -> str:
    from mercado_cli.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _load_and_build(home: Path) -> tuple[bool, str]:
    """Load every raw table from the home's shop database and lake, then ``dbt build``
    over all the lake's days: (succeeded, dbt's output)."""
    from orchestration.components.warehouse_dbt import warehouse_env
    from orchestration.dbt import dbt_executable, dbt_project
    from orchestration.defs.resources import ShopDatabaseResource
    from orchestration.defs.transform_incremental.assets import dbt_build_args
    from orchestration.loads import (
        lake_days,
        load_all_shop_tables,
        load_events_bad,
        load_events_partitions,
        open_writer,
        writer_lock,
    )
    from orchestration.settings import PipelineSettings

    settings = PipelineSettings()
    database, lake = settings.resolved_warehouse_path, settings.lake_dir
    assert database.parent == home
    days = lake_days(lake)
    with (
        ShopDatabaseResource(url=settings.shop_database_url).engine() as engine,
        open_writer(database) as conn,
    ):
        load_all_shop_tables(conn, engine)
        load_events_partitions(conn, lake, days)
        load_events_bad(conn, lake)
    window = dg.TimeWindow(
        datetime.fromisoformat(days[0]), datetime.fromisoformat(days[-1]) + timedelta(days=1)
    )
    with warehouse_env(), writer_lock(database):
        done = subprocess.run(
            [dbt_executable(), *dbt_build_args(window)],
            cwd=dbt_project.project_dir,
            capture_output=True,
            text=True,
            check=False,
        )
    return done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def warehouse(fresh_home, tmp_path_factory) -> Built:  # type: ignore[no-untyped-def]
    _skip_unless(OLIST_SAMPLE, *OLIST_FILES)
    _skip_unless(DIGINETICA, DIGINETICA_FILE)
    _skip_unless(MOVIELENS, "u.data")
    _skip_unless(ONLINE_RETAIL, RETAIL_FILE)
    feed = tmp_path_factory.mktemp("feed") / "feed.csv"
    partner_feed(feed)
    home = fresh_home("real-data-home")
    _mercado("import", "clickstream", "diginetica")
    _mercado("import", "csv", str(feed), "--dataset-name", FEED_NAME)
    _mercado("import", "olist")
    _mercado("import", "clickstream", "movielens")
    _mercado("import", "clickstream", "online-retail")
    return Built(home, *_load_and_build(home))


# --- the source files, read with pandas ----------------------------------------------------


def olist_frame(name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir() / OLIST_SAMPLE / f"olist_{name}_dataset.csv", dtype=str)


def minor(series: pd.Series) -> pd.Series:
    """Decimal text → integer minor units, exactly (no float rounding)."""
    return series.map(lambda text: int(Decimal(text) * 100))


def diginetica_rows() -> pd.DataFrame:
    rows = pd.read_csv(
        data_dir() / DIGINETICA / DIGINETICA_FILE, sep=";", dtype=str, keep_default_na=False
    )  # "NA" (no user) stays text
    rows.columns = [c.lower().replace("_", "") for c in rows.columns]
    return rows


def partner_feed(path: Path) -> None:
    """A CSV for the generic importer, made from a real file: Diginetica's logged-in views
    as ``user_id,item_id,timestamp`` (default event: ``view_item``)."""
    rows = diginetica_rows()
    rows = rows[rows["userid"] != "NA"]
    moment = pd.to_datetime(rows["eventdate"]) + pd.to_timedelta(
        rows["timeframe"].astype("int64"), unit="ms"
    )
    feed = pd.DataFrame(
        {
            "user_id": "u" + rows["userid"],
            "item_id": "i" + rows["itemid"],
            "timestamp": moment.dt.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        }
    )
    feed.to_csv(path, index=False)


def interaction_figures(built: Built, prefix: str) -> tuple[int, int, int]:
    [(users, items, rows)] = built.query(
        "select count(distinct user_key), count(distinct product_id), count(*) "
        f"from marts.interactions where product_id like '{prefix}:%'"
    )
    return users, items, rows


# --- Olist -----------------------------------------------------------------------------


def test_dbt_builds_every_mart_from_real_data(warehouse: Built) -> None:
    assert warehouse.success, warehouse.summary
    assert {*MARTS, "interactions", "fct_sessions"} <= warehouse.tables("marts")


def test_olist_orders_by_status_and_gmv_match_the_files(warehouse: Built) -> None:
    orders, items = olist_frame("orders"), olist_frame("order_items")
    shop_status = {"delivered": "delivered", "shipped": "shipped", "canceled": "cancelled",
                   "unavailable": "cancelled", "invoiced": "paid", "processing": "paid",
                   "approved": "paid", "created": "pending_payment"}  # fmt: skip
    expected_status = orders["order_status"].map(shop_status).value_counts().to_dict()
    paid = orders.loc[orders["order_approved_at"].notna(), "order_id"]
    lines = items[items["order_id"].isin(paid)]
    expected_gmv = int(minor(lines["price"]).sum() + minor(lines["freight_value"]).sum())

    status = dict(warehouse.query("select order_status, count(*) from marts.fct_orders group by 1"))
    [(gmv, currency)] = warehouse.query(
        "select sum(total_minor) filter (where is_paid), string_agg(distinct currency, ',') "
        "from marts.fct_orders"
    )

    assert status == expected_status
    assert (gmv, currency) == (expected_gmv, "BRL")


def test_olist_payments_by_method_match_the_files(warehouse: Built) -> None:
    payments = olist_frame("order_payments")
    payments["minor"] = minor(payments["payment_value"])
    expected = {
        method: (len(group), int(group["minor"].sum()))
        for method, group in payments.groupby("payment_type")
    }

    rows = warehouse.query(
        "select payment_method, count(*), sum(amount_minor) from marts.fct_payments group by 1"
    )

    assert {method: (n, int(total)) for method, n, total in rows} == expected


def test_olist_late_delivery_share_matches_the_files(warehouse: Built) -> None:
    orders = olist_frame("orders")
    delivered = orders[
        (orders["order_status"] == "delivered")
        & orders["order_delivered_customer_date"].notna()
        & orders["order_estimated_delivery_date"].notna()
    ]
    late = pd.to_datetime(delivered["order_delivered_customer_date"]).dt.normalize() > (
        pd.to_datetime(delivered["order_estimated_delivery_date"]).dt.normalize()
    )

    [(measured, late_orders, share)] = warehouse.query(
        "select count(is_delivered_late), count(*) filter (where is_delivered_late), "
        "avg(case when is_delivered_late then 1.0 else 0.0 end) filter "
        "(where is_delivered_late is not null) from marts.fct_orders"
    )

    assert (measured, late_orders) == (len(delivered), int(late.sum()))
    assert share == pytest.approx(late.mean())


def test_olist_review_averages_match_the_files(warehouse: Built) -> None:
    """One review per order item (the shop's rule): an order's reviews, earliest first,
    go on its items in order; reviews beyond its item count are not loaded."""
    reviews, items = olist_frame("order_reviews"), olist_frame("order_items")
    items_per_order = items.groupby("order_id").size().rename("items")
    reviews = reviews.join(items_per_order, on="order_id")
    reviews = reviews.sort_values(["order_id", "review_creation_date", "review_id"])
    reviews["rank"] = reviews.groupby("order_id").cumcount() + 1
    kept = reviews[reviews["rank"] <= reviews["items"].fillna(0)]
    scores = kept["review_score"].astype(int)

    [(count, average)] = warehouse.query(
        "select count(review_rating), avg(review_rating) from marts.fct_order_items"
    )
    [(seller_reviews,)] = warehouse.query("select sum(review_count) from marts.seller_performance")

    assert count == len(kept) == 493
    assert average == pytest.approx(scores.mean())
    assert seller_reviews == len(kept)


# --- clickstreams ------------------------------------------------------------------------


def test_diginetica_views_become_interactions(warehouse: Built) -> None:
    """A session's views belong to its logged-in user when any of its rows names one,
    else to the anonymous device (``client:<client_id>``); one row per user, item, day."""
    rows = diginetica_rows()
    moment = pd.to_datetime(rows["eventdate"]) + pd.to_timedelta(
        rows["timeframe"].astype("int64"), unit="ms"
    )
    known = rows[rows["userid"] != "NA"].groupby("sessionid")["userid"].first()
    session_user = rows["sessionid"].map(known)
    user = rows["userid"].where(rows["userid"] != "NA", session_user)
    user_key = ("diginetica:" + user).where(user.notna(), "client:diginetica-s" + rows["sessionid"])
    keys = pd.DataFrame(
        {"user": user_key, "item": "diginetica:" + rows["itemid"], "day": moment.dt.date}
    )

    [(views,)] = warehouse.query(
        "select sum(views) from marts.interactions where product_id like 'diginetica:%'"
    )

    assert interaction_figures(warehouse, "diginetica") == (
        keys["user"].nunique(),
        keys["item"].nunique(),
        len(keys.drop_duplicates()),
    )
    assert views == len(rows)


def test_movielens_ratings_become_interactions(warehouse: Built) -> None:
    ratings = pd.read_csv(
        data_dir() / MOVIELENS / "u.data", sep="\t", names=["user", "item", "rating", "stamp"]
    )
    day = pd.to_datetime(ratings["stamp"], unit="s", utc=True).dt.date
    keys = pd.DataFrame({"user": ratings["user"], "item": ratings["item"], "day": day})

    [(average, reviewed)] = warehouse.query(
        "select avg(review_rating), count(review_rating) from marts.interactions "
        "where product_id like 'movielens:%'"
    )

    assert interaction_figures(warehouse, "movielens") == (
        ratings["user"].nunique(),
        ratings["item"].nunique(),
        len(keys.drop_duplicates()),
    )
    assert reviewed == len(ratings)
    assert average == pytest.approx(ratings["rating"].mean())


def test_a_generic_csv_becomes_interactions(warehouse: Built, tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    partner_feed(path)
    feed = pd.read_csv(path, dtype=str)
    day = pd.to_datetime(feed["timestamp"]).dt.date
    keys = pd.DataFrame({"user": feed["user_id"], "item": feed["item_id"], "day": day})

    assert interaction_figures(warehouse, FEED_PREFIX) == (
        feed["user_id"].nunique(),
        feed["item_id"].nunique(),
        len(keys.drop_duplicates()),
    )


def test_online_retail_purchases_and_their_value_match_the_file(warehouse: Built) -> None:
    lines = pd.read_csv(data_dir() / ONLINE_RETAIL / RETAIL_FILE, dtype=str)
    sales = lines[~lines["InvoiceNo"].str.upper().str.startswith("C")].copy()
    sales["value"] = sales["UnitPrice"].map(Decimal) * sales["Quantity"].map(Decimal)
    per_invoice = sales.groupby("InvoiceNo")["value"].sum()
    expected_value = sum(int(value.quantize(Decimal("0.01")) * 100) for value in per_invoice)

    [(purchases, value)] = warehouse.query(
        "select sum(purchases), sum(purchase_value_minor) from marts.fct_sessions "
        "where client_id like 'online-retail-%'"
    )

    assert (purchases, value) == (len(per_invoice), expected_value)
