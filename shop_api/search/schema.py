"""The database objects behind full-text search, as the live code sees them.

Migrations own these objects and hold their DDL (0002, 0004-0006); this module only
names them: the search-document table queries read, the text-search configuration they
match with, and which objects Alembic's comparison with the models must leave alone.

Both dialects keep ``listing_search_docs``, one row per listing with the columns search
filters and sorts on (status, category, seller, price, condition, created_at),
maintained by triggers on ``listings`` (which copy the facets only when one changed).

* SQLite: an FTS5 table, ``listings_fts``, holding the *active* listings' title and
  description under the search document's integer rowid (listing ids are UUIDs; FTS5
  needs integers), BM25 ranking.
* PostgreSQL: a weighted ``tsvector`` column, ``document``, on the search document, with
  a GIN index partial over active documents (queries name the status as a literal so
  that prepared statements can use it), cover-density ranking.

Both weight the title above the description and stem English words. A SQLite "batch"
migration that rebuilds ``listings`` drops its triggers: such a migration must create
them again itself (or drop columns in place, as 0003's downgrade does).
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, Table, Uuid
from sqlalchemy.dialects.postgresql import TSVECTOR

from shop_api.core.db import MONEY, UTCDateTime
from shop_api.models.catalog import Listing

SEARCH_OBJECTS = frozenset(
    {
        "listings_fts",
        "listing_search_docs",
        "ix_listing_search_docs_document",
        "ix_listing_search_docs_active_document",
        # 0002's, before the search documents
        "listing_search_keys",
        "search_document",
        "ix_listings_search_document",
    }
)

# FTS5 creates shadow tables named after the virtual table.
SEARCH_OBJECT_PREFIXES = ("listings_fts_",)

TEXT_SEARCH_CONFIG = "english"

# The search document as queries see it (not part of the ORM models: migrations own it).
search_metadata = MetaData()
search_docs = Table(
    "listing_search_docs",
    search_metadata,
    Column("rowid", Integer),  # SQLite only: the FTS5 rowid
    Column("listing_id", Uuid, primary_key=True),
    Column("status", Listing.__table__.c.status.type),
    Column("category_id", Uuid),
    Column("seller_id", Uuid),
    Column("price_minor", MONEY),
    Column("condition", Listing.__table__.c.condition.type),
    Column("created_at", UTCDateTime),
    Column("document", TSVECTOR),  # PostgreSQL only
)


def is_search_object(name: str | None) -> bool:
    """Whether Alembic's comparison with the models should skip this object."""
    if name is None:
        return False
    return name in SEARCH_OBJECTS or name.startswith(SEARCH_OBJECT_PREFIXES)
