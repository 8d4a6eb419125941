"""The shop-database reads behind recommendations: what can be shown right now, what the
caller already bought, and the shop's own popularity (when no model is published)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from shop_api.core.hot_reads import fetch_rows
from shop_api.listings.repository import (
    by_id_params,
    readable_columns,
    readable_columns_statements,
)
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


def _stored_ids(item_ids: Iterable[str]) -> dict[str, str]:
    """SQLite: the ids as stored (a canonical id's 32 hex digits) -> as given; anything
    else matches nothing."""
    return {item_id.replace("-", "").lower(): item_id for item_id in item_ids}


def _uuids(item_ids: Iterable[str]) -> dict[uuid.UUID, str]:
    """PostgreSQL: the ids that are UUIDs -> as given (imported datasets' items are not)."""
    by_uuid = {}
    for item_id in item_ids:
        try:
            by_uuid[uuid.UUID(item_id)] = item_id
        except ValueError:
            continue
    return by_uuid


def _shown(row: Sequence, on_sqlite: bool) -> Shown:
    if on_sqlite:
        return Shown(_hyphenated(row[0]), _hyphenated(row[1]), _hyphenated(row[2]), *row[3:6])
    return Shown(str(row[0]), str(row[1]), str(row[2]), *row[3:6])


def available(session: Session, item_ids: Iterable[str]) -> dict[str, Shown]:
    """Of these listings, the ones on sale now (active, in stock), by the ids as given.

    Ids that are not UUIDs (imported datasets' items) match nothing."""
    connection = session.connection()
    dialect = connection.dialect.name
    on_sqlite = dialect == "sqlite"
    wanted: Mapping[str, str] | Mapping[uuid.UUID, str]
    wanted = _stored_ids(item_ids) if on_sqlite else _uuids(item_ids)
    if not wanted:
        return {}
    ids = json.dumps(list(wanted)) if on_sqlite else list(wanted)
    rows = fetch_rows(connection, _on_sale_statement(dialect), {"ids": ids})
    return {wanted[row[0]]: _shown(row, on_sqlite) for row in rows}


class Availability:
    """Which candidates are on sale, each read at most once in a request: a listing's
    lists seed it with what they read together with the listing itself."""

    def __init__(self, session: Session, known: Mapping[str, Shown | None] | None = None) -> None:
        self._session = session
        self._known: dict[str, Shown | None] = dict(known or {})

    def of(self, item_ids: Sequence[str]) -> dict[str, Shown]:
        """Those of ``item_ids`` on sale now (see ``available``)."""
        known = self._known
        missing = [item_id for item_id in item_ids if item_id not in known]
        if missing:
            found = available(self._session, missing)
            for item_id in missing:
                known[item_id] = found.get(item_id)
        return {item_id: shown for item_id in item_ids if (shown := known[item_id]) is not None}


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


@functools.cache
def _listing_and_on_sale_statement(dialect: str, kind: str) -> CompoundSelect:
    """The page's listing as a caller of this ``kind`` may see it (``part`` 0) and the
    listings on sale among ``ids`` (``part`` 1), as one statement: a listing's lists read
    their first candidates with the listing itself, one round trip instead of two."""
    reads = _SHOWN_BY_ID.stored if dialect == "sqlite" else _SHOWN_BY_ID.typed
    return union_all(
        reads[kind].add_columns(literal_column("0").label("part")),
        _on_sale_statement(dialect).add_columns(literal_column("1").label("part")),
    )


def readable_listing(
    session: Session, actor: User | None, listing_id: uuid.UUID, item_ids: Sequence[str] = ()
) -> tuple[Shown | None, dict[str, Shown]]:
    """The page's listing as the caller may see it (else None: a 404) and, read with it,
    which of ``item_ids`` are on sale now (as ``available`` tells)."""
    connection = session.connection()
    dialect = connection.dialect.name
    on_sqlite = dialect == "sqlite"
    if not item_ids:
        row = readable_columns(session, _SHOWN_BY_ID, actor, listing_id)
        # readable_columns returns ids as UUIDs on both databases
        return (None if row is None else _shown(row, on_sqlite=False)), {}
    kind, params = by_id_params(actor, listing_id)
    wanted: Mapping[str, str] | Mapping[uuid.UUID, str]
    if on_sqlite:
        wanted = _stored_ids(item_ids)
        values: dict = {name: value.hex for name, value in params.items()}
        values["ids"] = json.dumps(list(wanted))
    else:
        wanted = _uuids(item_ids)
        values = {**params, "ids": list(wanted)}
    listing, shown = None, {}
    for row in fetch_rows(connection, _listing_and_on_sale_statement(dialect, kind), values):
        if row[6] == 0:
            listing = _shown(row, on_sqlite)
        else:
            shown[wanted[row[0]]] = _shown(row, on_sqlite)
    return listing, shown


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
