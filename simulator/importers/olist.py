"""The Olist marketplace dataset → the shop database, with its original timestamps.

Mapping (Olist → shop):
- ``customer_unique_id`` → one shopper; ``seller_id`` → one seller. Emails are
  non-routable (``olist-customer-<id>@import.invalid``), there is no password (nobody can
  log in as them), no phone and no consent to either ad purpose; ``created_at`` is their
  first order's time.
- product x seller → a listing (the product's main seller keeps the product id) in the
  category mapped by ``olist_categories``; Olist has no titles, so the title is the
  category label and the id; price = the most common price it sold at; stock 1 and
  ``active`` when it sold in the last ``ACTIVE_WITHIN`` of the data, else 0 and
  ``sold_out`` (Olist has no stock figures).
- orders → orders (BRL, ``placed_at`` = purchase time, ``paid_at`` = approval time, status
  mapped by ``ORDER_STATUS``), one fulfilment group per seller, one order item per Olist
  item row (quantity 1; freight goes to the group's and the order's ``shipping_minor``) and
  ``order_status_history`` rows at the original purchase, approval, carrier and delivery
  times; Olist's estimated delivery date as ``estimated_delivery_at``; payments (status
  succeeded, provider ``olist-import``, ``method`` = Olist's ``payment_type``: ``credit_card``,
  ``boleto``, ``voucher``, ``debit_card``, ``not_defined``); a shipment per group that
  reached the carrier, with its tracking history; reviews on the order's first item not yet
  reviewed (one review per item), and the listings' rating aggregates.

Idempotent: Olist ids (32 hex digits) are reused as our UUIDs and derived rows get uuid5
ids, so a re-run inserts only what is missing. Writes are SQLAlchemy Core bulk inserts;
users and listings commit per batch, and each batch of orders commits with all its rows
(groups, items, history, payments, shipments, reviews, rating updates) in one transaction,
so a crash never leaves an order half-written. Olist times carry no zone: they are stored
as given, read as UTC.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session

from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
from shop_api.catalog.service import seed_category_tree
from shop_api.core.clock import Clock, SystemClock
from shop_api.core.db import SQLITE_IMMEDIATE
from shop_api.models import (
    Category,
    FulfilmentGroup,
    FulfilmentStatus,
    Listing,
    ListingCondition,
    ListingStatus,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Review,
    Shipment,
    ShipmentEvent,
    ShipmentStatus,
    User,
    UserRole,
)
from simulator.importers.datasets import (
    OLIST_FULL,
    OLIST_SAMPLE,
    data_dir,
    dataset_dir,
    find_table,
    open_text,
)
from simulator.importers.olist_categories import (
    IMPORTED_ROOT,
    OLIST_CATEGORIES,
    OLIST_CATEGORY_TREE,
    unmapped_category,
)
from simulator.importers.report import ImportReport

OLIST_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mercado.invalid/importers/olist")
PROVIDER = "olist-import"
CARRIER = "olist-import"
CURRENCY = "BRL"
ACTIVE_WITHIN = timedelta(days=180)
EMAIL_DOMAIN = "import.invalid"  # RFC 2606: can never receive mail
METHOD_LENGTH = 32  # payments.method

# Report name -> file stem (``.csv`` or ``.csv.gz``), in load order.
TABLES = {
    "customers": "olist_customers_dataset",
    "sellers": "olist_sellers_dataset",
    "products": "olist_products_dataset",
    "orders": "olist_orders_dataset",
    "order_items": "olist_order_items_dataset",
    "payments": "olist_order_payments_dataset",
    "reviews": "olist_order_reviews_dataset",
}
TRANSLATION = "product_category_name_translation"
NOT_IMPORTED = {"olist_geolocation_dataset": "zip-prefix coordinates: the shop has no table"}

S, F = OrderStatus, FulfilmentStatus
ORDER_STATUS = {
    "delivered": S.delivered,
    "shipped": S.shipped,
    "canceled": S.cancelled,
    "unavailable": S.cancelled,
    "invoiced": S.paid,
    "processing": S.paid,
    "approved": S.paid,
    "created": S.pending_payment,
}
GROUP_STATUS = {
    S.delivered: F.delivered,
    S.shipped: F.in_transit,
    S.cancelled: F.cancelled,
    S.paid: F.awaiting_shipment,
    S.pending_payment: F.awaiting_payment,
}


class Rejected(ValueError):
    """A source row that cannot be loaded; the message is the counted reason."""


def derived_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(OLIST_NAMESPACE, ":".join(str(part) for part in parts))


def olist_id(text: str | None, column: str) -> uuid.UUID:
    value = (text or "").strip()
    if len(value) != 32:
        raise Rejected(f"{column}: not a 32-hex Olist id")
    try:
        return uuid.UUID(hex=value)
    except ValueError:
        raise Rejected(f"{column}: not a 32-hex Olist id") from None


def parse_time(text: str | None, column: str, *, required: bool = False) -> datetime | None:
    value = (text or "").strip()
    if not value:
        if required:
            raise Rejected(f"{column}: missing")
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(f"{column}: not a date and time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_minor(text: str | None, column: str, *, positive: bool = False) -> int:
    try:
        amount = Decimal((text or "").strip())
    except InvalidOperation:
        raise Rejected(f"{column}: not a number") from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        raise Rejected(f"{column}: must be {'positive' if positive else 'non-negative'}")
    return int((amount * 100).to_integral_value())


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    with open_text(path) as handle:
        for row in csv.DictReader(handle):
            yield {key.strip(): (value or "").strip() for key, value in row.items() if key}


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- What was read -------------------------------------------------------------------------


@dataclass
class OrderIn:
    id: uuid.UUID
    key: str
    raw: dict[str, str]
    buyer_id: uuid.UUID
    address: dict[str, Any]
    status_text: str
    status: OrderStatus
    purchased: datetime
    approved: datetime | None
    carrier: datetime | None
    delivered: datetime | None
    estimated_delivery: datetime | None
    items: list[ItemIn] = field(default_factory=list)
    payments: list[PaymentIn] = field(default_factory=list)
    reviews: list[ReviewIn] = field(default_factory=list)


@dataclass
class ItemIn:
    id: uuid.UUID
    order_key: str
    number: int
    product_key: str
    seller_id: uuid.UUID
    price_minor: int
    freight_minor: int


@dataclass
class PaymentIn:
    id: uuid.UUID
    sequential: int
    amount_minor: int
    method: str


@dataclass
class ReviewIn:
    id: uuid.UUID
    score: int
    title: str
    body: str
    created: datetime
    answered: datetime | None


@dataclass
class ListingIn:
    id: uuid.UUID
    product_key: str
    seller_id: uuid.UUID
    row: dict[str, str]
    prices: Counter[int] = field(default_factory=Counter)
    first_sold: datetime | None = None
    last_sold: datetime | None = None


# --- The import ----------------------------------------------------------------------------


def default_source(full: bool = False) -> Path:
    return dataset_dir(OLIST_FULL if full else OLIST_SAMPLE)


def import_olist(
    engine: Engine,
    source: Path | None = None,
    *,
    full: bool = False,
    clock: Clock | None = None,
    batch_size: int = 500,
) -> ImportReport:
    """Load the Olist tables found in ``source`` (default: the sample; ``full``: the full
    folder, which has only some tables) into the shop database behind ``engine``."""
    folder = source if source is not None else default_source(full)
    if not folder.is_dir():
        raise FileNotFoundError(f"Olist folder {folder} does not exist")
    run = _OlistImport(engine, folder, clock or SystemClock(), batch_size)
    run.run()
    return run.report


class _OlistImport:
    def __init__(self, engine: Engine, folder: Path, clock: Clock, batch_size: int) -> None:
        self.engine = engine
        self.writer = engine.execution_options(**{SQLITE_IMMEDIATE: True})
        self.folder = folder
        self.clock = clock
        self.now = clock.now()
        self.batch_size = batch_size
        self.report = ImportReport("olist", folder)
        # listing id -> (title, category id), for the order items that snapshot them
        self.labels: dict[uuid.UUID, tuple[str, uuid.UUID]] = {}
        self.paths = {name: find_table(folder, stem) for name, stem in TABLES.items()}
        # Rows whose order (or product's items) is not in this folder: skipped if the
        # database already has them (an earlier import), else rejected with the reason.
        self.orphans: dict[str, list[tuple[uuid.UUID, str]]] = defaultdict(list)
        for name, path in self.paths.items():
            table = self.report.table(name)
            if path is None:
                table.note = f"file absent ({TABLES[name]}.csv[.gz]): nothing to load"
        for stem, why in NOT_IMPORTED.items():
            if find_table(folder, stem) is not None:
                self.report.notes.append(f"not imported: {stem} ({why})")

    @property
    def unknown_order(self) -> str:
        if self.paths["orders"] is None:
            return "order_id: unknown (this folder has no orders file)"
        return "order_id: unknown or rejected order"

    def orphan(self, name: str, make_id: Callable[[], uuid.UUID]) -> None:
        try:
            row_id = make_id()
        except (ValueError, KeyError):
            self.report.table(name).reject(self.unknown_order)
            return
        self.orphans[name].append((row_id, self.unknown_order))

    def rows(self, name: str) -> Iterator[dict[str, str]]:
        path = self.paths[name]
        if path is None:
            return
        table = self.report.table(name)
        for row in read_rows(path):
            table.read += 1
            yield row

    # -- reading and checking -------------------------------------------------------------

    def run(self) -> None:
        customers = self.read_customers()
        sellers = self.read_sellers()
        products = self.read_products()
        orders = self.read_orders(customers)
        self.read_items(orders, products, sellers)
        self.read_payments(orders)
        self.read_reviews(orders)
        listings = self.plan_listings(orders, products)
        categories = self.ensure_categories(products, listings)
        self.load_users(customers, sellers, orders)
        self.load_listings(listings, products, categories)
        self.load_orders(orders, listings)
        self.resolve_orphans()

    def resolve_orphans(self) -> None:
        tables = {
            "products": Listing.__table__,
            "order_items": OrderItem.__table__,
            "payments": Payment.__table__,
            "reviews": Review.__table__,
        }
        with self.engine.connect() as connection:
            for name, orphans in self.orphans.items():
                table, report = tables[name], self.report.table(name)
                present: set[uuid.UUID] = set()
                for part in chunks([row_id for row_id, _ in orphans], 500):
                    present.update(
                        connection.scalars(select(table.c.id).where(table.c.id.in_(part)))
                    )
                for row_id, reason in orphans:
                    if row_id in present:
                        report.skipped += 1
                    else:
                        report.reject(reason)

    def read_customers(self) -> dict[str, tuple[uuid.UUID, dict[str, str]]]:
        """customer_id -> (the shopper's id, the row)."""
        table = self.report.table("customers")
        customers = {}
        for row in self.rows("customers"):
            try:
                olist_id(row.get("customer_id"), "customer_id")
                user_id = olist_id(row.get("customer_unique_id"), "customer_unique_id")
            except Rejected as exc:
                table.reject(str(exc))
                continue
            if row["customer_id"] in customers:
                table.reject("customer_id: duplicate row")
                continue
            customers[row["customer_id"]] = (user_id, row)
        return customers

    def read_sellers(self) -> dict[str, dict[str, str]]:
        table = self.report.table("sellers")
        sellers: dict[str, dict[str, str]] = {}
        for row in self.rows("sellers"):
            try:
                olist_id(row.get("seller_id"), "seller_id")
            except Rejected as exc:
                table.reject(str(exc))
                continue
            if row["seller_id"] in sellers:
                table.reject("seller_id: duplicate row")
                continue
            sellers[row["seller_id"]] = row
        return sellers

    def read_products(self) -> dict[str, dict[str, str]]:
        table = self.report.table("products")
        products: dict[str, dict[str, str]] = {}
        for row in self.rows("products"):
            try:
                olist_id(row.get("product_id"), "product_id")
            except Rejected as exc:
                table.reject(str(exc))
                continue
            if row["product_id"] in products:
                table.reject("product_id: duplicate row")
                continue
            products[row["product_id"]] = row
        return products

    def read_orders(
        self, customers: dict[str, tuple[uuid.UUID, dict[str, str]]]
    ) -> dict[str, OrderIn]:
        table = self.report.table("orders")
        orders: dict[str, OrderIn] = {}
        for row in self.rows("orders"):
            try:
                order_id = olist_id(row.get("order_id"), "order_id")
                if row["order_id"] in orders:
                    raise Rejected("order_id: duplicate row")
                customer = customers.get(row.get("customer_id", ""))
                if customer is None:
                    raise Rejected("customer_id: unknown customer")
                status_text = row.get("order_status", "")
                if status_text not in ORDER_STATUS:
                    raise Rejected(f"order_status: unknown value {status_text!r}")
                buyer_id, customer_row = customer
                orders[row["order_id"]] = OrderIn(
                    id=order_id,
                    key=row["order_id"],
                    raw=row,
                    buyer_id=buyer_id,
                    address={
                        "city": customer_row.get("customer_city") or None,
                        "region": customer_row.get("customer_state") or None,
                        "postal_code": customer_row.get("customer_zip_code_prefix") or None,
                        "country": "BR",
                    },
                    status_text=status_text,
                    status=ORDER_STATUS[status_text],
                    purchased=parse_time(
                        row.get("order_purchase_timestamp"), "order_purchase_timestamp",
                        required=True,
                    ),
                    approved=parse_time(row.get("order_approved_at"), "order_approved_at"),
                    carrier=parse_time(
                        row.get("order_delivered_carrier_date"), "order_delivered_carrier_date"
                    ),
                    delivered=parse_time(
                        row.get("order_delivered_customer_date"), "order_delivered_customer_date"
                    ),
                    estimated_delivery=parse_time(
                        row.get("order_estimated_delivery_date"), "order_estimated_delivery_date"
                    ),
                )  # fmt: skip
            except Rejected as exc:
                table.reject(str(exc))
        return orders

    def read_items(
        self,
        orders: dict[str, OrderIn],
        products: dict[str, dict[str, str]],
        sellers: dict[str, dict[str, str]],
    ) -> None:
        """Attach items to their orders; an order with a bad item is rejected whole, since
        its totals would be wrong without it."""
        table = self.report.table("order_items")
        bad_orders: dict[str, str] = {}
        seen: set[tuple[str, int]] = set()
        for row in self.rows("order_items"):
            order_key = row.get("order_id", "")
            order = orders.get(order_key)
            if order is None:
                self.orphan(
                    "order_items",
                    lambda row=row: derived_id("item", row["order_id"], int(row["order_item_id"])),
                )
                continue
            try:
                try:
                    number = int(row.get("order_item_id", ""))
                except ValueError:
                    raise Rejected("order_item_id: not a whole number") from None
                if (order_key, number) in seen:
                    raise Rejected("order_item_id: duplicate item of the order")
                if row.get("product_id", "") not in products:
                    raise Rejected("product_id: unknown product")
                seller = row.get("seller_id", "")
                if seller not in sellers:
                    raise Rejected("seller_id: unknown seller")
                item = ItemIn(
                    id=derived_id("item", order_key, number),
                    order_key=order_key,
                    number=number,
                    product_key=row["product_id"],
                    seller_id=uuid.UUID(hex=seller),
                    price_minor=parse_minor(row.get("price"), "price", positive=True),
                    freight_minor=parse_minor(row.get("freight_value"), "freight_value"),
                )
            except Rejected as exc:
                table.reject(str(exc))
                if order_key in orders:
                    bad_orders.setdefault(order_key, str(exc))
                continue
            seen.add((order_key, number))
            order.items.append(item)
        orders_table = self.report.table("orders")
        for order_key in bad_orders:
            order = orders.pop(order_key)
            orders_table.reject("order has a rejected item")
            table.reject("its order was rejected (another item of it is bad)", len(order.items))
        for order in orders.values():
            order.items.sort(key=lambda item: item.number)

    def read_payments(self, orders: dict[str, OrderIn]) -> None:
        table = self.report.table("payments")
        seen: set[tuple[str, int]] = set()
        for row in self.rows("payments"):
            order_key = row.get("order_id", "")
            order = orders.get(order_key)
            if order is None:
                self.orphan(
                    "payments",
                    lambda row=row: derived_id(
                        "payment", row["order_id"], int(row["payment_sequential"])
                    ),
                )
                continue
            try:
                try:
                    sequential = int(row.get("payment_sequential", ""))
                except ValueError:
                    raise Rejected("payment_sequential: not a whole number") from None
                if (order_key, sequential) in seen:
                    raise Rejected("payment_sequential: duplicate payment of the order")
                amount = parse_minor(row.get("payment_value"), "payment_value")
                method = row.get("payment_type", "")
                if not method or len(method) > METHOD_LENGTH:
                    raise Rejected(f"payment_type: missing or longer than {METHOD_LENGTH}")
            except Rejected as exc:
                table.reject(str(exc))
                continue
            seen.add((order_key, sequential))
            order.payments.append(
                PaymentIn(derived_id("payment", order_key, sequential), sequential, amount, method)
            )

    def read_reviews(self, orders: dict[str, OrderIn]) -> None:
        table = self.report.table("reviews")
        seen: set[str] = set()
        for row in self.rows("reviews"):
            try:
                review_id = olist_id(row.get("review_id"), "review_id")
                if row["review_id"] in seen:
                    raise Rejected("review_id: duplicate row")
                order = orders.get(row.get("order_id", ""))
                if order is None:
                    seen.add(row["review_id"])
                    self.orphans["reviews"].append((review_id, self.unknown_order))
                    continue
                if not order.items:
                    raise Rejected("order has no items to attach the review to")
                try:
                    score = int(row.get("review_score", ""))
                except ValueError:
                    raise Rejected("review_score: not a whole number") from None
                if not 1 <= score <= 5:
                    raise Rejected("review_score: not from 1 to 5")
                created = parse_time(
                    row.get("review_creation_date"), "review_creation_date", required=True
                )
                answered = parse_time(row.get("review_answer_timestamp"), "review_answer_timestamp")
            except Rejected as exc:
                table.reject(str(exc))
                continue
            seen.add(row["review_id"])
            assert created is not None
            order.reviews.append(
                ReviewIn(
                    id=review_id,
                    score=score,
                    title=row.get("review_comment_title", "")[:120],
                    body=row.get("review_comment_message", ""),
                    created=created,
                    answered=answered,
                )
            )

    def plan_listings(
        self, orders: dict[str, OrderIn], products: dict[str, dict[str, str]]
    ) -> dict[tuple[str, uuid.UUID], ListingIn]:
        """One listing per product and seller that sold it; the seller with most sales
        (then the earliest) keeps the product id, the others get derived ids."""
        pairs: dict[tuple[str, uuid.UUID], ListingIn] = {}
        for order in orders.values():
            for item in order.items:
                key = (item.product_key, item.seller_id)
                listing = pairs.get(key)
                if listing is None:
                    listing = pairs[key] = ListingIn(
                        id=derived_id("listing", *key),  # replaced below for the main seller
                        product_key=item.product_key,
                        seller_id=item.seller_id,
                        row=products[item.product_key],
                    )
                listing.prices[item.price_minor] += 1
                listing.first_sold = min(filter(None, (listing.first_sold, order.purchased)))
                listing.last_sold = max(filter(None, (listing.last_sold, order.purchased)))
        by_product: dict[str, list[ListingIn]] = defaultdict(list)
        for listing in pairs.values():
            by_product[listing.product_key].append(listing)
        for product_key, listings in by_product.items():
            main = min(
                listings,
                key=lambda lst: (-lst.prices.total(), lst.first_sold, str(lst.seller_id)),
            )
            main.id = uuid.UUID(hex=product_key)
        no_items = self.paths["order_items"] is None
        reason = "no loaded order item gives the product's seller and price" + (
            " (this folder has no order items file)" if no_items else ""
        )
        for product_key in products:
            if product_key not in by_product:
                self.orphans["products"].append((uuid.UUID(hex=product_key), reason))
        return pairs

    def ensure_categories(
        self,
        products: dict[str, dict[str, str]],
        listings: dict[tuple[str, uuid.UUID], ListingIn],
    ) -> dict[str, tuple[uuid.UUID, str]]:
        """Olist category name -> (category id, English label), seeding what is missing."""
        names = {listing.row.get("product_category_name", "") for listing in listings.values()}
        translation = self.translation()
        extra: dict[str, tuple[str, dict]] = {}
        wanted: dict[str, tuple[str, str]] = {}
        for name in names:
            if name in OLIST_CATEGORIES:
                wanted[name] = OLIST_CATEGORIES[name]
            else:
                slug, label = unmapped_category(name, translation.get(name))
                wanted[name] = (slug, label)
                extra[slug] = (label, {})
        tree = dict(OLIST_CATEGORY_TREE)
        if extra:
            root_name, children = tree[IMPORTED_ROOT]
            tree[IMPORTED_ROOT] = (root_name, {**children, **extra})
        with Session(self.writer) as session:
            added = seed_category_tree(session, self.clock, DEFAULT_CATEGORY_TREE)
            added += seed_category_tree(session, self.clock, tree)
            ids = dict(session.execute(select(Category.slug, Category.id)).all())
        self.report.written["categories"] += added
        return {name: (ids[slug], label) for name, (slug, label) in wanted.items()}

    def translation(self) -> dict[str, str]:
        """Portuguese -> English category names, from the folder or the full dataset's."""
        candidates = [self.folder, data_dir() / OLIST_FULL]
        for folder in candidates:
            path = find_table(folder, TRANSLATION)
            if path is not None:
                return {
                    row["product_category_name"]: row["product_category_name_english"]
                    for row in read_rows(path)
                    if row.get("product_category_name")
                }
        return {}

    # -- writing ---------------------------------------------------------------------------

    def insert_missing(
        self, connection: Connection, table: Table, rows: list[dict[str, Any]]
    ) -> set[uuid.UUID]:
        """Insert the rows whose ids are not there yet; returns the inserted ids."""
        if not rows:
            return set()
        existing: set[uuid.UUID] = set()
        ids = [row["id"] for row in rows]
        for part in chunks(ids, 500):
            existing.update(connection.scalars(select(table.c.id).where(table.c.id.in_(part))))
        new = [row for row in rows if row["id"] not in existing]
        if new:
            connection.execute(table.insert(), new)
        self.report.written[table.name] += len(new)
        return {row["id"] for row in new}

    def load_users(
        self,
        customers: dict[str, tuple[uuid.UUID, dict[str, str]]],
        sellers: dict[str, dict[str, str]],
        orders: dict[str, OrderIn],
    ) -> None:
        first_order: dict[uuid.UUID, datetime] = {}
        for order in orders.values():
            moments = [(order.buyer_id, order.purchased)] + [
                (item.seller_id, order.purchased) for item in order.items
            ]
            for user_id, moment in moments:
                if user_id not in first_order or moment < first_order[user_id]:
                    first_order[user_id] = moment

        def user_row(user_id: uuid.UUID, role: UserRole, email: str, name: str) -> dict:
            created = first_order.get(user_id, self.now)
            return {
                "id": user_id, "email": email, "password_hash": None, "display_name": name,
                "role": role, "is_active": True, "token_version": 0,
                "ad_user_data_consent": False, "ad_personalization_consent": False,
                "created_at": created, "modified_at": created,
            }  # fmt: skip

        shoppers: dict[uuid.UUID, dict] = {}
        for user_id, row in customers.values():
            if user_id not in shoppers:
                city = _place(row.get("customer_city"), row.get("customer_state"))
                shoppers[user_id] = user_row(
                    user_id, UserRole.shopper,
                    f"olist-customer-{user_id.hex}@{EMAIL_DOMAIN}",
                    f"Olist customer {user_id.hex[:8]}{city}",
                )  # fmt: skip
        seller_rows = []
        for key, row in sellers.items():
            user_id = uuid.UUID(hex=key)
            city = _place(row.get("seller_city"), row.get("seller_state"))
            seller_rows.append(
                user_row(
                    user_id, UserRole.seller, f"olist-seller-{user_id.hex}@{EMAIL_DOMAIN}",
                    f"Olist seller {user_id.hex[:8]}{city}",
                )
            )  # fmt: skip
        inserted: set[uuid.UUID] = set()
        users = User.__table__
        for batch in chunks([*shoppers.values(), *seller_rows], self.batch_size * 2):
            with self.writer.begin() as connection:
                inserted |= self.insert_missing(connection, users, list(batch))
        # Olist gives each order its own customer_id: the rows of a returning buyer share a
        # customer_unique_id, one shopper, counted loaded once (the other rows: skipped).
        customer_table = self.report.table("customers")
        counted: set[uuid.UUID] = set()
        for user_id, _row in customers.values():
            if user_id in inserted and user_id not in counted:
                customer_table.loaded += 1
            else:
                customer_table.skipped += 1
            counted.add(user_id)
        shared = len(customers) - len(counted)
        if shared:
            customer_table.note = (
                f"{shared} rows share a customer_unique_id with an earlier row: "
                "one shopper each, counted once"
            )
        seller_table = self.report.table("sellers")
        for key in sellers:
            if uuid.UUID(hex=key) in inserted:
                seller_table.loaded += 1
            else:
                seller_table.skipped += 1

    def load_listings(
        self,
        listings: dict[tuple[str, uuid.UUID], ListingIn],
        products: dict[str, dict[str, str]],
        categories: dict[str, tuple[uuid.UUID, str]],
    ) -> None:
        latest = max((lst.last_sold for lst in listings.values() if lst.last_sold), default=None)
        rows = []
        for listing in listings.values():
            row = listing.row
            category_id, label = categories[row.get("product_category_name", "")]
            self.labels[listing.id] = (f"{label} {listing.product_key[:8]}", category_id)
            # The most common price; between equally common prices, the lowest.
            price = min(listing.prices, key=lambda p: (-listing.prices[p], p))
            active = (
                latest is not None
                and listing.last_sold is not None
                and latest - listing.last_sold <= ACTIVE_WITHIN
            )
            created = listing.first_sold or self.now
            rows.append(
                {
                    "id": listing.id,
                    "seller_id": listing.seller_id,
                    "category_id": category_id,
                    "title": self.labels[listing.id][0],
                    "description": _description(label, listing.product_key, row),
                    "price_minor": price,
                    "currency": CURRENCY,
                    "stock": 1 if active else 0,
                    "condition": ListingCondition.new,
                    "attributes": _attributes(row),
                    "status": ListingStatus.active if active else ListingStatus.sold_out,
                    "published_at": created,
                    "rating_count": 0,
                    "rating_sum": 0,
                    "created_at": created,
                    "modified_at": listing.last_sold or created,
                }
            )
        inserted: set[uuid.UUID] = set()
        for batch in chunks(rows, self.batch_size * 2):
            with self.writer.begin() as connection:
                inserted |= self.insert_missing(connection, Listing.__table__, list(batch))
        table = self.report.table("products")
        by_product: dict[str, list[uuid.UUID]] = defaultdict(list)
        for listing in listings.values():
            by_product[listing.product_key].append(listing.id)
        for ids in by_product.values():
            if any(listing_id in inserted for listing_id in ids):
                table.loaded += 1
            else:
                table.skipped += 1

    def load_orders(
        self, orders: dict[str, OrderIn], listings: dict[tuple[str, uuid.UUID], ListingIn]
    ) -> None:
        listing_ids = {key: listing.id for key, listing in listings.items()}
        ordered = sorted(orders.values(), key=lambda order: (order.purchased, order.key))
        for batch in chunks(ordered, self.batch_size):
            with self.writer.begin() as connection:
                self.load_order_batch(connection, list(batch), listing_ids)

    def load_order_batch(
        self,
        connection: Connection,
        batch: list[OrderIn],
        listing_ids: dict[tuple[str, uuid.UUID], uuid.UUID],
    ) -> None:
        rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        item_rows: dict[uuid.UUID, dict[str, Any]] = {}
        for order in batch:
            self.order_rows(order, listing_ids, rows, item_rows)
        inserted: dict[str, set[uuid.UUID]] = {}
        for table in (
            Order.__table__, FulfilmentGroup.__table__, OrderItem.__table__,
            OrderStatusChange.__table__, Payment.__table__, PaymentStatusChange.__table__,
            Shipment.__table__, ShipmentEvent.__table__,
        ):  # fmt: skip
            inserted[table.name] = self.insert_missing(connection, table, rows[table])
        review_rows = self.review_rows(connection, batch, item_rows)
        new_reviews = self.insert_missing(connection, Review.__table__, review_rows)
        self.update_ratings(connection, [r for r in review_rows if r["id"] in new_reviews])

        def count(name: str, ids: Iterable[uuid.UUID], new: set[uuid.UUID]) -> None:
            table = self.report.table(name)
            for row_id in ids:
                if row_id in new:
                    table.loaded += 1
                else:
                    table.skipped += 1

        count("orders", (order.id for order in batch), inserted["orders"])
        count("order_items", (i.id for o in batch for i in o.items), inserted["order_items"])
        count("payments", (p.id for o in batch for p in o.payments), inserted["payments"])
        assigned = {row["id"] for row in review_rows}
        reviews = self.report.table("reviews")
        for order in batch:
            for review in order.reviews:
                if review.id in new_reviews:
                    reviews.loaded += 1
                elif review.id in assigned:
                    reviews.skipped += 1
                else:
                    reviews.reject("one review per order item: every item of the order has one")

    def order_rows(
        self,
        order: OrderIn,
        listing_ids: dict[tuple[str, uuid.UUID], uuid.UUID],
        rows: dict[Table, list[dict[str, Any]]],
        item_rows: dict[uuid.UUID, dict[str, Any]],
    ) -> None:
        steps = _history(order)
        last_change = steps[-1][1]
        group_status = GROUP_STATUS[order.status]
        groups: dict[uuid.UUID, dict[str, Any]] = {}
        for position, item in enumerate(order.items):
            group = groups.get(item.seller_id)
            if group is None:
                shipped = group_status in (F.in_transit, F.delivered)
                group = groups[item.seller_id] = {
                    "id": derived_id("group", order.key, item.seller_id.hex),
                    "order_id": order.id, "seller_id": item.seller_id, "status": group_status,
                    "subtotal_minor": 0, "discount_minor": 0, "shipping_minor": 0,
                    "tax_minor": 0, "total_minor": 0,
                    "shipped_at": order.carrier if shipped else None,
                    "delivered_at": order.delivered if group_status == F.delivered else None,
                    "created_at": order.purchased, "modified_at": last_change,
                }  # fmt: skip
            group["subtotal_minor"] += item.price_minor
            group["shipping_minor"] += item.freight_minor
            group["total_minor"] += item.price_minor + item.freight_minor
            listing_id = listing_ids[(item.product_key, item.seller_id)]
            title, category_id = self.labels[listing_id]
            item_rows[item.id] = {
                "id": item.id, "order_id": order.id, "group_id": group["id"],
                "listing_id": listing_id, "seller_id": item.seller_id,
                "category_id": category_id, "position": position, "title": title,
                "unit_price_minor": item.price_minor, "quantity": 1, "discount_minor": 0,
                "tax_minor": 0, "line_total_minor": item.price_minor,
                "created_at": order.purchased, "modified_at": order.purchased,
            }  # fmt: skip
        subtotal = sum(group["subtotal_minor"] for group in groups.values())
        shipping = sum(group["shipping_minor"] for group in groups.values())
        paid_at = next((at for status, at, _ in steps if status == S.paid), None)
        cancelled_at = next((at for status, at, _ in steps if status == S.cancelled), None)
        rows[Order.__table__].append(
            {
                "id": order.id, "buyer_id": order.buyer_id, "status": order.status,
                "currency": CURRENCY, "subtotal_minor": subtotal, "discount_minor": 0,
                "shipping_minor": shipping, "tax_minor": 0, "total_minor": subtotal + shipping,
                "refunded_minor": 0, "coupon_id": None, "coupon_code": None,
                "idempotency_key": f"olist:{order.key}",
                "request_fingerprint": _fingerprint(order.raw),
                "shipping_address": order.address, "reservation_expires_at": None,
                "placed_at": order.purchased, "paid_at": paid_at, "cancelled_at": cancelled_at,
                "estimated_delivery_at": order.estimated_delivery,
                "created_at": order.purchased, "modified_at": last_change,
            }
        )  # fmt: skip
        rows[FulfilmentGroup.__table__].extend(groups.values())
        rows[OrderItem.__table__].extend(item_rows[item.id] for item in order.items)
        previous: str | None = None
        for index, (status, at, reason) in enumerate(steps):
            rows[OrderStatusChange.__table__].append(
                {
                    "id": derived_id("history", order.key, index, status.value),
                    "order_id": order.id, "group_id": None, "from_status": previous,
                    "to_status": status.value, "reason": reason, "changed_at": at,
                }
            )  # fmt: skip
            previous = status.value
        paid = paid_at or order.purchased
        for payment in order.payments:
            rows[Payment.__table__].append(
                {
                    "id": payment.id, "order_id": order.id, "provider": PROVIDER,
                    "provider_payment_id": f"olist-{order.key}-{payment.sequential}",
                    "amount_minor": payment.amount_minor, "currency": CURRENCY,
                    "method": payment.method,
                    "status": PaymentStatus.succeeded, "refunded_minor": 0,
                    "failed_attempts": 0, "created_at": paid, "modified_at": paid,
                }
            )  # fmt: skip
            rows[PaymentStatusChange.__table__].append(
                {
                    "id": derived_id("payment-history", payment.id),
                    "payment_id": payment.id, "from_status": None,
                    "to_status": PaymentStatus.succeeded.value,
                    "reason": "olist: payment approved", "provider_event_id": None,
                    "changed_at": paid,
                }
            )  # fmt: skip
        if order.carrier is None or group_status not in (F.in_transit, F.delivered):
            return
        delivered = order.delivered if group_status == F.delivered else None
        for group in groups.values():
            shipment_id = derived_id("shipment", group["id"])
            rows[Shipment.__table__].append(
                {
                    "id": shipment_id, "order_id": order.id, "group_id": group["id"],
                    "carrier": CARRIER,
                    "tracking_number": f"OLIST-{order.key}-{group['seller_id'].hex[:8]}",
                    "label_url": "",
                    "status": ShipmentStatus.delivered if delivered else ShipmentStatus.in_transit,
                    "created_at": order.carrier, "modified_at": delivered or order.carrier,
                }
            )  # fmt: skip
            tracking = [(ShipmentStatus.in_transit, order.carrier, "Handed to the carrier")]
            if delivered is not None:
                tracking.append((ShipmentStatus.delivered, delivered, "Delivered"))
            for status, at, description in tracking:
                rows[ShipmentEvent.__table__].append(
                    {
                        "id": derived_id("tracking", shipment_id, status.value),
                        "shipment_id": shipment_id, "status": status.value,
                        "description": description, "location": None, "occurred_at": at,
                        "received_at": at, "provider_event_id": None,
                    }
                )  # fmt: skip

    def review_rows(
        self,
        connection: Connection,
        batch: list[OrderIn],
        item_rows: dict[uuid.UUID, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Each review goes on the order's first item that has none (earliest review first);
        reviews already in the database keep the item they were given."""
        review_table = Review.__table__
        order_ids = [order.id for order in batch if order.reviews]
        taken: dict[uuid.UUID, uuid.UUID] = {}  # order item -> review
        for part in chunks(order_ids, 500):
            for review_id, item_id in connection.execute(
                select(review_table.c.id, review_table.c.order_item_id).where(
                    review_table.c.order_id.in_(part)
                )
            ):
                taken[item_id] = review_id
        item_of = {review_id: item_id for item_id, review_id in taken.items()}
        rows = []
        for order in batch:
            free = [item.id for item in order.items if item.id not in taken]
            for review in sorted(order.reviews, key=lambda r: (r.created, r.id.hex)):
                if review.id in item_of:
                    item_id = item_of[review.id]
                elif free:
                    item_id = free.pop(0)
                else:
                    continue  # counted as rejected by the caller
                item = item_rows[item_id]
                rows.append(
                    {
                        "id": review.id, "order_item_id": item_id, "order_id": order.id,
                        "listing_id": item["listing_id"], "seller_id": item["seller_id"],
                        "buyer_id": order.buyer_id, "rating": review.score,
                        "title": review.title, "body": review.body,
                        "created_at": review.created,
                        "modified_at": review.answered or review.created,
                    }
                )  # fmt: skip
        return rows

    def update_ratings(self, connection: Connection, new_reviews: list[dict[str, Any]]) -> None:
        totals: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
        for review in new_reviews:
            totals[review["listing_id"]][0] += 1
            totals[review["listing_id"]][1] += review["rating"]
        if not totals:
            return
        listings = Listing.__table__
        connection.execute(
            update(listings)
            .where(listings.c.id == bindparam("listing_id"))
            .values(
                rating_count=listings.c.rating_count + bindparam("count"),
                rating_sum=listings.c.rating_sum + bindparam("total"),
            ),
            [
                {"listing_id": listing_id, "count": count, "total": total}
                for listing_id, (count, total) in totals.items()
            ],
        )


def _history(order: OrderIn) -> list[tuple[OrderStatus, datetime, str]]:
    """The order's status changes at Olist's own times."""
    steps: list[tuple[OrderStatus, datetime, str]] = [
        (S.pending_payment, order.purchased, "olist: order placed")
    ]
    if order.approved is not None and order.status != S.pending_payment:
        steps.append((S.paid, order.approved, "olist: payment approved"))
    if order.status in (S.shipped, S.delivered) and order.carrier is not None:
        steps.append((S.shipped, order.carrier, "olist: handed to the carrier"))
    if order.status == S.delivered and order.delivered is not None:
        steps.append((S.delivered, order.delivered, "olist: delivered to the customer"))
    if steps[-1][0] != order.status:
        latest = max(at for _status, at, _reason in steps)
        steps.append(
            (order.status, latest, f"olist: {order.status_text} (time not recorded in Olist)")
        )
    return steps


def _fingerprint(row: dict[str, str]) -> str:
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _place(city: str | None, state: str | None) -> str:
    parts = [part for part in ((city or "").title(), (state or "").upper()) if part]
    return f" ({', '.join(parts)})"[:60] if parts else ""


def _number(row: dict[str, str], column: str) -> int | None:
    try:
        return int(Decimal(row.get(column) or ""))
    except (InvalidOperation, ValueError):
        return None


def _attributes(row: dict[str, str]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "source": "olist",
        "olist_product_id": row["product_id"],
        "olist_category": row.get("product_category_name") or None,
    }
    for column, name in (
        ("product_weight_g", "weight_g"),
        ("product_length_cm", "length_cm"),
        ("product_height_cm", "height_cm"),
        ("product_width_cm", "width_cm"),
        ("product_photos_qty", "photos"),
    ):
        value = _number(row, column)
        if value is not None:
            attributes[name] = value
    return attributes


def _description(label: str, product_key: str, row: dict[str, str]) -> str:
    facts = []
    weight = _number(row, "product_weight_g")
    if weight is not None:
        facts.append(f"weight {weight} g")
    sizes = [_number(row, f"product_{d}_cm") for d in ("length", "height", "width")]
    if all(size is not None for size in sizes):
        facts.append("{} x {} x {} cm".format(*sizes))
    text = f"{label} sold on the Olist marketplace (Brazil); Olist product {product_key}."
    return f"{text} {', '.join(facts).capitalize()}." if facts else text
