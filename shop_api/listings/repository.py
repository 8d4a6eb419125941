"""Listing queries. Visibility is part of the query: what a caller may not see is absent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Select, bindparam, cast, func, null, or_, select
from sqlalchemy.orm import Session, joinedload

from shop_api.catalog.service import subtree_ids
from shop_api.models import Category, Listing, ListingCondition, ListingImage, ListingStatus, User
from shop_api.models.user import UserRole
from shop_api.search.backends import SearchBackend, query_terms

PUBLIC_STATUSES = (ListingStatus.active, ListingStatus.sold_out)


def _visible_to(actor: User | None) -> ColumnElement[bool] | None:
    if actor is not None and actor.role == UserRole.staff:
        return None
    visible = Listing.status.in_(PUBLIC_STATUSES)
    if actor is not None:
        visible = or_(visible, Listing.seller_id == actor.id)
    return visible


def readable_statement(actor: User | None) -> Select[tuple[Listing]]:
    """Published listings for everyone; drafts and paused ones for their seller and staff."""
    visible = _visible_to(actor)
    statement = select(Listing)
    return statement if visible is None else statement.where(visible)


def _by_id_statements(*, with_images: bool) -> dict[str, Select[tuple[Listing]]]:
    """One statement per kind of caller, with the ids as bound parameters.

    Built once at import: constructing a statement costs more than running its cached
    compiled form, and the single-listing read is the hottest query in the shop.
    """
    by_id = Listing.id == bindparam("listing_id")
    public = Listing.status.in_(PUBLIC_STATUSES)
    own = Listing.seller_id == bindparam("actor_id")
    statements = {
        "anonymous": select(Listing).where(public, by_id),
        "user": select(Listing).where(or_(public, own), by_id),
        "staff": select(Listing).where(by_id),
    }
    if with_images:
        # One query (LEFT OUTER JOIN) rather than a second SELECT for the images.
        return {kind: s.options(joinedload(Listing.images)) for kind, s in statements.items()}
    return statements


_BY_ID = {False: _by_id_statements(with_images=False), True: _by_id_statements(with_images=True)}


def get_readable(
    session: Session, actor: User | None, listing_id: uuid.UUID, *, with_images: bool = False
) -> Listing | None:
    statements = _BY_ID[with_images]
    if actor is None:
        statement, params = statements["anonymous"], {"listing_id": listing_id}
    elif actor.role == UserRole.staff:
        statement, params = statements["staff"], {"listing_id": listing_id}
    else:
        statement, params = statements["user"], {"listing_id": listing_id, "actor_id": actor.id}
    result = session.scalars(statement, params)
    return (result.unique() if with_images else result).one_or_none()


def count_images(session: Session, listing_id: uuid.UUID) -> tuple[int, int]:
    """(number of images, next free position)."""
    count, last = session.execute(
        select(func.count(), func.max(ListingImage.position)).where(
            ListingImage.listing_id == listing_id
        )
    ).one()
    return count, (last + 1 if last is not None else 0)


@dataclass(frozen=True)
class SearchFilters:
    query: str | None = None
    category: Category | None = None
    min_price: int | None = None
    max_price: int | None = None
    condition: ListingCondition | None = None
    seller_id: uuid.UUID | None = None
    sort: str = "relevance"


SUMMARY_COLUMNS = (
    Listing.id,
    Listing.seller_id,
    Listing.category_id,
    Listing.title,
    Listing.price_minor,
    Listing.currency,
    Listing.stock,
    Listing.condition,
    Listing.status,
    Listing.created_at,
)


def search(
    session: Session,
    backend: SearchBackend,
    filters: SearchFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence, int]:
    """Active listings matching every query word and filter, with a total count.

    Rows have the ``SUMMARY_COLUMNS``, ``score`` and ``total_count``.
    """
    terms = query_terms(filters.query or "")
    if filters.query and not terms:
        return [], 0
    statement = select(*SUMMARY_COLUMNS)
    score = None
    if terms:
        statement, score = backend.restrict(statement, terms)
    score_column = (score if score is not None else cast(null(), Float)).label("score")
    statement = statement.add_columns(score_column)
    statement = statement.where(Listing.status == ListingStatus.active)
    if filters.category is not None:
        statement = statement.where(Listing.category_id.in_(subtree_ids(filters.category)))
    if filters.min_price is not None:
        statement = statement.where(Listing.price_minor >= filters.min_price)
    if filters.max_price is not None:
        statement = statement.where(Listing.price_minor <= filters.max_price)
    if filters.condition is not None:
        statement = statement.where(Listing.condition == filters.condition)
    if filters.seller_id is not None:
        statement = statement.where(Listing.seller_id == filters.seller_id)

    sort = filters.sort if (filters.sort != "relevance" or score is not None) else "newest"
    order_by = {
        "relevance": (score_column.desc(), Listing.created_at.desc()),
        "newest": (Listing.created_at.desc(),),
        "price_asc": (Listing.price_minor.asc(), Listing.created_at.desc()),
        "price_desc": (Listing.price_minor.desc(), Listing.created_at.desc()),
    }[sort]
    # The total comes with the page (a window count) instead of from a second query.
    page = (
        statement.add_columns(func.count().over().label("total_count"))
        .order_by(*order_by, Listing.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(page).all()
    if rows:
        return rows, rows[0].total_count
    # No matches, or a page past the last one.
    return [], session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def cover_image_keys(session: Session, listing_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The first image of each listing, in one query for a whole page."""
    if not listing_ids:
        return {}
    rows = session.execute(
        select(ListingImage.listing_id, ListingImage.storage_key)
        .where(ListingImage.listing_id.in_(listing_ids))
        .order_by(ListingImage.listing_id, ListingImage.position)
    )
    covers: dict[uuid.UUID, str] = {}
    for listing_id, key in rows:
        covers.setdefault(listing_id, key)
    return covers
