"""Database objects behind full-text search, one set per dialect, created by migrations.

Version 2 (migration 0004, current): both dialects keep a narrow search-document table,
``listing_search_docs``, one row per listing with the columns search filters and sorts on
(status, category, seller, price, condition, created_at), maintained by triggers on
``listings``. A search finds, filters, counts, ranks and pages over that narrow table, and
reads ``listings`` only for the page it returns: the wide listing rows (descriptions)
are no longer read for every match.

* SQLite: an FTS5 table whose rowid is the search document's integer rowid (listing ids
  are UUIDs; FTS5 needs integers), BM25 ranking.
* PostgreSQL: a weighted ``tsvector`` column on the search document with a GIN index,
  cover-density ranking. The text is re-indexed only when the title or description
  changes, not on every stock update.

Both weight the title above the description and stem English words. Version 1 (0002)
kept the filters on ``listings`` itself; its DDL stays here because 0002 and 0004 run it.

Version 3 (migration 0005), applied on top of version 2 by ``apply_search_objects_v3``:
on SQLite the FTS5 index holds the *active* listings only (search finds nothing else),
so a search without filters counts its matches and ranks them without reading one
search document per match; the triggers add and remove a listing's text as it is
published, paused or sold out. On PostgreSQL the documents keep every listing and the
GIN index becomes partial, over active documents only (queries name the status as a
literal so that prepared statements can use it).

Version 4 (migration 0006), on top of version 3 by ``apply_search_objects_v4``: the
triggers that copy the facet columns to the search document fire only when a facet value
changed, not whenever an UPDATE names one: every stock reservation at checkout sets
``status`` (to itself unless the last unit went) and used to rewrite the document.

A SQLite "batch" migration that rebuilds ``listings`` drops its triggers: call
``drop_search_objects`` and ``create_current_search_objects`` at the end of such a
migration (the search documents are rebuilt from the listings).
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Uuid
from sqlalchemy.dialects.postgresql import TSVECTOR

from shop_api.core.db import MONEY, UTCDateTime
from shop_api.models.catalog import Listing

SEARCH_OBJECTS = frozenset(
    {
        "listings_fts",
        "listing_search_docs",
        "ix_listing_search_docs_document",
        "ix_listing_search_docs_category_id",
        "ix_listing_search_docs_active_document",
        # version 1
        "listing_search_keys",
        "search_document",
        "ix_listings_search_document",
    }
)

# FTS5 creates shadow tables named after the virtual table.
SEARCH_OBJECT_PREFIXES = ("listings_fts_",)

TEXT_SEARCH_CONFIG = "english"

_SQLITE_DDL_V1 = [
    """
    CREATE TABLE listing_search_keys (
        rowid INTEGER PRIMARY KEY,
        listing_id CHAR(32) NOT NULL UNIQUE
    )
    """,
    """
    CREATE VIRTUAL TABLE listings_fts USING fts5(
        title, description, tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER listings_search_after_insert AFTER INSERT ON listings BEGIN
        INSERT INTO listing_search_keys (listing_id) VALUES (new.id);
        INSERT INTO listings_fts (rowid, title, description)
        VALUES (
            (SELECT rowid FROM listing_search_keys WHERE listing_id = new.id),
            new.title,
            new.description
        );
    END
    """,
    """
    CREATE TRIGGER listings_search_after_update AFTER UPDATE OF title, description ON listings
    BEGIN
        UPDATE listings_fts SET title = new.title, description = new.description
        WHERE rowid = (SELECT rowid FROM listing_search_keys WHERE listing_id = new.id);
    END
    """,
    """
    CREATE TRIGGER listings_search_before_delete BEFORE DELETE ON listings BEGIN
        DELETE FROM listings_fts
        WHERE rowid = (SELECT rowid FROM listing_search_keys WHERE listing_id = old.id);
        DELETE FROM listing_search_keys WHERE listing_id = old.id;
    END
    """,
    # Index listings that existed before search was added.
    """
    INSERT INTO listing_search_keys (listing_id) SELECT id FROM listings
    """,
    """
    INSERT INTO listings_fts (rowid, title, description)
    SELECT k.rowid, l.title, l.description
    FROM listings AS l JOIN listing_search_keys AS k ON k.listing_id = l.id
    """,
]

_POSTGRES_DDL_V1 = [
    f"""
    ALTER TABLE listings ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(title, '')), 'A')
        || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(description, '')), 'B')
    ) STORED
    """,
    "CREATE INDEX ix_listings_search_document ON listings USING gin (search_document)",
]


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

_FACETS = "status, category_id, seller_id, price_minor, condition, created_at"
_NEW_FACETS = ", ".join(f"new.{name.strip()}" for name in _FACETS.split(","))
_SET_FACETS = ", ".join(f"{name.strip()} = new.{name.strip()}" for name in _FACETS.split(","))

_SQLITE_DDL = [
    """
    CREATE TABLE listing_search_docs (
        rowid INTEGER PRIMARY KEY,
        listing_id CHAR(32) NOT NULL UNIQUE,
        status VARCHAR(8) NOT NULL,
        category_id CHAR(32) NOT NULL,
        seller_id CHAR(32) NOT NULL,
        price_minor INTEGER NOT NULL,
        condition VARCHAR(11) NOT NULL,
        created_at DATETIME NOT NULL
    )
    """,
    """
    CREATE VIRTUAL TABLE listings_fts USING fts5(
        title, description, tokenize = 'porter unicode61 remove_diacritics 2'
    )
    """,
    f"""
    CREATE TRIGGER listings_search_after_insert AFTER INSERT ON listings BEGIN
        INSERT INTO listing_search_docs (listing_id, {_FACETS})
        VALUES (new.id, {_NEW_FACETS});
        INSERT INTO listings_fts (rowid, title, description)
        VALUES (
            (SELECT rowid FROM listing_search_docs WHERE listing_id = new.id),
            new.title,
            new.description
        );
    END
    """,
    """
    CREATE TRIGGER listings_search_after_update AFTER UPDATE OF title, description ON listings
    BEGIN
        UPDATE listings_fts SET title = new.title, description = new.description
        WHERE rowid = (SELECT rowid FROM listing_search_docs WHERE listing_id = new.id);
    END
    """,
    f"""
    CREATE TRIGGER listings_search_after_update_facets AFTER UPDATE OF {_FACETS} ON listings
    BEGIN
        UPDATE listing_search_docs SET {_SET_FACETS} WHERE listing_id = new.id;
    END
    """,
    """
    CREATE TRIGGER listings_search_before_delete BEFORE DELETE ON listings BEGIN
        DELETE FROM listings_fts
        WHERE rowid = (SELECT rowid FROM listing_search_docs WHERE listing_id = old.id);
        DELETE FROM listing_search_docs WHERE listing_id = old.id;
    END
    """,
    # Index the listings that exist already.
    f"""
    INSERT INTO listing_search_docs (listing_id, {_FACETS})
    SELECT id, {_FACETS} FROM listings
    """,
    """
    INSERT INTO listings_fts (rowid, title, description)
    SELECT d.rowid, l.title, l.description
    FROM listings AS l JOIN listing_search_docs AS d ON d.listing_id = l.id
    """,
]

_DOCUMENT = (
    f"setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(new.title, '')), 'A')"
    f" || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(new.description, '')), 'B')"
)

_POSTGRES_DDL = [
    """
    CREATE TABLE listing_search_docs (
        listing_id uuid PRIMARY KEY REFERENCES listings (id) ON DELETE CASCADE,
        status varchar(8) NOT NULL,
        category_id uuid NOT NULL,
        seller_id uuid NOT NULL,
        price_minor integer NOT NULL,
        condition varchar(11) NOT NULL,
        created_at timestamptz NOT NULL,
        document tsvector NOT NULL
    )
    """,
    "CREATE INDEX ix_listing_search_docs_document ON listing_search_docs USING gin (document)",
    f"""
    CREATE FUNCTION listings_search_index_text() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO listing_search_docs (listing_id, {_FACETS}, document)
        VALUES (new.id, {_NEW_FACETS}, {_DOCUMENT})
        ON CONFLICT (listing_id) DO UPDATE SET
            {_SET_FACETS.replace("new.", "excluded.")}, document = excluded.document;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION listings_search_index_facets() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE listing_search_docs SET {_SET_FACETS} WHERE listing_id = new.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER listings_search_text AFTER INSERT OR UPDATE OF title, description
    ON listings FOR EACH ROW EXECUTE FUNCTION listings_search_index_text()
    """,
    f"""
    CREATE TRIGGER listings_search_facets AFTER UPDATE OF {_FACETS}
    ON listings FOR EACH ROW EXECUTE FUNCTION listings_search_index_facets()
    """,
    f"""
    INSERT INTO listing_search_docs (listing_id, {_FACETS}, document)
    SELECT id, {_FACETS}, {_DOCUMENT.replace("new.", "")} FROM listings
    """,
]


# Version 3: the FTS5 index holds active listings only. Changes of title, description or
# status (re)index a listing only when it is or was active and something searched changed:
# a stock update that leaves an active listing active costs nothing here.
_SQLITE_DDL_V3 = [
    "DROP TRIGGER listings_search_after_insert",
    "DROP TRIGGER listings_search_after_update",
    f"""
    CREATE TRIGGER listings_search_after_insert AFTER INSERT ON listings BEGIN
        INSERT INTO listing_search_docs (listing_id, {_FACETS})
        VALUES (new.id, {_NEW_FACETS});
        INSERT INTO listings_fts (rowid, title, description)
        SELECT rowid, new.title, new.description FROM listing_search_docs
        WHERE listing_id = new.id AND new.status = 'active';
    END
    """,
    """
    CREATE TRIGGER listings_search_after_update
    AFTER UPDATE OF title, description, status ON listings
    WHEN (old.status = 'active' OR new.status = 'active')
        AND (old.status IS NOT new.status OR old.title IS NOT new.title
             OR old.description IS NOT new.description)
    BEGIN
        DELETE FROM listings_fts
        WHERE old.status = 'active'
            AND rowid = (SELECT rowid FROM listing_search_docs WHERE listing_id = new.id);
        INSERT INTO listings_fts (rowid, title, description)
        SELECT rowid, new.title, new.description FROM listing_search_docs
        WHERE listing_id = new.id AND new.status = 'active';
    END
    """,
    """
    DELETE FROM listings_fts
    WHERE rowid IN (SELECT rowid FROM listing_search_docs WHERE status <> 'active')
    """,
]

_POSTGRES_DDL_V3 = [
    """
    CREATE INDEX ix_listing_search_docs_active_document ON listing_search_docs
    USING gin (document) WHERE status = 'active'
    """,
    "DROP INDEX ix_listing_search_docs_document",
]

_POSTGRES_DDL_V3_UNDO = [
    _POSTGRES_DDL[1],  # version 2's index
    "DROP INDEX ix_listing_search_docs_active_document",
]

_SQLITE_DDL_V3_UNDO = [
    "DROP TRIGGER listings_search_after_insert",
    "DROP TRIGGER listings_search_after_update",
    _SQLITE_DDL[2],  # version 2's triggers
    _SQLITE_DDL[3],
    """
    INSERT INTO listings_fts (rowid, title, description)
    SELECT d.rowid, l.title, l.description
    FROM listings AS l JOIN listing_search_docs AS d ON d.listing_id = l.id
    WHERE l.status <> 'active'
    """,
]


# Version 4: facet triggers fire on a changed facet value only.
_FACETS_CHANGED_SQLITE = " OR ".join(
    f"old.{name.strip()} IS NOT new.{name.strip()}" for name in _FACETS.split(",")
)
_OLD_FACETS = _NEW_FACETS.replace("new.", "old.")

_SQLITE_DDL_V4 = [
    "DROP TRIGGER listings_search_after_update_facets",
    f"""
    CREATE TRIGGER listings_search_after_update_facets AFTER UPDATE OF {_FACETS} ON listings
    WHEN {_FACETS_CHANGED_SQLITE}
    BEGIN
        UPDATE listing_search_docs SET {_SET_FACETS} WHERE listing_id = new.id;
    END
    """,
]

_POSTGRES_DDL_V4 = [
    "DROP TRIGGER listings_search_facets ON listings",
    f"""
    CREATE TRIGGER listings_search_facets AFTER UPDATE OF {_FACETS}
    ON listings FOR EACH ROW
    WHEN (({_OLD_FACETS}) IS DISTINCT FROM ({_NEW_FACETS}))
    EXECUTE FUNCTION listings_search_index_facets()
    """,
]

_SQLITE_DDL_V4_UNDO = [
    "DROP TRIGGER listings_search_after_update_facets",
    _SQLITE_DDL[4],  # version 2's facet trigger
]

_POSTGRES_DDL_V4_UNDO = [
    "DROP TRIGGER listings_search_facets ON listings",
    _POSTGRES_DDL[5],  # version 2's facet trigger
]


def _run(connection: Connection, sqlite: list[str], postgresql: list[str]) -> None:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statements = sqlite
    elif dialect == "postgresql":
        statements = postgresql
    else:
        raise NotImplementedError(f"full-text search is not implemented for {dialect}")
    for statement in statements:
        connection.exec_driver_sql(statement)


def create_search_objects_v1(connection: Connection) -> None:
    _run(connection, _SQLITE_DDL_V1, _POSTGRES_DDL_V1)


def drop_search_objects_v1(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for trigger in ("after_insert", "after_update", "before_delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS listings_search_{trigger}")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listings_fts")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listing_search_keys")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_listings_search_document")
        connection.exec_driver_sql("ALTER TABLE listings DROP COLUMN IF EXISTS search_document")


def create_search_objects(connection: Connection) -> None:
    """Version 2 search objects (migration 0004), indexing the listings that exist."""
    _run(connection, _SQLITE_DDL, _POSTGRES_DDL)


def apply_search_objects_v3(connection: Connection) -> None:
    """Version 2 to 3: full-text indexes of active listings only."""
    _run(connection, _SQLITE_DDL_V3, _POSTGRES_DDL_V3)


def revert_search_objects_v3(connection: Connection) -> None:
    _run(connection, _SQLITE_DDL_V3_UNDO, _POSTGRES_DDL_V3_UNDO)


def apply_search_objects_v4(connection: Connection) -> None:
    """Version 3 to 4: facet triggers fire on a changed facet value only."""
    _run(connection, _SQLITE_DDL_V4, _POSTGRES_DDL_V4)


def revert_search_objects_v4(connection: Connection) -> None:
    _run(connection, _SQLITE_DDL_V4_UNDO, _POSTGRES_DDL_V4_UNDO)


def create_current_search_objects(connection: Connection) -> None:
    """The current (version 4) search objects, indexing the listings that exist."""
    create_search_objects(connection)
    apply_search_objects_v3(connection)
    apply_search_objects_v4(connection)


def drop_search_objects(connection: Connection) -> None:
    """Drops version 2 or 3 (the same objects)."""
    if connection.dialect.name == "sqlite":
        for trigger in ("after_insert", "after_update", "after_update_facets", "before_delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS listings_search_{trigger}")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listings_fts")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listing_search_docs")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS listings_search_text ON listings")
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS listings_search_facets ON listings")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS listings_search_index_text()")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS listings_search_index_facets()")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listing_search_docs")


def is_search_object(name: str | None) -> bool:
    if name is None:
        return False
    return name in SEARCH_OBJECTS or name.startswith(SEARCH_OBJECT_PREFIXES)
