"""Full-text indexes of active listings only: SQLite FTS5 rows, a partial PostgreSQL GIN index.

Search never returns other listings. Without them in the FTS5 index a search without
filters counts and ranks its matches from the index alone; the partial GIN index skips
their heap rows. See ``shop_api.search.schema`` (version 3).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

from alembic import op

from shop_api.search.schema import apply_search_objects_v3, revert_search_objects_v3

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_search_objects_v3(op.get_bind())


def downgrade() -> None:
    revert_search_objects_v3(op.get_bind())
