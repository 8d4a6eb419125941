"""One full-text search interface over each database's own engine."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Float,
    FromClause,
    Select,
    String,
    Subquery,
    bindparam,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Join

from shop_api.models import ListingStatus
from shop_api.search.schema import TEXT_SEARCH_CONFIG, search_docs

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 12

# PostgreSQL's english.stop (Snowball). PostgreSQL drops these from queries by itself; dropping
# them here too makes SQLite answer the same query the same way ("case for the phone").
_STOP_WORDS_TEXT = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just don
    should now
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def query_terms(query: str) -> list[str]:
    """Words of a shopper's query; punctuation, engine operators and stop words are dropped."""
    words = [word for word in _WORD.findall(query.lower()) if word not in STOP_WORDS]
    return words[:MAX_QUERY_TERMS]


class OrderedJoin(Join):
    """An inner join whose left side stays the outer loop: SQLite's ``CROSS JOIN``.

    SQLite's planner costs a join of a small materialised page (or of FTS5 matches) with
    an indexed table badly: a plain ``JOIN`` in the same order measured up to twice as
    slow as ``CROSS JOIN``, which tells it to keep the order. Elsewhere a plain ``JOIN``.
    """

    inherit_cache = True


@compiles(OrderedJoin, "sqlite")
def _cross_join(element: OrderedJoin, compiler: SQLCompiler, **kw: Any) -> str:
    if element.onclause is None:  # Join derives one from foreign keys when none is given
        raise CompileError("an ordered join needs an ON clause")
    kw["asfrom"] = True
    left = compiler.process(element.left, **kw)
    right = compiler.process(element.right, **kw)
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"


@compiles(OrderedJoin)
def _join(element: OrderedJoin, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.visit_join(element, **kw)


def ordered_join(left: FromClause, right: FromClause, onclause: ColumnElement[bool]) -> OrderedJoin:
    return OrderedJoin(left, right, onclause)


DocumentFilters = Callable[[ReadOnlyColumnCollection[str, Any]], list[ColumnElement[bool]]]
"""The filter conditions of one search (category, price, ...) on some search-document columns."""


@dataclass(frozen=True)
class Documents:
    """The active search documents that match the ``match`` parameter and the filters.

    ``source`` holds the ``search_docs`` columns, restricted by ``where``; ``score`` (higher
    is better) is present only when ranking was asked for. ``total`` is a column of the
    page's SELECT that counts every such document (so a page and the result count come
    from one statement); ``count`` a statement that counts them alone, for empty pages.
    """

    source: FromClause
    where: list[ColumnElement[bool]]
    score: ColumnElement[float] | None
    total: ColumnElement[int]
    count: Select[int]


class SearchBackend(Protocol):
    prepares_statements: bool
    """The driver prepares statements per connection (fewer distinct ones warm up faster)."""

    def __hash__(self) -> int:
        """Prebuilt statements are cached per backend (``functools.cache``)."""
        ...

    def match_value(self, terms: list[str]) -> str:
        """The value of the ``match`` bound parameter for these query words."""
        ...

    def documents(
        self, filters: DocumentFilters | None, *, ranked: bool, top_rows: ColumnElement[int]
    ) -> Documents:
        """Active documents containing every word and passing ``filters``.

        Statements take the bound parameters ``match`` and those of ``filters``. Ranked,
        the score is computed for every match (the order needs it), but a backend may join
        the documents of only the ``top_rows`` best scores (and their ties): a page never
        needs more.
        """
        ...

    def one_of(self, column: ColumnElement[Any], values: Select[Any]) -> ColumnElement[bool]:
        """``column`` is one of the values a subquery selects (a category subtree)."""
        ...

    def matches(self, terms: list[str]) -> Subquery:
        """Active listings containing every term: ``listing_id`` and ``score`` (for checks
        and tools; the search endpoint uses ``documents``)."""
        ...


class _Matches:
    """``SearchBackend.matches`` from the backend's own ``documents`` (a mixin)."""

    def matches(self: SearchBackend, terms: list[str]) -> Subquery:
        documents = self.documents(None, ranked=True, top_rows=literal(1_000_000_000))
        if documents.score is None:
            raise TypeError(f"{type(self).__name__}: ranked documents without a score")
        statement = select(search_docs.c.listing_id, documents.score.label("score"))
        statement = statement.select_from(documents.source).where(*documents.where)
        match = self.match_value(terms)
        return statement.params(match=match).subquery("search_matches")


class SqliteFts5Search(_Matches):
    """FTS5 with BM25; title matches weigh ten times description matches.

    The FTS5 index holds active listings only (search objects version 3), so a search
    without filters never reads the search documents of all its matches: the count comes
    from the index, and a ranked page joins only the documents that can reach it.
    """

    _fts = table("listings_fts", column("rowid"))
    prepares_statements = False

    def one_of(self, column: ColumnElement[Any], values: Select[Any]) -> ColumnElement[bool]:
        return column.in_(values)

    def match_value(self, terms: list[str]) -> str:
        # Every word quoted: FTS5 operators in the query are just words.
        return " ".join(f'"{term}"' for term in terms)

    def documents(
        self, filters: DocumentFilters | None, *, ranked: bool, top_rows: ColumnElement[int]
    ) -> Documents:
        fts: ColumnClause[Any] = literal_column("listings_fts")
        match = fts.op("MATCH")(bindparam("match"))
        rowid = self._fts.c.rowid
        if not ranked:
            # No score: the planner may join from the index (the only way to run MATCH).
            source = ordered_join(self._fts, search_docs, search_docs.c.rowid == rowid)
            where = [match, *(filters(search_docs.c) if filters else [])]
            # Without filters the index alone counts (it holds active listings only). A
            # second pass costs less here than a window, which would copy every match.
            count = select(func.count()).select_from(source if filters else self._fts)
            count = count.where(*where)
            return Documents(source, where, None, count.scalar_subquery(), count)
        found = select(rowid, (-func.bm25(fts, 10.0, 1.0, type_=Float)).label("score")).where(match)
        if filters:
            # Filtered inside the match, so bm25() runs only for the documents kept.
            kept = search_docs.alias("filter_docs")
            found = found.where(exists().where(kept.c.rowid == rowid, *filters(kept.c)))
        # bm25() works only while FTS5 itself runs the MATCH, so the matches are a
        # materialised CTE that the planner cannot turn into lookups from the other side.
        matches = found.cte("fts_matches").prefix_with("MATERIALIZED")
        # The score of the last row a page can reach; only rows scoring at least that much
        # (ties included) are joined with their documents for the tie-breaking sort keys.
        cutoff = (
            select(matches.c.score)
            .order_by(matches.c.score.desc())
            .limit(1)
            .offset(top_rows - 1)
            .scalar_subquery()
        )
        source = ordered_join(matches, search_docs, search_docs.c.rowid == matches.c.rowid)
        count = select(func.count()).select_from(matches)
        return Documents(
            source,
            [matches.c.score >= func.coalesce(cutoff, literal(-1e308, Float))],
            matches.c.score,
            count.scalar_subquery(),
            count,
        )


class PostgresFullTextSearch(_Matches):
    """tsvector/tsquery ranked by ``ts_rank`` over the weighted search document.

    ``ts_rank`` (term frequencies by weight) rather than cover density (``ts_rank_cd``),
    which costs twice as much per match and every match is ranked. The status is a
    literal: the GIN index covers active documents only (search objects version 3), and
    only a literal lets the planner use it in a prepared statement's generic plan.
    """

    prepares_statements = True  # psycopg after a few executions; asyncpg at once

    def match_value(self, terms: list[str]) -> str:
        return " ".join(terms)

    def one_of(self, column: ColumnElement[Any], values: Select[Any]) -> ColumnElement[bool]:
        # = ANY(ARRAY(subquery)): the subquery runs once, before the scan, and filters its
        # rows. As IN (subquery) the planner makes a join whose generic plan (the one a
        # prepared statement settles on) repeats the whole scan for each category found.
        return column == func.any(func.array(values.scalar_subquery()))

    def documents(
        self, filters: DocumentFilters | None, *, ranked: bool, top_rows: ColumnElement[int]
    ) -> Documents:
        docs = search_docs.c
        # A scalar subquery: PostgreSQL parses the query once per statement (an InitPlan).
        # As a plain call with a bound value, a prepared statement's generic plan calls
        # plainto_tsquery() again for every match that ts_rank() scores.
        query = select(
            func.plainto_tsquery(
                literal_column(f"'{TEXT_SEARCH_CONFIG}'"), bindparam("match", type_=String)
            )
        ).scalar_subquery()
        where = [
            docs.document.op("@@")(query),
            docs.status == literal_column(f"'{ListingStatus.active.value}'"),
            *(filters(docs) if filters else []),
        ]
        score = func.ts_rank(docs.document, query, type_=Float) if ranked else None
        count = select(func.count()).select_from(search_docs).where(*where)
        # A window count over the one scan the page needs: cheaper than a second scan.
        return Documents(search_docs, where, score, func.count().over(), count)


@functools.cache  # one per dialect: its prebuilt statements are cached per backend
def search_backend_for(dialect_name: str) -> SearchBackend:
    if dialect_name == "sqlite":
        return SqliteFts5Search()
    if dialect_name == "postgresql":
        return PostgresFullTextSearch()
    raise NotImplementedError(f"full-text search is not implemented for {dialect_name}")
