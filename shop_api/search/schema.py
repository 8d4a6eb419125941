"""Database objects behind full-text search, one set per dialect, created by migrations.

SQLite uses an FTS5 table kept in sync by triggers; listing ids are UUIDs, so a small
key table gives each listing the stable integer rowid FTS5 needs. PostgreSQL uses a
stored generated ``tsvector`` column with a GIN index. Both weight the title above the
description and stem English words.

A SQLite "batch" migration that rebuilds ``listings`` drops its triggers: call
``create_search_objects`` again at the end of such a migration.
"""

from __future__ import annotations

from sqlalchemy import Connection

SEARCH_OBJECTS = frozenset(
    {
        "listings_fts",
        "listing_search_keys",
        "search_document",
        "ix_listings_search_document",
    }
)

# FTS5 creates shadow tables named after the virtual table.
SEARCH_OBJECT_PREFIXES = ("listings_fts_",)

TEXT_SEARCH_CONFIG = "english"

_SQLITE_DDL = [
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

_POSTGRES_DDL = [
    f"""
    ALTER TABLE listings ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(title, '')), 'A')
        || setweight(to_tsvector('{TEXT_SEARCH_CONFIG}', coalesce(description, '')), 'B')
    ) STORED
    """,
    "CREATE INDEX ix_listings_search_document ON listings USING gin (search_document)",
]


def create_search_objects(connection: Connection) -> None:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statements = _SQLITE_DDL
    elif dialect == "postgresql":
        statements = _POSTGRES_DDL
    else:
        raise NotImplementedError(f"full-text search is not implemented for {dialect}")
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop_search_objects(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        for trigger in ("after_insert", "after_update", "before_delete"):
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS listings_search_{trigger}")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listings_fts")
        connection.exec_driver_sql("DROP TABLE IF EXISTS listing_search_keys")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP INDEX IF EXISTS ix_listings_search_document")
        connection.exec_driver_sql("ALTER TABLE listings DROP COLUMN IF EXISTS search_document")


def is_search_object(name: str | None) -> bool:
    if name is None:
        return False
    return name in SEARCH_OBJECTS or name.startswith(SEARCH_OBJECT_PREFIXES)
