"""Search-document facet triggers fire only when a facet value changed.

Checkout's stock reservation names ``status`` in its UPDATE (it becomes sold_out with the
last unit), and 0004's triggers rewrote the listing's search document on every
reservation, not only when a facet (status, category, seller, price, condition,
created_at) took another value.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = {
    "sqlite": [
        "DROP TRIGGER listings_search_after_update_facets",
        """
        CREATE TRIGGER listings_search_after_update_facets AFTER UPDATE OF status, category_id, seller_id, price_minor, condition, created_at ON listings
        WHEN old.status IS NOT new.status OR old.category_id IS NOT new.category_id OR old.seller_id IS NOT new.seller_id OR old.price_minor IS NOT new.price_minor OR old.condition IS NOT new.condition OR old.created_at IS NOT new.created_at
        BEGIN
            UPDATE listing_search_docs SET status = new.status, category_id = new.category_id, seller_id = new.seller_id, price_minor = new.price_minor, condition = new.condition, created_at = new.created_at WHERE listing_id = new.id;
        END
        """,
    ],
    "postgresql": [
        "DROP TRIGGER listings_search_facets ON listings",
        """
        CREATE TRIGGER listings_search_facets AFTER UPDATE OF status, category_id, seller_id, price_minor, condition, created_at
        ON listings FOR EACH ROW
        WHEN ((old.status, old.category_id, old.seller_id, old.price_minor, old.condition, old.created_at) IS DISTINCT FROM (new.status, new.category_id, new.seller_id, new.price_minor, new.condition, new.created_at))
        EXECUTE FUNCTION listings_search_index_facets()
        """,
    ],
}

# Back to 0004's facet triggers, which fire on every UPDATE naming a facet.
DOWNGRADE = {
    "sqlite": [
        "DROP TRIGGER listings_search_after_update_facets",
        """
        CREATE TRIGGER listings_search_after_update_facets AFTER UPDATE OF status, category_id, seller_id, price_minor, condition, created_at ON listings
        BEGIN
            UPDATE listing_search_docs SET status = new.status, category_id = new.category_id, seller_id = new.seller_id, price_minor = new.price_minor, condition = new.condition, created_at = new.created_at WHERE listing_id = new.id;
        END
        """,
    ],
    "postgresql": [
        "DROP TRIGGER listings_search_facets ON listings",
        """
        CREATE TRIGGER listings_search_facets AFTER UPDATE OF status, category_id, seller_id, price_minor, condition, created_at
        ON listings FOR EACH ROW EXECUTE FUNCTION listings_search_index_facets()
        """,
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
