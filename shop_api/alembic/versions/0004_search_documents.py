"""Search documents: filter, rank and page full-text matches on a narrow table.

The search objects of 0002 kept the filter and sort columns on ``listings`` itself, so
every match read a wide listing row. See ``shop_api.search.schema`` (version 2).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:50:00
"""

from collections.abc import Sequence

from alembic import op

from shop_api.search.schema import (
    create_search_objects,
    create_search_objects_v1,
    drop_search_objects,
    drop_search_objects_v1,
)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    drop_search_objects_v1(connection)
    create_search_objects(connection)


def downgrade() -> None:
    connection = op.get_bind()
    drop_search_objects(connection)
    create_search_objects_v1(connection)
