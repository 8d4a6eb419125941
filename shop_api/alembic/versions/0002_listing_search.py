"""Full-text search over listings (SQLite FTS5 or PostgreSQL tsvector).

SQLite: an FTS5 table whose rowids come from ``listing_search_keys`` (listing ids are
UUIDs; FTS5 needs integers), kept up to date by triggers on ``listings``. PostgreSQL: a
weighted, generated ``tsvector`` column on ``listings`` with a GIN index. Both weight the
title above the description and stem English words.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = {
    "sqlite": [
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
        # Index the listings that existed before search was added.
        "INSERT INTO listing_search_keys (listing_id) SELECT id FROM listings",
        """
        INSERT INTO listings_fts (rowid, title, description)
        SELECT k.rowid, l.title, l.description
        FROM listings AS l JOIN listing_search_keys AS k ON k.listing_id = l.id
        """,
    ],
    "postgresql": [
        """
        ALTER TABLE listings ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', coalesce(title, '')), 'A')
            || setweight(to_tsvector('english', coalesce(description, '')), 'B')
        ) STORED
        """,
        "CREATE INDEX ix_listings_search_document ON listings USING gin (search_document)",
    ],
}

DOWNGRADE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS listings_search_after_insert",
        "DROP TRIGGER IF EXISTS listings_search_after_update",
        "DROP TRIGGER IF EXISTS listings_search_before_delete",
        "DROP TABLE IF EXISTS listings_fts",
        "DROP TABLE IF EXISTS listing_search_keys",
    ],
    "postgresql": [
        "DROP INDEX IF EXISTS ix_listings_search_document",
        "ALTER TABLE listings DROP COLUMN IF EXISTS search_document",
    ],
}


def _execute(*steps: dict[str, list[str]]) -> None:
    bind = op.get_bind()
    for statements in steps:
        if bind.dialect.name not in statements:
            raise NotImplementedError(
                f"full-text search is not implemented for {bind.dialect.name}"
            )
        for statement in statements[bind.dialect.name]:
            bind.exec_driver_sql(statement)


def upgrade() -> None:
    _execute(UPGRADE)


def downgrade() -> None:
    _execute(DOWNGRADE)
