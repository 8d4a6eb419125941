"""Atomic stock reservation: a conditional UPDATE, so two buyers can never both get the
last unit, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, Update, Uuid, bindparam, case, column, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from shop_api.core.typed_sql import table_of
from shop_api.models import Listing, ListingStatus

_listings = table_of(Listing)
# Prebuilt with bound values: checkout runs it once per line.
_RESERVE = (
    update(_listings)
    .where(
        _listings.c.id == bindparam("listing_id"),
        _listings.c.status == ListingStatus.active.value,
        _listings.c.stock >= bindparam("quantity"),
    )
    .values(
        stock=_listings.c.stock - bindparam("quantity"),
        status=case(
            (_listings.c.stock - bindparam("quantity") == 0, ListingStatus.sold_out.value),
            else_=_listings.c.status,
        ),
        modified_at=bindparam("now"),
    )
)


def reserve(session: Session, listing_id: uuid.UUID, quantity: int, now: datetime) -> bool:
    """Take ``quantity`` units if that many are on sale; the last unit marks it sold out."""
    parameters = {"listing_id": listing_id, "quantity": quantity, "now": now}
    return session.connection().execute(_RESERVE, parameters).rowcount == 1


def reserve_all(
    session: Session, lines: Sequence[tuple[uuid.UUID, int]], now: datetime
) -> list[uuid.UUID]:
    """Take every line's units (listing id, quantity), or find out which cannot be taken:
    the listings not reserved, in id order (none: all were). On a refusal the caller
    rolls back, which gives back the lines that were reserved.

    Listings are locked in id order, so concurrent multi-item checkouts cannot deadlock.
    PostgreSQL: one statement for the whole basket (each statement is a round trip);
    elsewhere one conditional UPDATE per line (SQLite runs them in process).
    """
    ordered = sorted(lines, key=lambda line: str(line[0]))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        wanted = [
            {"listing_id": str(listing_id), "quantity": quantity}
            for listing_id, quantity in ordered
        ]
        taken: set[uuid.UUID] = set(
            connection.execute(_reserve_basket(), {"lines": wanted, "now": now}).scalars()
        )
        return [listing_id for listing_id, _ in ordered if listing_id not in taken]
    return [
        listing_id
        for listing_id, quantity in ordered
        if not reserve(session, listing_id, quantity, now)
    ]


@functools.cache
def _reserve_basket() -> Update:
    """PostgreSQL: the basket's listings locked in id order, then one conditional UPDATE
    of them all; RETURNING the ids reserved."""
    wanted = (
        func.jsonb_to_recordset(bindparam("lines", type_=JSONB))
        .table_valued(column("listing_id", Uuid()), column("quantity", Integer()))
        .render_derived(name="wanted", with_types=True)
    )
    locked = (
        select(_listings.c.id)
        .where(_listings.c.id.in_(select(wanted.c.listing_id)))
        .order_by(_listings.c.id)
        .with_for_update()
        .cte("locked")
        .prefix_with("MATERIALIZED")
    )
    left = _listings.c.stock - wanted.c.quantity
    return (
        update(_listings)
        .where(
            _listings.c.id == wanted.c.listing_id,
            _listings.c.id.in_(select(locked.c.id)),
            _listings.c.status == ListingStatus.active.value,
            _listings.c.stock >= wanted.c.quantity,
        )
        .values(
            stock=left,
            status=case((left == 0, ListingStatus.sold_out.value), else_=_listings.c.status),
            modified_at=bindparam("now"),
        )
        .returning(_listings.c.id)
    )


def release(session: Session, listing_id: uuid.UUID, quantity: int, now: datetime) -> None:
    """Give units back; a listing sold out only for lack of stock goes back on sale."""
    session.execute(
        update(Listing)
        .where(Listing.id == listing_id)
        .values(
            stock=Listing.stock + quantity,
            status=case(
                (Listing.status == ListingStatus.sold_out.value, ListingStatus.active.value),
                else_=Listing.status,
            ),
            modified_at=now,
        )
        .execution_options(synchronize_session=False)
    )
