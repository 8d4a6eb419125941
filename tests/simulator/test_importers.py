"""The dataset importers on the real shipped data: exact row counts (counted here from the
files, independently of the importers), idempotency, rejects with reasons, and the Olist
import on SQLite and PostgreSQL.

The datasets are not in the repository (their licences forbid it): they are looked for in
``$MERCADO_DATA_DIR`` or ``<repo>/../shared/data``, and each test skips with the reason
when its dataset is absent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shop_api.core.config import get_settings
from shop_api.core.db import create_db_engine
from shop_api.core.migrations import upgrade_to_head
from shop_api.models import (
    FulfilmentGroup,
    Listing,
    Order,
    OrderItem,
    OrderStatusChange,
    Payment,
    Review,
    Shipment,
    ShipmentEvent,
    User,
    UserRole,
)
from shop_api.tracking.lake import EVENTS, EVENTS_BAD, LandingZone
from simulator.importers import olist as olist_module
from simulator.importers.clickstream import (
    import_diginetica,
    import_movielens,
    import_online_retail,
)
from simulator.importers.datasets import (
    DIGINETICA,
    MOVIELENS,
    OLIST_FULL,
    OLIST_SAMPLE,
    ONLINE_RETAIL,
    data_dir,
    dataset_unavailable_reason,
)
from simulator.importers.generic import CsvHeaderError, import_csv
from simulator.importers.olist import import_olist

DIGINETICA_FILE = "sample_train-item-views.csv"
RETAIL_FILE = "online_retail_first10k_clean.csv.gz"


def needs(dataset: str, *files: str) -> pytest.MarkDecorator:
    reason = dataset_unavailable_reason(dataset, *files)
    return pytest.mark.skipif(reason is not None, reason=f"shared dataset missing: {reason}")


def csv_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """Read a CSV here, without the importers' helpers (a BOM is dropped)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    text = io.StringIO(raw.decode("utf-8-sig"), newline="")
    return list(csv.DictReader(text, delimiter=delimiter))


def lake_events(lake: LandingZone) -> list[dict]:
    return list(lake.read(EVENTS))


def file_times(lake: LandingZone, dataset: str = EVENTS) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in lake.files(dataset)}


@pytest.fixture
def lake(tmp_path: Path) -> LandingZone:
    return LandingZone(tmp_path / "lake")


# --- clickstream ---------------------------------------------------------------------------


@needs(DIGINETICA, DIGINETICA_FILE)
def test_diginetica_lands_one_view_item_per_row_and_a_reimport_changes_nothing(lake):
    rows = csv_rows(data_dir() / DIGINETICA / DIGINETICA_FILE, delimiter=";")
    assert len(rows) == 12_391  # as PROVENANCE.md states

    report = import_diginetica(lake)

    table = report.tables[DIGINETICA_FILE]
    assert (table.read, table.loaded, table.skipped, table.rejected) == (len(rows), len(rows), 0, 0)
    events = lake_events(lake)
    assert len(events) == len(rows)
    assert {event["event_name"] for event in events} == {"view_item"}
    assert len({event["event_id"] for event in events}) == len(rows)
    assert Counter(e["items"][0]["item_id"] for e in events) == Counter(
        f"diginetica:{row['item_id']}" for row in rows
    )
    with_user = [row for row in rows if row["user_id"] != "NA"]
    assert sum(1 for event in events if event["user_id"]) == len(with_user)
    assert {event["session_id"] for event in events} == {
        f"diginetica:{row['session_id']}" for row in rows
    }
    days = {row["eventdate"] for row in rows}
    assert {path.parent.name for path in lake.files()} <= {f"dt={day}" for day in days} | {
        f"dt={day}" for day in _next_days(days)
    }  # a view late in a session can fall on the next day
    first = rows[0]
    [event] = [
        e
        for e in events
        if e["session_id"] == f"diginetica:{first['session_id']}"
        and e["items"][0]["item_id"] == f"diginetica:{first['item_id']}"
    ][:1]
    start = datetime.fromisoformat(first["eventdate"]).replace(tzinfo=UTC)
    moment = datetime.fromisoformat(event["event_time"])
    assert (moment - start).total_seconds() * 1000 == pytest.approx(int(first["timeframe"]))
    before = file_times(lake)

    again = import_diginetica(lake)

    table = again.tables[DIGINETICA_FILE]
    assert (table.read, table.loaded, table.skipped, table.rejected) == (len(rows), 0, len(rows), 0)
    assert again.written["events written"] == 0
    assert file_times(lake) == before  # unchanged files are not even rewritten
    assert len(lake_events(lake)) == len(rows)


def _next_days(days: set[str]) -> set[str]:
    from datetime import date, timedelta

    return {(date.fromisoformat(day) + timedelta(days=1)).isoformat() for day in days}


@needs(ONLINE_RETAIL, RETAIL_FILE)
def test_online_retail_lands_one_purchase_per_invoice_and_refunds_for_cancellations(lake):
    rows = csv_rows(data_dir() / ONLINE_RETAIL / RETAIL_FILE)
    assert len(rows) == 10_000
    invoices = {row["InvoiceNo"] for row in rows}
    cancellations = {number for number in invoices if number.startswith("C")}

    report = import_online_retail(lake)

    table = report.tables[RETAIL_FILE]
    assert (table.read, table.loaded, table.rejected) == (len(rows), len(rows), 0)
    events = lake_events(lake)
    assert len(events) == len(invoices) == 521
    names = Counter(event["event_name"] for event in events)
    assert (
        names
        == Counter({"purchase": len(invoices - cancellations), "refund": len(cancellations)})
        - Counter()
    )
    assert {e["params"]["transaction_id"] for e in events} == {
        f"online_retail:{n}" for n in invoices
    }
    assert {e["params"]["currency"] for e in events} == {"GBP"}
    quantities = sum(abs(int(row["Quantity"])) for row in rows)
    assert sum(item["quantity"] for e in events for item in e["items"]) == quantities
    revenue = sum(Decimal(row["UnitPrice"]) * abs(int(row["Quantity"])) for row in rows)
    assert sum(Decimal(str(e["params"]["value"])) for e in events) == pytest.approx(
        revenue, abs=Decimal("0.01") * len(invoices)
    )
    customers = {row["CustomerID"].removesuffix(".0") for row in rows if row["CustomerID"]}
    assert {e["user_id"] for e in events} == {f"online_retail:{c}" for c in customers}

    again = import_online_retail(lake)

    assert again.tables[RETAIL_FILE].loaded == 0
    assert again.tables[RETAIL_FILE].skipped == len(rows)
    assert len(lake_events(lake)) == len(invoices)


def test_online_retail_cancellations_become_refunds_and_bad_lines_are_quarantined(lake, tmp_path):
    # The shipped sample has no cancellations (PROVENANCE.md), so this uses a small file in
    # the original UCI layout.
    path = tmp_path / "retail.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850.0,United Kingdom\n"
        "536365,71053,LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom\n"
        "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527.0,United Kingdom\n"
        "536380,22961,JAM,-3,12/1/2010 9:45,1.45,,United Kingdom\n"
        "536381,22139,RETROSPOT,lots,12/1/2010 9:45,4.25,15311.0,United Kingdom\n",
        encoding="utf-8",
    )

    report = import_online_retail(lake, path)

    table = report.tables["retail.csv"]
    assert (table.read, table.loaded, table.rejected) == (5, 3, 2)
    assert table.reasons == {
        "Quantity: negative outside a cancellation (C…) invoice": 1,
        "Quantity: not a number": 1,
    }
    events = {e["params"]["transaction_id"]: e for e in lake_events(lake)}
    assert events["online_retail:536365"]["event_name"] == "purchase"
    assert events["online_retail:536365"]["params"]["value"] == pytest.approx(35.64)
    refund = events["online_retail:C536379"]
    assert refund["event_name"] == "refund"
    assert refund["params"]["value"] == pytest.approx(27.5)
    assert refund["items"][0]["quantity"] == 1
    bad = list(lake.read(EVENTS_BAD))
    assert len(bad) == 2
    assert all(record["source"] == "import:online-retail" and record["reasons"] for record in bad)


@pytest.mark.slow  # 100,000 events validated and landed: several seconds
@needs(MOVIELENS, "u.data")
def test_movielens_lands_one_write_review_per_rating(lake):
    lines = (data_dir() / MOVIELENS / "u.data").read_text(encoding="latin-1").splitlines()
    ratings = [line.split("\t") for line in lines if line.strip()]
    assert len(ratings) == 100_000

    report = import_movielens(lake)

    table = report.tables["u.data"]
    assert (table.read, table.loaded, table.skipped, table.rejected) == (100_000, 100_000, 0, 0)
    events = lake_events(lake)
    assert len(events) == 100_000
    assert Counter(e["params"]["rating"] for e in events) == Counter(
        int(rating) for _u, _i, rating, _t in ratings
    )
    assert {e["event_name"] for e in events} == {"write_review"}
    assert len({e["user_id"] for e in events}) == 943
    assert len({e["items"][0]["item_id"] for e in events}) == 1682
    by_id = {e["event_id"]: e for e in events}
    user, item, rating, stamp = ratings[0]
    [event] = [
        e
        for e in by_id.values()
        if e["user_id"] == f"movielens:{user}" and e["items"][0]["item_id"] == f"movielens:{item}"
    ]
    assert event["params"]["rating"] == int(rating)
    assert datetime.fromisoformat(event["event_time"]) == datetime.fromtimestamp(int(stamp), UTC)
    assert event["items"][0]["item_name"]  # the title, from u.item
    assert event["extra"]["import_dataset"] == MOVIELENS


# --- the generic CSV importer ---------------------------------------------------------------

GENERIC_CSV = (
    "user_id,item_id,timestamp,event_name,value,transaction_id\n"
    "u1,i1,2024-03-01T10:00:00Z,,,\n"  # view_item by default
    "u1,i2,1709287200,add_to_cart,,\n"  # unix seconds
    "u2,i3,2024-03-02 12:30:00,purchase,19.90,T-9\n"  # extra column → params
    "u3,i4,2024-03-02,write_review,4,\n"  # value is the rating
    "u1,i1,2024-03-01T10:00:00Z,,,\n"  # the first row again
    "u4,i5,yesterday,,,\n"
    ",i6,2024-03-02,,,\n"
    "u5,i7,2024-03-02,teleport,,\n"
    "u6,i8,2024-03-02,purchase,12,\n"  # a purchase needs a transaction id
    "u7,i9,2024-03-02,write_review,9,\n"  # a rating from 1 to 5
    "u8,i10,2024-03-02,purchase,cheap,T-1\n"
    "u9,i11\n"
)


def test_generic_csv_loads_good_rows_and_quarantines_bad_ones_with_reasons(lake, tmp_path):
    path = tmp_path / "interactions.csv"
    path.write_text(GENERIC_CSV, encoding="utf-8")

    report = import_csv(lake, path, dataset_name="partner feed", currency="EUR")

    table = report.tables["interactions.csv"]
    assert (table.read, table.loaded, table.skipped, table.rejected) == (12, 4, 1, 7)
    assert table.reasons == {
        "timestamp: neither ISO 8601 nor unix seconds": 1,
        "user_id: required": 1,
        "event_name: not an event v1 name": 1,
        "params.transaction_id: required for purchase": 1,
        "params.rating: an integer from 1 to 5 is required for write_review": 1,
        "value: not a number": 1,
        "row: 2 fields where the header has 6": 1,
    }
    events = {e["items"][0]["item_id"].removeprefix("partner_feed:"): e for e in lake_events(lake)}
    assert set(events) == {"i1", "i2", "i3", "i4"}
    assert events["i1"]["event_name"] == "view_item"
    assert events["i2"]["event_time"] == "2024-03-01T10:00:00Z"
    assert events["i3"]["params"] == {"value": 19.9, "currency": "EUR", "transaction_id": "T-9"}
    assert events["i4"]["params"] == {"rating": 4}
    assert events["i4"]["client_id"] == events["i4"]["user_id"] == "partner_feed:u3"
    bad = list(lake.read(EVENTS_BAD))
    assert len(bad) == 7
    assert all(record["reasons"] and record["source"] == "import:partner feed" for record in bad)
    assert {record["event"].get("line") for record in bad} >= {7, 8, 13}


def test_generic_csv_reimport_skips_what_is_there_and_replaces_what_changed(lake, tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text(GENERIC_CSV, encoding="utf-8")
    import_csv(lake, path, dataset_name="feed")
    before_events, before_bad = file_times(lake), file_times(lake, EVENTS_BAD)

    again = import_csv(lake, path, dataset_name="feed")

    assert (again.loaded, again.skipped, again.rejected) == (0, 5, 7)
    assert file_times(lake) == before_events
    assert file_times(lake, EVENTS_BAD) == before_bad  # the same rejects are not re-quarantined
    assert len(lake_events(lake)) == 4

    # The feed changes: one day's row is gone, a new one arrives. The import is replaced,
    # not appended to, and the day with nothing left loses its file.
    path.write_text(
        "user_id,item_id,timestamp\nu1,i1,2024-03-01T10:00:00Z\nu9,i9,2024-03-05T08:00:00Z\n",
        encoding="utf-8",
    )
    changed = import_csv(lake, path, dataset_name="feed")

    assert (changed.loaded, changed.skipped, changed.rejected) == (1, 1, 0)
    assert sorted(e["items"][0]["item_id"] for e in lake_events(lake)) == ["feed:i1", "feed:i9"]
    assert changed.written["stale event files removed"] == 1  # 2024-03-02
    assert list(lake.read(EVENTS_BAD)) == []  # the earlier rejects were superseded

    other = import_csv(lake, path, dataset_name="another feed")  # a different import

    assert other.loaded == 2
    assert len(lake_events(lake)) == 4


def test_generic_csv_ids_are_shop_uuids_or_kept_under_the_dataset_prefix(lake, tmp_path):
    """Every id fits the event contract, so the rows land instead of being quarantined."""
    listing = uuid.uuid4()
    path = tmp_path / "feed.csv"
    path.write_text(
        "user_id,item_id,timestamp\n"
        f"u1,{str(listing).upper()},2024-03-01T10:00:00Z\n"  # a shop listing, not canonical
        "u1,BANK CHARGES,2024-03-01T11:00:00Z\n"
        "42,sku:7,2024-03-01T12:00:00Z\n",
        encoding="utf-8",
    )

    report = import_csv(lake, path, dataset_name="Partner Feed-2")

    assert report.tables["feed.csv"].loaded == 3
    landed = sorted((e["user_id"], e["items"][0]["item_id"]) for e in lake_events(lake))
    assert landed == sorted(
        [
            ("partner_feed_2:u1", str(listing)),
            ("partner_feed_2:u1", "partner_feed_2:BANK CHARGES"),
            ("partner_feed_2:42", "partner_feed_2:sku:7"),
        ]
    )


def test_generic_csv_needs_a_header_with_the_required_columns(lake, tmp_path):
    path = tmp_path / "headless.csv"
    path.write_text("u1,i1,2024-03-01\n", encoding="utf-8")

    with pytest.raises(CsvHeaderError, match="user_id,item_id,timestamp"):
        import_csv(lake, path, dataset_name="headless")
    assert lake_events(lake) == []


def test_import_commands_print_the_report(tmp_path, monkeypatch):
    from mercado_cli.main import app

    path = tmp_path / "feed.csv"
    path.write_text(GENERIC_CSV, encoding="utf-8")
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["import", "csv", str(path), "--dataset-name", "cli feed", "--currency", "brl"]
        )
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert re.search(r"^feed\.csv\s+12\s+4\s+1\s+7$", result.output, re.MULTILINE)
    assert "1 x value: not a number" in result.output
    events = list(LandingZone(tmp_path / "var" / "lake").read())
    assert {e["params"].get("currency") for e in events} == {None, "BRL"}


@needs(ONLINE_RETAIL, RETAIL_FILE)
def test_clickstream_command_lands_the_dataset_in_the_home_lake(tmp_path, monkeypatch):
    from mercado_cli.main import app

    monkeypatch.setenv("MERCADO_HOME", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["import", "clickstream", "online-retail", "--json"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tables"][RETAIL_FILE]["loaded"] == 10_000
    assert len(list(LandingZone(tmp_path / "var" / "lake").read())) == 521


# --- Olist -------------------------------------------------------------------------------

OLIST_FILES = {
    "customers": "olist_customers_dataset.csv",
    "sellers": "olist_sellers_dataset.csv",
    "products": "olist_products_dataset.csv",
    "orders": "olist_orders_dataset.csv",
    "order_items": "olist_order_items_dataset.csv",
    "payments": "olist_order_payments_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
}
needs_olist = needs(OLIST_SAMPLE, *OLIST_FILES.values())


class OlistFiles:
    """The sample's tables, read here, and what the import should make of them."""

    def __init__(self) -> None:
        folder = data_dir() / OLIST_SAMPLE
        self.rows = {name: csv_rows(folder / file) for name, file in OLIST_FILES.items()}
        self.orders = {row["order_id"]: row for row in self.rows["orders"]}
        self.items_by_order = defaultdict(list)
        for item in self.rows["order_items"]:
            self.items_by_order[item["order_id"]].append(item)
        # One review per order item: an order keeps at most as many reviews as it has items.
        reviews_by_order = Counter(row["order_id"] for row in self.rows["reviews"])
        self.loaded_reviews = sum(
            min(count, len(self.items_by_order[order_id]))
            for order_id, count in reviews_by_order.items()
        )

    def ids(self, name: str, column: str) -> list[uuid.UUID]:
        return sorted({uuid.UUID(row[column]) for row in self.rows[name]})


@pytest.fixture(scope="module")
def olist_files() -> OlistFiles:
    return OlistFiles()


@pytest.fixture(scope="module")
def olist_runs(app: FastAPI):
    """The sample imported twice into the session's database (SQLite, then PostgreSQL)."""
    reason = dataset_unavailable_reason(OLIST_SAMPLE, *OLIST_FILES.values())
    if reason:
        pytest.skip(f"shared dataset missing: {reason}")
    first = import_olist(app.state.database.engine)
    second = import_olist(app.state.database.engine)
    return first, second


def count(db: Session, column, ids) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(select(func.count()).where(column.in_(ids))) or 0


@needs_olist
def test_olist_import_loads_every_table_with_exact_counts(olist_runs, olist_files, db):
    first, _second = olist_runs
    rows = olist_files.rows
    for name, table in first.tables.items():
        assert table.read == len(rows[name]), name
        assert table.balanced, name
    expected_loaded = {name: len(rows[name]) for name in OLIST_FILES}
    expected_loaded["reviews"] = olist_files.loaded_reviews
    assert {name: t.loaded for name, t in first.tables.items()} == expected_loaded
    assert first.tables["reviews"].reasons == {
        "order has no items to attach the review to": 3,
        "one review per order item: every item of the order has one": 4,
    }

    order_ids = olist_files.ids("orders", "order_id")
    shoppers = olist_files.ids("customers", "customer_unique_id")
    sellers = olist_files.ids("sellers", "seller_id")
    assert count(db, Order.id, order_ids) == 500
    assert count(db, OrderItem.order_id, order_ids) == len(rows["order_items"]) == 568
    assert count(db, Payment.order_id, order_ids) == len(rows["payments"]) == 528
    assert count(db, Review.id, olist_files.ids("reviews", "review_id")) == 493
    assert count(db, User.id, shoppers) == 500
    assert count(db, User.id, sellers) == 314
    roles = db.execute(
        select(User.role, func.count()).where(User.id.in_(shoppers + sellers)).group_by(User.role)
    )
    assert dict(roles.all()) == {UserRole.shopper: 500, UserRole.seller: 314}
    # 482 products, three of them sold by a second seller: one listing per product x seller.
    pairs = {(row["product_id"], row["seller_id"]) for row in rows["order_items"]}
    listing_ids = list(
        db.scalars(select(OrderItem.listing_id).where(OrderItem.order_id.in_(order_ids)))
    )
    assert len(set(listing_ids)) == len(pairs) == 485
    assert count(db, Listing.id, olist_files.ids("products", "product_id")) == 482

    statuses = db.execute(
        select(Order.status, func.count()).where(Order.id.in_(order_ids)).group_by(Order.status)
    )
    mapping = {"delivered": "delivered", "shipped": "shipped", "canceled": "cancelled",
               "unavailable": "cancelled"}  # fmt: skip
    assert {s.value: n for s, n in statuses} == Counter(
        mapping[row["order_status"]] for row in rows["orders"]
    )
    methods = db.execute(
        select(Payment.method, func.count())
        .where(Payment.order_id.in_(order_ids))
        .group_by(Payment.method)
    )
    assert dict(methods.all()) == Counter(row["payment_type"] for row in rows["payments"])
    paid = db.scalar(select(func.sum(Payment.amount_minor)).where(Payment.order_id.in_(order_ids)))
    assert paid == sum(int(Decimal(row["payment_value"]) * 100) for row in rows["payments"])
    totals = db.scalar(select(func.sum(Order.total_minor)).where(Order.id.in_(order_ids)))
    assert totals == sum(
        int(Decimal(row["price"]) * 100) + int(Decimal(row["freight_value"]) * 100)
        for row in rows["order_items"]
    )
    ratings = db.execute(
        select(func.sum(Listing.rating_count), func.sum(Listing.rating_sum)).where(
            Listing.id.in_(set(listing_ids))
        )
    ).one()
    reviews = db.execute(
        select(func.count(), func.sum(Review.rating)).where(Review.order_id.in_(order_ids))
    ).one()
    assert tuple(ratings) == tuple(reviews)
    # Every order that reached the carrier (and was not cancelled) has one shipment per seller.
    shipped = [
        oid
        for oid, row in olist_files.orders.items()
        if row["order_delivered_carrier_date"] and row["order_status"] in ("delivered", "shipped")
    ]
    expected_shipments = sum(
        len({item["seller_id"] for item in olist_files.items_by_order[oid]}) for oid in shipped
    )
    assert count(db, Shipment.order_id, [uuid.UUID(oid) for oid in shipped]) == expected_shipments


@needs_olist
def test_olist_order_keeps_its_original_times_prices_and_history(olist_runs, olist_files, db):
    # A delivered order with items from two sellers, taken from the file.
    order_key = next(
        oid
        for oid, row in sorted(olist_files.orders.items())
        if row["order_status"] == "delivered"
        and len({item["seller_id"] for item in olist_files.items_by_order[oid]}) == 2
    )
    row = olist_files.orders[order_key]
    items = olist_files.items_by_order[order_key]

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    order = db.get(Order, uuid.UUID(order_key))
    assert order is not None
    assert order.currency == "BRL"
    assert order.placed_at == at(row["order_purchase_timestamp"])
    assert order.paid_at == at(row["order_approved_at"])
    assert order.idempotency_key == f"olist:{order_key}"
    assert order.estimated_delivery_at == at(row["order_estimated_delivery_date"])
    assert order.subtotal_minor == sum(int(Decimal(i["price"]) * 100) for i in items)
    assert order.shipping_minor == sum(int(Decimal(i["freight_value"]) * 100) for i in items)
    history = db.scalars(
        select(OrderStatusChange)
        .where(OrderStatusChange.order_id == order.id)
        .order_by(OrderStatusChange.changed_at)
    ).all()
    assert [(h.from_status, h.to_status, h.changed_at) for h in history] == [
        (None, "pending_payment", at(row["order_purchase_timestamp"])),
        ("pending_payment", "paid", at(row["order_approved_at"])),
        ("paid", "shipped", at(row["order_delivered_carrier_date"])),
        ("shipped", "delivered", at(row["order_delivered_customer_date"])),
    ]
    groups = db.scalars(select(FulfilmentGroup).where(FulfilmentGroup.order_id == order.id)).all()
    assert {g.seller_id.hex for g in groups} == {i["seller_id"] for i in items}
    assert {g.status.value for g in groups} == {"delivered"}
    shipments = db.scalars(select(Shipment).where(Shipment.order_id == order.id)).all()
    assert len(shipments) == 2
    tracking = db.scalars(
        select(ShipmentEvent).where(ShipmentEvent.shipment_id == shipments[0].id)
    ).all()
    assert sorted((e.status, e.occurred_at) for e in tracking) == [
        ("delivered", at(row["order_delivered_customer_date"])),
        ("in_transit", at(row["order_delivered_carrier_date"])),
    ]
    buyer = db.get(User, order.buyer_id)
    assert buyer is not None
    assert buyer.email.endswith("@import.invalid")
    assert buyer.password_hash is None
    assert buyer.ad_user_data_consent is False
    assert buyer.ad_personalization_consent is False
    assert buyer.phone is None


@needs_olist
def test_olist_reimport_loads_nothing_new(olist_runs, olist_files, db):
    first, second = olist_runs
    for name, table in second.tables.items():
        assert table.loaded == 0, name
        assert table.skipped == first.tables[name].loaded, name
        assert table.rejected == first.tables[name].rejected, name
    assert sum(second.written.values()) == 0
    order_ids = olist_files.ids("orders", "order_id")
    assert count(db, Order.id, order_ids) == 500
    assert count(db, OrderStatusChange.order_id, order_ids) == first.written["order_status_history"]
    assert count(db, Review.order_id, order_ids) == 493


@needs_olist
def test_imported_listings_and_reviews_are_served_by_the_shop(olist_runs, olist_files, client):
    reviews = {row["order_id"]: row for row in olist_files.rows["reviews"]}
    review_count = Counter(row["order_id"] for row in olist_files.rows["reviews"])
    sellers_of = defaultdict(set)
    for i in olist_files.rows["order_items"]:
        sellers_of[i["product_id"]].add(i["seller_id"])
    item = next(
        i
        for i in olist_files.rows["order_items"]
        if review_count[i["order_id"]] == 1
        and len(olist_files.items_by_order[i["order_id"]]) == 1
        and len(sellers_of[i["product_id"]]) == 1
    )
    listing_id = str(uuid.UUID(item["product_id"]))

    listing = client.get(f"/listings/{listing_id}")
    page = client.get(f"/listings/{listing_id}/reviews")

    assert listing.status_code == 200, listing.text
    assert listing.json()["currency"] == "BRL"
    assert listing.json()["price_minor"] == int(Decimal(item["price"]) * 100)
    assert page.status_code == 200, page.text
    scores = [review["rating"] for review in page.json()["data"]]
    assert int(reviews[item["order_id"]]["review_score"]) in scores


def test_olist_batches_commit_whole_orders_only(tmp_path, monkeypatch, olist_files_or_skip):
    """A crash in the middle leaves earlier batches complete and nothing of the failing
    one; running again finishes the job."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_to_head(url)
    engine = create_db_engine(url)
    real = olist_module._OlistImport.review_rows
    calls = {"n": 0}

    def crash_on_third_batch(self, connection, batch, item_rows):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real(self, connection, batch, item_rows)

    monkeypatch.setattr(olist_module._OlistImport, "review_rows", crash_on_third_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        import_olist(engine, batch_size=100)
    with Session(engine) as db:
        orders = db.scalar(select(func.count()).select_from(Order))
        items = db.scalar(select(func.count()).select_from(OrderItem))
        incomplete = db.scalar(
            select(func.count())
            .select_from(Order)
            .where(~Order.id.in_(select(OrderItem.order_id)), Order.subtotal_minor > 0)
        )
    assert orders == 200  # two whole batches of 100
    expected_items = sum(len(olist_files_or_skip.items_by_order[k]) for k in _first_orders(200))
    assert items == expected_items
    assert incomplete == 0

    monkeypatch.setattr(olist_module._OlistImport, "review_rows", real)
    report = import_olist(engine, batch_size=100)

    assert (report.tables["orders"].loaded, report.tables["orders"].skipped) == (300, 200)
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(OrderItem)) == 568
    engine.dispose()


def test_olist_customers_sharing_a_shopper_are_reported_as_one_shopper_written(
    tmp_path, olist_files_or_skip
):
    """Olist gives each order its own ``customer_id``; a returning buyer's rows share a
    ``customer_unique_id``, which is one shopper: the report counts the shoppers written."""
    folder = tmp_path / "olist"
    shutil.copytree(data_dir() / OLIST_SAMPLE, folder)
    customers = olist_files_or_skip.rows["customers"]
    customers[1]["customer_unique_id"] = customers[0]["customer_unique_id"]
    with (folder / OLIST_FILES["customers"]).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(customers[0]))
        writer.writeheader()
        writer.writerows(customers)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_to_head(url)
    engine = create_db_engine(url)

    report = import_olist(engine, folder)

    table = report.tables["customers"]
    with Session(engine) as db:
        shoppers = db.scalar(
            select(func.count()).select_from(User).where(User.role == UserRole.shopper)
        )
        buyers = db.scalar(select(func.count(func.distinct(Order.buyer_id))))
    engine.dispose()
    assert shoppers == buyers == len(customers) - 1
    assert (table.read, table.loaded, table.skipped, table.rejected) == (
        len(customers), len(customers) - 1, 1, 0,
    )  # fmt: skip
    assert "customer_unique_id" in table.note


def _first_orders(n: int) -> list[str]:
    rows = OlistFiles().rows["orders"]
    ordered = sorted(rows, key=lambda row: (row["order_purchase_timestamp"], row["order_id"]))
    return [row["order_id"] for row in ordered[:n]]


@pytest.fixture
def olist_files_or_skip() -> OlistFiles:
    reason = dataset_unavailable_reason(OLIST_SAMPLE, *OLIST_FILES.values())
    if reason:
        pytest.skip(f"shared dataset missing: {reason}")
    return OlistFiles()


@needs(OLIST_FULL, "olist_sellers_dataset.csv.gz", "olist_products_dataset.csv.gz")
def test_olist_full_folder_loads_what_it_has_and_says_what_is_missing(
    tmp_path, olist_files_or_skip
):
    folder = data_dir() / OLIST_FULL
    sellers = csv_rows(folder / "olist_sellers_dataset.csv.gz")
    products = csv_rows(folder / "olist_products_dataset.csv.gz")
    payments = csv_rows(folder / "olist_order_payments_dataset.csv.gz")
    assert (len(sellers), len(products), len(payments)) == (3_095, 32_951, 103_886)
    sample = olist_files_or_skip.rows
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_to_head(url)
    engine = create_db_engine(url)
    import_olist(engine)  # the sample first: the full files hold its rows too

    report = import_olist(engine, full=True)

    def counts(name: str) -> tuple[int, int, int, int]:
        t = report.tables[name]
        return t.read, t.loaded, t.skipped, t.rejected

    assert counts("sellers") == (
        len(sellers),
        len(sellers) - len(sample["sellers"]),
        len(sample["sellers"]),
        0,
    )
    # No order items in this folder: no price or seller for a new listing. The sample's
    # products and payments are already there.
    assert counts("products") == (
        len(products),
        0,
        len(sample["products"]),
        len(products) - len(sample["products"]),
    )
    assert counts("payments") == (
        len(payments),
        0,
        len(sample["payments"]),
        len(payments) - len(sample["payments"]),
    )
    assert report.tables["payments"].reasons == {
        "order_id: unknown (this folder has no orders file)": len(payments)
        - len(sample["payments"])
    }
    assert "file absent" in report.tables["orders"].note
    with Session(engine) as db:
        users = db.scalar(select(func.count()).select_from(User))
    assert users == len(sellers) + len(sample["customers"])
    engine.dispose()


def test_reports_render_as_a_table():
    from simulator.importers.report import ImportReport

    report = ImportReport("demo", Path("/data/demo"))
    table = report.table("rows.csv")
    table.read, table.loaded, table.skipped = 5, 3, 1
    table.reject("value: not a number")
    report.written["events written"] = 3

    text = report.render()

    assert table.balanced
    assert re.search(r"^rows\.csv\s+5\s+3\s+1\s+1$", text, re.MULTILINE)
    assert "1 x value: not a number" in text
    assert json.loads(json.dumps(report.to_dict()))["tables"]["rows.csv"]["rejected"] == 1
