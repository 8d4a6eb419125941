"""Atomic stock reservation: a conditional UPDATE, so two buyers can never both get the
last unit, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, case, update
from sqlalchemy.orm import Session

from shop_api.models import Listing, ListingStatus

_listings = Listing.__table__
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
    return session.connection().execute(_RESERVE, parameters).rowcount == 1  # type: ignore[attr-defined]


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
