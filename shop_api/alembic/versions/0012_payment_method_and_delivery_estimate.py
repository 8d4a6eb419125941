"""How each payment was made, and the delivery date promised with each order.

``payments.method`` is the means of payment as the provider or the source reports it
(``card`` for the shop's card payments; imported data keeps its own names, such as
Olist's ``boleto`` or ``voucher``). ``orders.estimated_delivery_at`` is the delivery date
the buyer was promised, so the warehouse can tell late deliveries. Both are nullable:
rows written before this revision have neither.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=32), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("estimated_delivery_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("estimated_delivery_at")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("method")
