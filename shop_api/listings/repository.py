"""Listing queries. Visibility is part of the query: what a caller may not see is absent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnCollection,
    ColumnElement,
    Float,
    Select,
    bindparam,
    cast,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session, joinedload

from shop_api.catalog.service import subtree_ids
from shop_api.models import Category, Listing, ListingCondition, ListingImage, ListingStatus, User
from shop_api.models.user import UserRole
from shop_api.search.backends import SearchBackend, query_terms
from shop_api.search.schema import search_docs

PUBLIC_STATUSES = (ListingStatus.active, ListingStatus.sold_out)


def _caller_kind(actor: User | None) -> str:
    if actor is None:
        return "anonymous"
    return "staff" if actor.role == UserRole.staff else "user"


def _visibility(kind: str, actor_id: Any) -> ColumnElement[bool] | None:
    """Published listings for everyone; drafts and paused ones for their seller and staff
    (None: no restriction). ``actor_id`` is a value or a bound parameter."""
    if kind == "staff":
        return None
    public = Listing.status.in_(PUBLIC_STATUSES)
    return public if kind == "anonymous" else or_(public, Listing.seller_id == actor_id)


def readable_statement(actor: User | None) -> Select[tuple[Listing]]:
    visible = _visibility(_caller_kind(actor), actor.id if actor is not None else None)
    statement = select(Listing)
    return statement if visible is None else statement.where(visible)


def _by_id_statements(*, with_images: bool) -> dict[str, Select[tuple[Listing]]]:
    """One statement per kind of caller, with the ids as bound parameters.

    Built once at import: constructing a statement costs more than running its cached
    compiled form, and the single-listing read is the hottest query in the shop.
    """
    statements = {}
    for kind in ("anonymous", "user", "staff"):
        statement = select(Listing).where(Listing.id == bindparam("listing_id"))
        visible = _visibility(kind, bindparam("actor_id"))
        if visible is not None:
            statement = statement.where(visible)
        if with_images:
            # One query (LEFT OUTER JOIN) rather than a second SELECT for the images.
            statement = statement.options(joinedload(Listing.images))
        statements[kind] = statement
    return statements


_BY_ID = {False: _by_id_statements(with_images=False), True: _by_id_statements(with_images=True)}


def get_readable(
    session: Session, actor: User | None, listing_id: uuid.UUID, *, with_images: bool = False
) -> Listing | None:
    kind = _caller_kind(actor)
    params: dict[str, Any] = {"listing_id": listing_id}
    if kind == "user":
        assert actor is not None
        params["actor_id"] = actor.id
    result = session.scalars(_BY_ID[with_images][kind], params)
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
    if terms:
        return _search_text(session, backend, terms, filters, limit=limit, offset=offset)
    return _browse(session, filters, limit=limit, offset=offset)


def _filtered(statement: Select, columns: ColumnCollection, filters: SearchFilters) -> Select:
    """``statement`` limited to active listings and the filters, on ``listings`` or on the
    search documents (which carry the same filter columns)."""
    statement = statement.where(columns.status == ListingStatus.active)
    if filters.category is not None:
        statement = statement.where(columns.category_id.in_(subtree_ids(filters.category)))
    if filters.min_price is not None:
        statement = statement.where(columns.price_minor >= filters.min_price)
    if filters.max_price is not None:
        statement = statement.where(columns.price_minor <= filters.max_price)
    if filters.condition is not None:
        statement = statement.where(columns.condition == ListingCondition(filters.condition))
    if filters.seller_id is not None:
        statement = statement.where(columns.seller_id == filters.seller_id)
    return statement


def _order(
    columns: ColumnCollection, key: ColumnElement, sort: str, score: ColumnElement[float] | None
) -> list:
    """ORDER BY for a sort; ``key`` (the listing id) breaks the last ties."""
    keys = {
        "relevance": [score.desc()] if score is not None else [],
        "newest": [],
        "price_asc": [columns.price_minor.asc()],
        "price_desc": [columns.price_minor.desc()],
    }[sort]
    # Ties in the same order everywhere, so pages never overlap.
    return [*keys, columns.created_at.desc(), key]


def _search_text(
    session: Session,
    backend: SearchBackend,
    terms: list[str],
    filters: SearchFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence, int]:
    """Match, filter, count, rank and page on the narrow search documents; then read the
    wide listing rows of the one page only."""
    source, condition, score_expression = backend.matching(terms)
    # Ordered by its label: SQLite's bm25() may appear only once, in the result columns.
    score = score_expression.label("score")
    docs = search_docs.c
    matched = _filtered(
        select(
            docs.listing_id,
            docs.created_at,
            docs.price_minor,
            score,
            # The total comes with the page (a window count) instead of a second query.
            func.count().over().label("total_count"),
        )
        .select_from(source)
        .where(condition),
        docs,
        filters,
    )
    sort = filters.sort
    page = (
        matched.order_by(*_order(docs, docs.listing_id, sort, score))
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    rows = session.execute(
        select(*SUMMARY_COLUMNS, page.c.score, page.c.total_count)
        .join(page, page.c.listing_id == Listing.id)
        .order_by(*_order(page.c, page.c.listing_id, sort, page.c.score))
    ).all()
    if rows:
        return rows, rows[0].total_count
    # No matches, or a page past the last one.
    return [], session.scalar(select(func.count()).select_from(matched.subquery())) or 0


def _browse(
    session: Session, filters: SearchFilters, *, limit: int, offset: int
) -> tuple[Sequence, int]:
    """Active listings by filters alone (no query words): newest or by price."""
    statement = _filtered(select(*SUMMARY_COLUMNS), Listing.__table__.c, filters)
    sort = "newest" if filters.sort == "relevance" else filters.sort
    page = (
        statement.add_columns(
            cast(null(), Float).label("score"), func.count().over().label("total_count")
        )
        .order_by(*_order(Listing.__table__.c, Listing.id, sort, None))
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(page).all()
    if rows:
        return rows, rows[0].total_count
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
