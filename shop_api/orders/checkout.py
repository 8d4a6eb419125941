"""Checkout: turn the caller's cart into one order split per seller, holding the stock.

Idempotent by ``Idempotency-Key``: the same key and body give back the same order, the
same key with another body is a 409. Everything happens in one transaction: an order is
placed whole, or not at all.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, bindparam, column, delete, func, insert, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningDelete

from shop_api.cart.service import user_cart_lines
from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.core.errors import Conflict, MercadoError, Unprocessable
from shop_api.core.typed_sql import table_of
from shop_api.models import ListingStatus, User
from shop_api.models.cart import CartItem
from shop_api.models.orders import (
    FulfilmentGroup,
    FulfilmentStatus,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
)
from shop_api.orders import stock
from shop_api.orders.schemas import CheckoutRequest
from shop_api.promotions.pricing import AppliedCoupon, BasketLine, apply_coupon, redeem

MAX_IDEMPOTENCY_KEY_LENGTH = 255


def fingerprint(body: CheckoutRequest) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def tax_on(amount_minor: int, rate_bps: int) -> int:
    """Tax rounded half up to the minor unit."""
    return (amount_minor * rate_bps + 5_000) // 10_000


_BY_KEY = select(Order).where(
    Order.buyer_id == bindparam("buyer_id"), Order.idempotency_key == bindparam("key")
)
_INSERT_ORDER = insert(table_of(Order))
_INSERT_HISTORY = insert(table_of(OrderStatusChange))
_INSERT_GROUPS = insert(table_of(FulfilmentGroup))
_INSERT_ITEMS = insert(table_of(OrderItem))
_cart_items = table_of(CartItem)
# The lines this checkout read, not the whole cart: a line added meanwhile stays.
_TAKE_LINES = (
    delete(_cart_items)
    .where(_cart_items.c.id.in_(bindparam("item_ids", expanding=True)))
    .returning(_cart_items.c.id)
)


def find_by_key(session: Session, buyer: User, key: str) -> Order | None:
    return session.scalar(_BY_KEY, {"buyer_id": buyer.id, "key": key})


def _replay(existing: Order, request_fingerprint: str) -> Order:
    if existing.request_fingerprint != request_fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body",
            details={"order_id": str(existing.id)},
        )
    return existing


def checkout(
    session: Session,
    clock: Clock,
    settings: Settings,
    buyer: User,
    body: CheckoutRequest,
    idempotency_key: str,
) -> NewOrder | Order:
    """Place the order and commit: the rows written (a ``NewOrder``), or the order placed
    earlier with this key (a replay).

    The key is looked up only when placing fails: a key already used makes the INSERT of
    the order break its unique constraint, and any refusal (an empty cart, stock, a
    coupon) is answered as the replay when the key was used. A checkout costs a round
    trip less than looking the key up first, and the answer is the same.
    """
    request_fingerprint = fingerprint(body)
    try:
        return _place(session, clock, settings, buyer, body, idempotency_key, request_fingerprint)
    except (IntegrityError, MercadoError):
        # IntegrityError: this key was used, maybe by a concurrent request that won.
        session.rollback()
        existing = find_by_key(session, buyer, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, request_fingerprint)


def _place(
    session: Session,
    clock: Clock,
    settings: Settings,
    buyer: User,
    body: CheckoutRequest,
    idempotency_key: str,
    request_fingerprint: str,
) -> NewOrder:
    connection = session.connection()
    # No lock on the cart: the lines read here are taken out of it with the order's
    # INSERTs, and a checkout that finds any of them gone (a concurrent checkout of the
    # same cart won) rolls back. SQLite writers queue anyway.
    lines = user_cart_lines(session, buyer.id)
    if not lines:
        raise Conflict("The cart is empty")
    unavailable = [
        str(line.listing.id) for line in lines if line.listing.status != ListingStatus.active
    ]
    if unavailable:
        raise Conflict(
            "Some items are no longer on sale", details={"unavailable_listings": unavailable}
        )
    if any(line.listing.seller_id == buyer.id for line in lines):
        raise Conflict("You cannot buy your own listing")
    currencies = {line.listing.currency for line in lines}
    if len(currencies) != 1:
        raise Conflict(
            "Items in different currencies must be bought separately",
            details={"currencies": sorted(currencies)},
        )
    currency = currencies.pop()
    now = clock.now()
    basket = [BasketLine(listing=line.listing, quantity=line.quantity) for line in lines]
    applied: AppliedCoupon | None = None
    if body.coupon_code:
        applied = apply_coupon(session, body.coupon_code, buyer.id, basket, currency, now)

    short = stock.reserve_all(session, [(line.listing.id, line.quantity) for line in basket], now)
    if short:
        title = next(line.listing.title for line in basket if line.listing.id == short[0])
        raise Conflict(f"Not enough stock for “{title}”", details={"listing_id": str(short[0])})

    placed = _build_order(settings, buyer, body, basket, applied, currency, now)
    placed.order.update(
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        reservation_expires_at=now + timedelta(minutes=settings.reservation_minutes),
    )
    history = {
        "id": uuid.uuid4(), "order_id": placed.order["id"], "group_id": None,
        "from_status": None, "to_status": OrderStatus.pending_payment.value,
        "reason": "checkout", "changed_at": now,
    }  # fmt: skip
    taken = _write(connection, placed, history, [line.item_id for line in lines])
    if taken != len(lines):
        raise Conflict("The cart changed during checkout: review it and try again")
    if applied is not None:
        redeem(session, applied, buyer.id, placed.order["id"], now)
    session.commit()
    return placed


def _write(
    connection: Connection,
    placed: NewOrder,
    history: dict[str, Any],
    item_ids: list[uuid.UUID],
) -> int:
    """Insert the order, its history, groups and items, and take the cart lines out;
    returns how many of the lines were still there to take.

    PostgreSQL: one statement (data-modifying CTEs), one round trip instead of five. Every
    statement of a checkout is a wait for the server in which the event loop serves the
    other requests first, so under load each round trip adds a turn of the whole loop.
    """
    if connection.dialect.name == "postgresql":
        rows = {"order": [placed.order], "history": [history],
                "groups": placed.groups, "items": placed.items}  # fmt: skip
        statement = _write_statement(tuple((name, tuple(r[0])) for name, r in rows.items()))
        params = {name: to_jsonable_python(r) for name, r in rows.items()}
        return len(connection.execute(statement, {**params, "item_ids": item_ids}).all())
    connection.execute(_INSERT_ORDER, [placed.order])
    connection.execute(_INSERT_HISTORY, [history])
    connection.execute(_INSERT_GROUPS, placed.groups)
    connection.execute(_INSERT_ITEMS, placed.items)
    return len(connection.execute(_TAKE_LINES, {"item_ids": item_ids}).all())


_TABLES = {
    "order": table_of(Order),
    "history": table_of(OrderStatusChange),
    "groups": table_of(FulfilmentGroup),
    "items": table_of(OrderItem),
}


@functools.cache
def _write_statement(shape: tuple[tuple[str, tuple[str, ...]], ...]) -> ReturningDelete:
    """``WITH`` one INSERT per table from a JSON array of its rows, then the DELETE of the
    cart lines ordered. ``shape``: the parameter of each table and the columns its rows have
    (always the same ones, so this is built once)."""
    statement = _TAKE_LINES
    for name, columns in shape:
        table = _TABLES[name]
        records = (
            func.jsonb_to_recordset(bindparam(name, type_=JSONB))
            .table_valued(*(column(key, table.c[key].type) for key in columns))
            .render_derived(name=f"{name}_rows", with_types=True)
        )
        rows = insert(table).from_select(list(columns), select(*records.c))
        statement = statement.add_cte(rows.cte(f"new_{name}"))
    return statement


@dataclass(frozen=True)
class NewOrder:
    """A placed order as written: its row, its groups' rows and its items' rows."""

    order: dict[str, Any]
    groups: list[dict[str, Any]]
    items: list[dict[str, Any]]


def _build_order(
    settings: Settings,
    buyer: User,
    body: CheckoutRequest,
    basket: list[BasketLine],
    applied: AppliedCoupon | None,
    currency: str,
    now: datetime,
) -> NewOrder:
    """The order, its per-seller groups and its items, priced, as rows to insert.

    Keys are made here and every amount is known before the first INSERT: one INSERT per
    table, with no UPDATE of totals afterwards.
    """
    by_seller: dict[uuid.UUID, list[BasketLine]] = defaultdict(list)
    for line in basket:
        by_seller[line.listing.seller_id].append(line)

    order_id = uuid.uuid4()
    groups: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for seller_id, seller_lines in by_seller.items():
        group_id = uuid.uuid4()
        subtotal = discount_total = tax_total = 0
        for line in seller_lines:
            listing = line.listing
            discount = applied.per_listing.get(listing.id, 0) if applied else 0
            taxable = line.amount - discount
            tax = tax_on(taxable, settings.tax_rate_bps)
            items.append({
                "id": uuid.uuid4(), "order_id": order_id, "group_id": group_id,
                "listing_id": listing.id, "seller_id": seller_id,
                "category_id": listing.category_id, "position": len(items),
                "title": listing.title, "unit_price_minor": listing.price_minor,
                "quantity": line.quantity, "discount_minor": discount, "tax_minor": tax,
                "line_total_minor": taxable + tax, "created_at": now, "modified_at": now,
            })  # fmt: skip
            subtotal += line.amount
            discount_total += discount
            tax_total += tax
        shipping = settings.shipping_fee_minor
        groups.append({
            "id": group_id, "order_id": order_id, "seller_id": seller_id,
            "status": FulfilmentStatus.awaiting_payment, "subtotal_minor": subtotal,
            "discount_minor": discount_total, "tax_minor": tax_total,
            "shipping_minor": shipping,
            "total_minor": subtotal - discount_total + tax_total + shipping,
            "shipped_at": None, "delivered_at": None, "created_at": now, "modified_at": now,
        })  # fmt: skip
    total = sum(group["total_minor"] for group in groups)
    if total <= 0:
        raise Unprocessable("An order must have a positive total")

    def summed(field: str) -> int:
        return sum(group[field] for group in groups)

    order = {
        "id": order_id, "buyer_id": buyer.id, "status": OrderStatus.pending_payment,
        "currency": currency, "subtotal_minor": summed("subtotal_minor"),
        "discount_minor": summed("discount_minor"), "shipping_minor": summed("shipping_minor"),
        "tax_minor": summed("tax_minor"), "total_minor": total, "refunded_minor": 0,
        "coupon_id": applied.coupon.id if applied else None,
        "coupon_code": applied.coupon.code if applied else None,
        "shipping_address": body.shipping_address.model_dump(mode="json"),
        "placed_at": now, "paid_at": None, "cancelled_at": None,
        "reservation_expires_at": None, "created_at": now, "modified_at": now,
        "idempotency_key": "", "request_fingerprint": "",
    }  # fmt: skip
    return NewOrder(order=order, groups=groups, items=items)
