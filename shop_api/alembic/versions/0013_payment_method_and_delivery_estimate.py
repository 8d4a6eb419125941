"""How each payment was made, and the delivery date promised with each order.

``payments.method`` is the means of payment as the provider or the source reports it
(``card`` for the shop's card payments; imported data keeps its own names, such as
Olist's ``boleto`` or ``voucher``). ``orders.estimated_delivery_at`` is the delivery date
the buyer was promised, so the warehouse can tell late deliveries. Both are nullable:
rows written before this revision have neither.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN on both databases: a batch copy of ``orders`` on SQLite would
    # drop a table other tables reference.
    op.add_column("payments", sa.Column("method", sa.String(length=32), nullable=True))
    op.add_column(
        "orders", sa.Column("estimated_delivery_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("orders", "estimated_delivery_at")
    op.drop_column("payments", "method")
