"""Listing queries. Visibility is part of the query: what a caller may not see is absent."""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Row,
    Select,
    String,
    Uuid,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from shop_api.catalog.service import category_reference
from shop_api.core.hot_reads import fetch_rows
from shop_api.models import Category, Listing, ListingCondition, ListingImage, ListingStatus, User
from shop_api.models.user import UserRole
from shop_api.search.backends import DocumentFilters, SearchBackend, ordered_join, query_terms
from shop_api.search.schema import search_docs

PUBLIC_STATUSES = (ListingStatus.active, ListingStatus.sold_out)


def _caller_kind(actor: User | None) -> str:
    if actor is None:
        return "anonymous"
    return "staff" if actor.role == UserRole.staff else "user"


def _visibility(kind: str, actor_id: Any, *, stored: bool = False) -> ColumnElement[bool] | None:
    """Published listings for everyone; drafts and paused ones for their seller and staff
    (None: no restriction). ``actor_id`` is a value or a bound parameter; ``stored``: it is
    compared with the seller's id as stored (SQLite's hex digits, a string)."""
    if kind == "staff":
        return None
    # The statuses as literals: an expanding IN of bound values is re-rendered per call.
    public = Listing.status.in_([literal_column(f"'{status.value}'") for status in PUBLIC_STATUSES])
    seller_id = type_coerce(Listing.seller_id, String) if stored else Listing.seller_id
    return public if kind == "anonymous" else or_(public, seller_id == actor_id)


def _by_id_statements() -> dict[str, Select[Listing]]:
    """One statement per kind of caller, with the ids as bound parameters.

    Built once at import: constructing a statement costs more than running its cached
    compiled form. (The listing page itself reads rows: see ``readable_page_rows``.)
    """
    statements = {}
    for kind in ("anonymous", "user", "staff"):
        statement = select(Listing).where(Listing.id == bindparam("listing_id"))
        visible = _visibility(kind, bindparam("actor_id"))
        statements[kind] = statement if visible is None else statement.where(visible)
    return statements


_BY_ID = _by_id_statements()
_BY_ID_FOR_UPDATE = {kind: statement.with_for_update() for kind, statement in _BY_ID.items()}


def by_id_params(actor: User | None, listing_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    """Which statement of a per-kind-of-caller set applies, and its bound values."""
    kind = _caller_kind(actor)
    params: dict[str, Any] = {"listing_id": listing_id}
    if kind == "user":
        assert actor is not None
        params["actor_id"] = actor.id
    return kind, params


def get_readable(
    session: Session, actor: User | None, listing_id: uuid.UUID, *, for_update: bool = False
) -> Listing | None:
    """The listing if the caller may see it; ``for_update`` locks its row (PostgreSQL;
    SQLite writers hold the database's write lock already)."""
    kind, params = by_id_params(actor, listing_id)
    statements = _BY_ID_FOR_UPDATE if for_update else _BY_ID
    return session.scalars(statements[kind], params).one_or_none()


# The listing page's columns, and its images' (null when it has none).
_PAGE_COLUMNS = (
    *Listing.__table__.c,
    ListingImage.id.label("image_id"),
    ListingImage.storage_key.label("image_key"),
    ListingImage.content_type.label("image_content_type"),
    ListingImage.width.label("image_width"),
    ListingImage.height.label("image_height"),
    ListingImage.size_bytes.label("image_size_bytes"),
    ListingImage.position.label("image_position"),
)


def _page_statements() -> dict[str, Select]:
    """Per kind of caller: a listing with its images as rows of one Core SELECT (no ORM
    entities, one round trip), the ids bound parameters. Built once, like ``_BY_ID``."""
    statements = {}
    for kind in ("anonymous", "user", "staff"):
        statement = (
            select(*_PAGE_COLUMNS)
            .outerjoin(ListingImage, ListingImage.listing_id == Listing.id)
            .where(Listing.id == bindparam("listing_id"))
            .order_by(ListingImage.position, ListingImage.id)
        )
        visible = _visibility(kind, bindparam("actor_id"))
        statements[kind] = statement if visible is None else statement.where(visible)
    return statements


_PAGE = _page_statements()


def readable_page_rows(session: Session, actor: User | None, listing_id: uuid.UUID) -> list[Row]:
    """The listing the caller may see, one row per image (one row with null image columns
    when it has none); no rows when it does not exist or is not visible to the caller."""
    kind, params = by_id_params(actor, listing_id)
    return list(session.connection().execute(_PAGE[kind], params).all())


@dataclass(frozen=True)
class ColumnReads:
    """Per kind of caller, some columns of the listing the caller may see, the ids bound
    parameters: for ``readable_columns``. ``typed`` binds and reads ids as UUIDs;
    ``stored`` (SQLite) as the 32 hex digits SQLAlchemy stores them as, so that it converts
    nothing and the read runs on sqlite3 itself (``core.hot_reads``): through SQLAlchemy's
    execution layer, a one-row read costs several times the statement."""

    typed: dict[str, Select]
    stored: dict[str, Select]
    uuid_positions: tuple[int, ...]  # the columns ``stored`` reads as hex digits


def readable_columns_statements(*columns: Any) -> ColumnReads:
    """The reads of these columns for ``readable_columns``. Build them once, like ``_BY_ID``."""
    uuid_positions = tuple(
        position for position, column in enumerate(columns) if isinstance(column.type, Uuid)
    )
    as_stored = [
        type_coerce(column, String) if position in uuid_positions else column
        for position, column in enumerate(columns)
    ]
    stored_id = type_coerce(Listing.id, String)
    typed, stored = {}, {}
    for kind in ("anonymous", "user", "staff"):
        statement = select(*columns).where(Listing.id == bindparam("listing_id"))
        visible = _visibility(kind, bindparam("actor_id"))
        typed[kind] = statement if visible is None else statement.where(visible)
        statement = select(*as_stored).where(stored_id == bindparam("listing_id", type_=String))
        visible = _visibility(kind, bindparam("actor_id", type_=String), stored=True)
        stored[kind] = statement if visible is None else statement.where(visible)
    return ColumnReads(typed, stored, uuid_positions)


def readable_columns(
    session: Session, reads: ColumnReads, actor: User | None, listing_id: uuid.UUID
) -> Sequence[Any] | None:
    """The columns of ``readable_columns_statements`` for the listing, if the caller may
    see it, read by position with the values of ``hot_reads.fetch_rows`` (ids as UUIDs)."""
    kind, params = by_id_params(actor, listing_id)
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        rows = fetch_rows(connection, reads.typed[kind], params)
        return rows[0] if rows else None
    rows = fetch_rows(
        connection, reads.stored[kind], {name: value.hex for name, value in params.items()}
    )
    if not rows:
        return None
    row = list(rows[0])
    for position in reads.uuid_positions:
        row[position] = uuid.UUID(hex=row[position])
    return row


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
    """What a search asks for. ``category`` is a category's slug or id, as the caller gave
    it: the search statement itself finds the category and its descendants, so a filtered
    search costs one statement, not a lookup first. An unknown category matches nothing
    (the endpoint tells it from an empty one with ``find_category`` when a search finds
    nothing)."""

    query: str | None = None
    category: str | None = None
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

    Rows have the ``SUMMARY_COLUMNS``, ``cover_key`` (the first image), ``score`` and
    ``total_count``, to be read by position, with the values of ``hot_reads.fetch_rows``
    (on asyncpg, enum columns as their string values).
    """
    terms = query_terms(filters.query or "")
    if filters.query and not terms:
        return [], 0
    shape = _Shape.of(filters, text=bool(terms), backend=backend)
    params: dict[str, Any] = {"limit": limit, "offset": offset, "top_rows": offset + limit}
    if terms:
        params["match"] = backend.match_value(terms)
        statement, count = _text_statements(backend, shape)
    else:
        statement, count = _browse_statements(backend, shape)
    params.update(_filter_values(filters, shape))
    # Core statements on the session's connection: no ORM entities to load. The page is
    # the hottest read of the shop: on asyncpg it goes to the driver itself (hot_reads).
    connection = session.connection()
    rows = fetch_rows(connection, statement, params)
    if rows:
        return rows, rows[0][-1]  # total_count
    # No matches, or a page past the last one.
    return [], connection.execute(count, params).scalar_one()


@dataclass(frozen=True)
class _Shape:
    """What decides the SQL of a search: the sort and which filters are set (not their
    values, which are bound parameters).

    Where the driver prepares statements (PostgreSQL), each connection plans each distinct
    statement several times before it settles on a generic plan. There the value filters
    (price, condition, seller) are always in the statement and a null value turns one off:
    a handful of statements per sort rather than dozens warm up in a few requests.
    """

    text: bool
    sort: str
    category: bool
    min_price: bool
    max_price: bool
    condition: bool
    seller: bool
    optional_values: bool = False

    @classmethod
    def of(cls, filters: SearchFilters, *, text: bool, backend: SearchBackend) -> _Shape:
        sort = filters.sort
        if not text and sort == "relevance":
            sort = "newest"  # relevance needs words
        if backend.prepares_statements:
            return cls(text, sort, filters.category is not None, True, True, True, True, True)
        return cls(
            text=text,
            sort=sort,
            category=filters.category is not None,
            min_price=filters.min_price is not None,
            max_price=filters.max_price is not None,
            condition=filters.condition is not None,
            seller=filters.seller_id is not None,
        )

    @property
    def filtered(self) -> bool:
        return self.category or self.min_price or self.max_price or self.condition or self.seller


def _filter_values(filters: SearchFilters, shape: _Shape) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if shape.optional_values:
        values.update(min_price=None, max_price=None, condition=None, seller_id=None)
    if filters.category is not None:
        values["category_slug"], values["category_id"] = category_reference(filters.category)
    if filters.min_price is not None:
        values["min_price"] = filters.min_price
    if filters.max_price is not None:
        values["max_price"] = filters.max_price
    if filters.condition is not None:
        values["condition"] = ListingCondition(filters.condition)
    if filters.seller_id is not None:
        values["seller_id"] = filters.seller_id
    return values


# The path of the category a search names by slug or id (catalog.service.category_reference
# gives one of the two parameters, the other is null).
_CHOSEN_CATEGORY_PATH = (
    select(Category.path)
    .where(
        or_(
            Category.slug == bindparam("category_slug", type_=Category.slug.type),
            Category.id == bindparam("category_id", type_=Category.id.type),
        )
    )
    .scalar_subquery()
)


def _filters(backend: SearchBackend, shape: _Shape) -> DocumentFilters | None:
    """The filter conditions of a shape, on ``listings`` or on the search documents (which
    carry the same filter columns), with the filter values as bound parameters."""
    if not shape.filtered:
        return None

    def conditions(columns: ReadOnlyColumnCollection[str, Any]) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if shape.category:
            # The category and its descendants (as catalog.service.subtree_ids).
            path = Category.path
            chosen = _CHOSEN_CATEGORY_PATH
            subtree = select(Category.id).where(or_(path == chosen, path.startswith(chosen + "/")))
            found.append(backend.one_of(columns.category_id, subtree))
        for flag, column, name, compare in (
            (shape.min_price, columns.price_minor, "min_price", operator.ge),
            (shape.max_price, columns.price_minor, "max_price", operator.le),
            (shape.condition, columns.condition, "condition", operator.eq),
            (shape.seller, columns.seller_id, "seller_id", operator.eq),
        ):
            if flag:
                value = bindparam(name, type_=column.type)
                condition = compare(column, value)
                if shape.optional_values:
                    # Cast: PostgreSQL must know the parameter's type to test it for null.
                    condition = or_(cast(value, String).is_(None), condition)
                found.append(condition)
        return found

    return conditions


def _order(
    columns: ReadOnlyColumnCollection[str, Any],
    key: ColumnElement[Any] | QueryableAttribute[Any],
    sort: str,
    score: ColumnElement[float] | None,
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


# The first image of each listing of a page, read with the page.
_COVER_KEY = (
    select(ListingImage.storage_key)
    .where(ListingImage.listing_id == Listing.id)
    .order_by(ListingImage.position)
    .limit(1)
    .scalar_subquery()
    .label("cover_key")
)

_LIMIT, _OFFSET = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)


@functools.cache
def _text_statements(backend: SearchBackend, shape: _Shape) -> tuple[Select, Select]:
    """The page statement of a full-text search shape, and its count for empty pages.

    Built once per backend and shape, with every value a bound parameter: building and
    hashing a statement costs more than running its cached compiled form. Matching,
    filtering, counting, ranking and paging run on the narrow search documents; the wide
    listing rows are read for the one page only.
    """
    documents = backend.documents(
        _filters(backend, shape),
        ranked=shape.sort == "relevance",
        top_rows=bindparam("top_rows", type_=Integer),
    )
    docs = search_docs.c
    score = documents.score if documents.score is not None else cast(null(), Float)
    # Ordered by its label: SQLite's bm25() may appear only once, in the result columns.
    score = score.label("score")
    page = (
        select(
            docs.listing_id,
            docs.created_at,
            docs.price_minor,
            score,
            documents.total.label("total_count"),
        )
        .select_from(documents.source)
        .where(*documents.where)
        .order_by(*_order(docs, docs.listing_id, shape.sort, score))
        .limit(_LIMIT)
        .offset(_OFFSET)
        .subquery("page")
    )
    statement = (
        select(*SUMMARY_COLUMNS, _COVER_KEY, page.c.score, page.c.total_count)
        .select_from(ordered_join(page, Listing.__table__, Listing.id == page.c.listing_id))
        .order_by(*_order(page.c, page.c.listing_id, shape.sort, page.c.score))
    )
    return statement, documents.count


@functools.cache
def _browse_statements(backend: SearchBackend, shape: _Shape) -> tuple[Select, Select]:
    """Active listings by filters alone (no query words): newest or by price."""
    columns = Listing.__table__.c
    filters = _filters(backend, shape)
    where = [columns.status == ListingStatus.active, *(filters(columns) if filters else [])]
    total = select(func.count()).select_from(Listing).where(*where).scalar_subquery()
    statement = (
        select(
            *SUMMARY_COLUMNS,
            _COVER_KEY,
            cast(null(), Float).label("score"),
            total.label("total_count"),
        )
        .where(*where)
        .order_by(*_order(columns, Listing.id, shape.sort, None))
        .limit(_LIMIT)
        .offset(_OFFSET)
    )
    return statement, select(total)


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
