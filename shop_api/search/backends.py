"""One full-text search interface over each database's own engine."""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import ColumnElement, Float, Select, Subquery, Uuid, func, literal_column, text

from shop_api.search.schema import TEXT_SEARCH_CONFIG

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
    def matches(self, terms: list[str]) -> Subquery:
        """Listings containing every term: a subquery with ``listing_id`` and ``score``
        (higher is more relevant)."""
        ...

    def restrict(self, statement: Select, terms: list[str]) -> tuple[Select, ColumnElement[float]]:
        """``statement``, a SELECT from ``listings``, limited to the listings containing
        every term; and their score (higher is more relevant)."""
        ...


class SqliteFts5Search:
    """FTS5 with BM25; title matches weigh ten times description matches."""

    def matches(self, terms: list[str]) -> Subquery:
        expression = " ".join(f'"{term}"' for term in terms)
        statement = text(
            """
            SELECT k.listing_id AS listing_id, -bm25(listings_fts, 10.0, 1.0) AS score
            FROM listings_fts JOIN listing_search_keys AS k ON k.rowid = listings_fts.rowid
            WHERE listings_fts MATCH :expression
            """
        ).bindparams(expression=expression)
        return statement.columns(listing_id=Uuid(), score=Float()).subquery("search_matches")

    def restrict(self, statement: Select, terms: list[str]) -> tuple[Select, ColumnElement[float]]:
        matches = self.matches(terms)
        listing_id = literal_column("listings.id")
        return statement.join(matches, matches.c.listing_id == listing_id), matches.c.score


class PostgresFullTextSearch:
    """tsvector/tsquery with cover-density ranking over the weighted search document."""

    def matches(self, terms: list[str]) -> Subquery:
        statement = text(
            f"""
            SELECT l.id AS listing_id, ts_rank_cd(l.search_document, q.query) AS score
            FROM listings AS l,
                 plainto_tsquery('{TEXT_SEARCH_CONFIG}', :expression) AS q(query)
            WHERE l.search_document @@ q.query
            """
        ).bindparams(expression=" ".join(terms))
        return statement.columns(listing_id=Uuid(), score=Float()).subquery("search_matches")

    def restrict(self, statement: Select, terms: list[str]) -> tuple[Select, ColumnElement[float]]:
        # A condition on ``listings`` itself rather than a join with a second scan of the
        # table: the GIN index finds the rows and the ranking reads the same rows.
        document = literal_column("listings.search_document")
        query = func.plainto_tsquery(literal_column(f"'{TEXT_SEARCH_CONFIG}'"), " ".join(terms))
        score = func.ts_rank_cd(document, query, type_=Float)
        return statement.where(document.op("@@")(query)), score


def search_backend_for(dialect_name: str) -> SearchBackend:
    if dialect_name == "sqlite":
        return SqliteFts5Search()
    if dialect_name == "postgresql":
        return PostgresFullTextSearch()
    raise NotImplementedError(f"full-text search is not implemented for {dialect_name}")
