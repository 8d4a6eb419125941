"""Search-document facet triggers fire only when a facet value changed.

Checkout's stock reservation names ``status`` in its UPDATE (it becomes sold_out with the
last unit), and the version 2 triggers rewrote the listing's search document on every
reservation. See ``shop_api.search.schema`` (version 4).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:20:00
"""

from collections.abc import Sequence

from alembic import op

from shop_api.search.schema import apply_search_objects_v4, revert_search_objects_v4

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_search_objects_v4(op.get_bind())


def downgrade() -> None:
    revert_search_objects_v4(op.get_bind())
