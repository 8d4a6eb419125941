"""The shop-database reads behind recommendations: what can be shown right now, what the
caller already bought, and the shop's own popularity (when no model is published)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from shop_api.listings.repository import readable_statement
from shop_api.models import Listing, ListingStatus, Order, OrderItem, OrderStatus, User


class Shown(NamedTuple):
    """What a recommended item shows of its listing (and the event item needs)."""

    id: uuid.UUID
    seller_id: uuid.UUID
    category_id: uuid.UUID
    title: str
    price_minor: int
    currency: str


SHOWN_COLUMNS = (
    Listing.id,
    Listing.seller_id,
    Listing.category_id,
    Listing.title,
    Listing.price_minor,
    Listing.currency,
)


def as_uuids(item_ids: Iterable[str]) -> list[uuid.UUID]:
    """Model item ids that are shop listing ids (imported datasets' ids are skipped)."""
    out = []
    for item_id in item_ids:
        try:
            out.append(uuid.UUID(item_id))
        except ValueError:
            continue
    return out


# Built once: every recommendation list runs it (building a statement costs more than
# running its cached compiled form).
_ON_SALE = select(*SHOWN_COLUMNS).where(
    Listing.id.in_(bindparam("ids", expanding=True)),
    Listing.status == ListingStatus.active,
    Listing.stock > 0,
)


def available(session: Session, item_ids: Iterable[str]) -> dict[str, Shown]:
    """Of these listings, the ones on sale now (active, in stock), by id string."""
    ids = as_uuids(item_ids)
    if not ids:
        return {}
    rows = session.execute(_ON_SALE, {"ids": ids}).all()
    return {str(row.id): Shown(*row) for row in rows}


def bought_by(session: Session, user_id: uuid.UUID) -> set[str]:
    """Listings in the user's orders (cancelled ones aside): not recommended again."""
    rows = session.scalars(
        select(OrderItem.listing_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.buyer_id == user_id, Order.status != OrderStatus.cancelled)
        .distinct()
    )
    return {str(listing_id) for listing_id in rows}


def readable_listing(session: Session, actor: User | None, listing_id: uuid.UUID) -> Shown | None:
    """The page's listing as the caller may see it (else None: a 404)."""
    row = session.execute(
        readable_statement(actor).with_only_columns(*SHOWN_COLUMNS).where(Listing.id == listing_id)
    ).first()
    return None if row is None else Shown(*row)


def popular_listing_ids(session: Session, since: datetime, limit: int) -> list[tuple[str, str]]:
    """(listing id, category id) of the shop's best sellers since ``since`` (units ordered
    in orders not cancelled), then the newest listings on sale, up to ``limit``."""
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
        .order_by(sold.c.units.desc(), Listing.id)
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
