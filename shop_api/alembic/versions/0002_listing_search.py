"""Full-text search over listings (SQLite FTS5 or PostgreSQL tsvector).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:10:00
"""

from collections.abc import Sequence

from alembic import op

from shop_api.search.schema import create_search_objects_v1, drop_search_objects_v1

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_search_objects_v1(op.get_bind())


def downgrade() -> None:
    drop_search_objects_v1(op.get_bind())
