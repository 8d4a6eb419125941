"""users: consent to personalised recommendations, a purpose apart from marketing

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts keep getting personal recommendations until they opt out.
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "personalised_recommendations",
                sa.Boolean(),
                server_default=sa.true(),
                nullable=False,
            )
        )
        batch.add_column(
            sa.Column("personalised_recommendations_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("personalised_recommendations_source", sa.String(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("personalised_recommendations_source")
        batch.drop_column("personalised_recommendations_at")
        batch.drop_column("personalised_recommendations")
