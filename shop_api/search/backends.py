"""One full-text search interface over each database's own engine."""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Subquery,
    column,
    func,
    literal_column,
    select,
    table,
    true,
)

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


class SearchBackend(Protocol):
    def matching(
        self, terms: list[str]
    ) -> tuple[FromClause, ColumnElement[bool], ColumnElement[float]]:
        """Where to find search documents (``search_docs`` columns), the condition that
        keeps the documents containing every term, and their score (higher is better)."""
        ...

    def matches(self, terms: list[str]) -> Subquery:
        """Listings containing every term: ``listing_id`` and ``score``."""
        ...


class _Matches:
    def matches(self, terms: list[str]) -> Subquery:
        source, condition, score = self.matching(terms)  # type: ignore[attr-defined]
        statement = select(search_docs.c.listing_id, score.label("score"))
        return statement.select_from(source).where(condition).subquery("search_matches")


class SqliteFts5Search(_Matches):
    """FTS5 with BM25; title matches weigh ten times description matches."""

    _fts = table("listings_fts", column("rowid"))

    def matching(
        self, terms: list[str]
    ) -> tuple[FromClause, ColumnElement[bool], ColumnElement[float]]:
        expression = " ".join(f'"{term}"' for term in terms)
        fts = literal_column("listings_fts")
        # bm25() works only while FTS5 itself runs the MATCH, so the matches are a
        # materialised CTE that the planner cannot turn into lookups from the other side.
        found = (
            select(self._fts.c.rowid, (-func.bm25(fts, 10.0, 1.0, type_=Float)).label("score"))
            .where(fts.op("MATCH")(expression))
            .cte("fts_matches")
            .prefix_with("MATERIALIZED")
        )
        source = found.join(search_docs, search_docs.c.rowid == found.c.rowid)
        return source, true(), found.c.score


class PostgresFullTextSearch(_Matches):
    """tsvector/tsquery with cover-density ranking over the weighted search document."""

    def matching(
        self, terms: list[str]
    ) -> tuple[FromClause, ColumnElement[bool], ColumnElement[float]]:
        document = search_docs.c.document
        query = func.plainto_tsquery(literal_column(f"'{TEXT_SEARCH_CONFIG}'"), " ".join(terms))
        return search_docs, document.op("@@")(query), func.ts_rank_cd(document, query, type_=Float)


def search_backend_for(dialect_name: str) -> SearchBackend:
    if dialect_name == "sqlite":
        return SqliteFts5Search()
    if dialect_name == "postgresql":
        return PostgresFullTextSearch()
    raise NotImplementedError(f"full-text search is not implemented for {dialect_name}")
