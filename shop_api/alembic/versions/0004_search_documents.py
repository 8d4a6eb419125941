"""Search documents: filter, rank and page full-text matches on a narrow table.

The search objects of 0002 kept the filter and sort columns on ``listings`` itself, so
every match read a wide listing row. Both dialects now keep ``listing_search_docs``, one
row per listing with the columns search filters and sorts on, maintained by triggers on
``listings``; a search reads ``listings`` only for the page it returns. SQLite's FTS5
rowid is the search document's rowid; on PostgreSQL the document carries a weighted
``tsvector`` (re-indexed only when the title or description changes) with a GIN index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0002's objects, dropped on the way up and made again on the way down.
DROP_0002 = {
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

CREATE_0002 = {
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

CREATE_SEARCH_DOCUMENTS = {
    "sqlite": [
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
        """
        CREATE TRIGGER listings_search_after_insert AFTER INSERT ON listings BEGIN
            INSERT INTO listing_search_docs (listing_id, status, category_id, seller_id, price_minor, condition, created_at)
            VALUES (new.id, new.status, new.category_id, new.seller_id, new.price_minor, new.condition, new.created_at);
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
        """
        CREATE TRIGGER listings_search_after_update_facets AFTER UPDATE OF status, category_id, seller_id, price_minor, condition, created_at ON listings
        BEGIN
            UPDATE listing_search_docs SET status = new.status, category_id = new.category_id, seller_id = new.seller_id, price_minor = new.price_minor, condition = new.condition, created_at = new.created_at WHERE listing_id = new.id;
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
        """
        INSERT INTO listing_search_docs (listing_id, status, category_id, seller_id, price_minor, condition, created_at)
        SELECT id, status, category_id, seller_id, price_minor, condition, created_at FROM listings
        """,
        """
        INSERT INTO listings_fts (rowid, title, description)
        SELECT d.rowid, l.title, l.description
        FROM listings AS l JOIN listing_search_docs AS d ON d.listing_id = l.id
        """,
    ],
    "postgresql": [
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
        """
        CREATE FUNCTION listings_search_index_text() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO listing_search_docs (listing_id, status, category_id, seller_id, price_minor, condition, created_at, document)
            VALUES (new.id, new.status, new.category_id, new.seller_id, new.price_minor, new.condition, new.created_at, setweight(to_tsvector('english', coalesce(new.title, '')), 'A') || setweight(to_tsvector('english', coalesce(new.description, '')), 'B'))
            ON CONFLICT (listing_id) DO UPDATE SET
                status = excluded.status, category_id = excluded.category_id, seller_id = excluded.seller_id, price_minor = excluded.price_minor, condition = excluded.condition, created_at = excluded.created_at, document = excluded.document;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE FUNCTION listings_search_index_facets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE listing_search_docs SET status = new.status, category_id = new.category_id, seller_id = new.seller_id, price_minor = new.price_minor, condition = new.condition, created_at = new.created_at WHERE listing_id = new.id;
            RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER listings_search_text AFTER INSERT OR UPDATE OF title, description
        ON listings FOR EACH ROW EXECUTE FUNCTION listings_search_index_text()
        """,
        """
        CREATE TRIGGER listings_search_facets AFTER UPDATE OF status, category_id, seller_id, price_minor, condition, created_at
        ON listings FOR EACH ROW EXECUTE FUNCTION listings_search_index_facets()
        """,
        """
        INSERT INTO listing_search_docs (listing_id, status, category_id, seller_id, price_minor, condition, created_at, document)
        SELECT id, status, category_id, seller_id, price_minor, condition, created_at, setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', coalesce(description, '')), 'B') FROM listings
        """,
    ],
}

DROP_SEARCH_DOCUMENTS = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS listings_search_after_insert",
        "DROP TRIGGER IF EXISTS listings_search_after_update",
        "DROP TRIGGER IF EXISTS listings_search_after_update_facets",
        "DROP TRIGGER IF EXISTS listings_search_before_delete",
        "DROP TABLE IF EXISTS listings_fts",
        "DROP TABLE IF EXISTS listing_search_docs",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS listings_search_text ON listings",
        "DROP TRIGGER IF EXISTS listings_search_facets ON listings",
        "DROP FUNCTION IF EXISTS listings_search_index_text()",
        "DROP FUNCTION IF EXISTS listings_search_index_facets()",
        "DROP TABLE IF EXISTS listing_search_docs",
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
    _execute(DROP_0002, CREATE_SEARCH_DOCUMENTS)


def downgrade() -> None:
    _execute(DROP_SEARCH_DOCUMENTS, CREATE_0002)
