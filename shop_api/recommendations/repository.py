"""The shop-database reads behind recommendations: what can be shown right now, what the
caller already bought, and the shop's own popularity (when no model is published)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, String, any_, bindparam, func, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shop_api.core.hot_reads import fetch_rows
from shop_api.listings.repository import readable_columns, readable_columns_statements
from shop_api.models import Listing, ListingStatus, Order, OrderItem, OrderStatus, User


class Shown(NamedTuple):
    """What a recommended item shows of its listing (and the event item needs); ids as
    hyphenated strings, the form the response and the event write."""

    id: str
    seller_id: str
    category_id: str
    title: str
    price_minor: int
    currency: str


# On sale: the same literals as the search's, so a prepared statement's generic plan
# filters with them.
_ON_SALE_WHERE = (
    Listing.status == literal_column(f"'{ListingStatus.active.value}'"),
    Listing.stock > literal_column("0"),
)


@functools.cache
def _on_sale_statement(dialect: str) -> Select:
    """The listings on sale among a list of ids, as one statement whatever the list's
    length (an expanding IN is rendered again for each length, and its values converted
    one by one).

    SQLite: the ids are one JSON array of the 32 hex digits SQLAlchemy stores a UUID as,
    and the ids come back in that form too (no UUID objects made and unmade per row), so
    nothing is left to convert and it runs on sqlite3 itself (``core.hot_reads``).
    PostgreSQL: one ``uuid[]`` parameter, run on the driver itself (``core.hot_reads``).
    Built once per dialect: building a statement costs more than running it.
    """
    if dialect == "sqlite":
        stored_id = type_coerce(Listing.id, String)
        wanted = func.json_each(bindparam("ids", type_=String)).table_valued("value")
        return select(
            stored_id,
            type_coerce(Listing.seller_id, String),
            type_coerce(Listing.category_id, String),
            Listing.title,
            Listing.price_minor,
            Listing.currency,
        ).where(stored_id.in_(select(wanted.c.value)), *_ON_SALE_WHERE)
    return select(
        Listing.id,
        Listing.seller_id,
        Listing.category_id,
        Listing.title,
        Listing.price_minor,
        Listing.currency,
    ).where(Listing.id == any_(bindparam("ids", type_=ARRAY(Listing.id.type))), *_ON_SALE_WHERE)


def _hyphenated(stored: str) -> str:
    """A UUID stored as 32 hex digits (SQLite), as ``str(uuid.UUID)`` writes it."""
    return f"{stored[:8]}-{stored[8:12]}-{stored[12:16]}-{stored[16:20]}-{stored[20:]}"


def available(session: Session, item_ids: Iterable[str]) -> dict[str, Shown]:
    """Of these listings, the ones on sale now (active, in stock), by the ids as given.

    Ids that are not UUIDs (imported datasets' items) match nothing."""
    connection = session.connection()
    dialect = connection.dialect.name
    statement = _on_sale_statement(dialect)
    if dialect == "sqlite":
        # A canonical id's stored form is its hex digits; anything else matches nothing.
        wanted = {item_id.replace("-", "").lower(): item_id for item_id in item_ids}
        if not wanted:
            return {}
        rows = fetch_rows(connection, statement, {"ids": json.dumps(list(wanted))})
        return {
            wanted[row[0]]: Shown(
                _hyphenated(row[0]), _hyphenated(row[1]), _hyphenated(row[2]), *row[3:]
            )
            for row in rows
        }
    by_uuid = {}
    for item_id in item_ids:
        try:
            by_uuid[uuid.UUID(item_id)] = item_id
        except ValueError:
            continue
    if not by_uuid:
        return {}
    rows = fetch_rows(connection, statement, {"ids": list(by_uuid)})
    return {by_uuid[row[0]]: Shown(str(row[0]), str(row[1]), str(row[2]), *row[3:]) for row in rows}


def bought_by(session: Session, user_id: uuid.UUID) -> set[str]:
    """Listings in the user's orders (cancelled ones aside): not recommended again."""
    rows = session.scalars(
        select(OrderItem.listing_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.buyer_id == user_id, Order.status != OrderStatus.cancelled)
        .distinct()
    )
    return {str(listing_id) for listing_id in rows}


_SHOWN_BY_ID = readable_columns_statements(
    Listing.id,
    Listing.seller_id,
    Listing.category_id,
    Listing.title,
    Listing.price_minor,
    Listing.currency,
)


def readable_listing(session: Session, actor: User | None, listing_id: uuid.UUID) -> Shown | None:
    """The page's listing as the caller may see it (else None: a 404)."""
    row = readable_columns(session, _SHOWN_BY_ID, actor, listing_id)
    if row is None:
        return None
    return Shown(str(row[0]), str(row[1]), str(row[2]), row[3], row[4], row[5])


def popular_listing_ids(session: Session, since: datetime, limit: int) -> list[tuple[str, str]]:
    """(listing id, category id) of the shop's best sellers since ``since`` (units ordered
    in orders not cancelled), then the newest listings on sale, up to ``limit``.

    Ties go to the newest listing, and only then to the id: ids are random, so a tie
    broken by them alone would order the same shop differently in each simulated run."""
    sold = (
        select(OrderItem.listing_id, func.sum(OrderItem.quantity).label("units"))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.placed_at >= since, Order.status != OrderStatus.cancelled)
        .group_by(OrderItem.listing_id)
        .subquery()
    )
    on_sale = (Listing.status == ListingStatus.active, Listing.stock > 0)
    best = session.execute(
        select(Listing.id, Listing.category_id)
        .join(sold, sold.c.listing_id == Listing.id)
        .where(*on_sale)
        .order_by(sold.c.units.desc(), Listing.created_at.desc(), Listing.id)
        .limit(limit)
    ).all()
    ranked = [(str(row.id), str(row.category_id)) for row in best]
    if len(ranked) < limit:
        seen = {listing_id for listing_id, _ in ranked}
        newest = session.execute(
            select(Listing.id, Listing.category_id)
            .where(*on_sale)
            .order_by(Listing.created_at.desc(), Listing.id)
            .limit(limit)
        ).all()
        ranked += [
            (str(row.id), str(row.category_id)) for row in newest if str(row.id) not in seen
        ][: limit - len(ranked)]
    return ranked
