"""Full-text indexes of active listings only: SQLite FTS5 rows, a partial PostgreSQL GIN index.

Search never returns other listings. Without them in the FTS5 index a search without
filters counts and ranks its matches from the index alone; the triggers add and remove a
listing's text as it is published, paused or sold out, and only when it is or was active
and something searched changed (a stock update that leaves an active listing active
costs nothing). On PostgreSQL the documents keep every listing and the GIN index becomes
partial, over active documents only (queries name the status as a literal so that
prepared statements can use it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = {
    "sqlite": [
        "DROP TRIGGER listings_search_after_insert",
        "DROP TRIGGER listings_search_after_update",
        """
        CREATE TRIGGER listings_search_after_insert AFTER INSERT ON listings BEGIN
            INSERT INTO listing_search_docs (listing_id, status, category_id, seller_id, price_minor, condition, created_at)
            VALUES (new.id, new.status, new.category_id, new.seller_id, new.price_minor, new.condition, new.created_at);
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
    ],
    "postgresql": [
        """
        CREATE INDEX ix_listing_search_docs_active_document ON listing_search_docs
        USING gin (document) WHERE status = 'active'
        """,
        "DROP INDEX ix_listing_search_docs_document",
    ],
}

# Back to 0004's triggers and index, with every listing's text indexed again.
DOWNGRADE = {
    "sqlite": [
        "DROP TRIGGER listings_search_after_insert",
        "DROP TRIGGER listings_search_after_update",
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
        INSERT INTO listings_fts (rowid, title, description)
        SELECT d.rowid, l.title, l.description
        FROM listings AS l JOIN listing_search_docs AS d ON d.listing_id = l.id
        WHERE l.status <> 'active'
        """,
    ],
    "postgresql": [
        "CREATE INDEX ix_listing_search_docs_document ON listing_search_docs USING gin (document)",
        "DROP INDEX ix_listing_search_docs_active_document",
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
