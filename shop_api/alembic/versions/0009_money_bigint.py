"""Money columns are 64-bit on PostgreSQL.

PostgreSQL's INTEGER has 32 bits: an order of three items at the highest listing price
(3 x 10^9 minor units) could not be stored. SQLite's INTEGER already holds 64 bits, so
only PostgreSQL changes. The search documents' copy of the listing price (maintained by
triggers) widens with it.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-07 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "listings": ("price_minor",),
    "listing_search_docs": ("price_minor",),
    "orders": (
        "subtotal_minor",
        "discount_minor",
        "shipping_minor",
        "tax_minor",
        "total_minor",
        "refunded_minor",
    ),
    "fulfilment_groups": (
        "subtotal_minor",
        "discount_minor",
        "shipping_minor",
        "tax_minor",
        "total_minor",
    ),
    "order_items": ("unit_price_minor", "discount_minor", "tax_minor", "line_total_minor"),
    "payments": ("amount_minor", "refunded_minor"),
    "refunds": ("amount_minor",),
    "coupons": ("amount_off_minor", "min_basket_minor"),
    "coupon_redemptions": ("amount_minor",),
    "sandbox_payment_intents": ("amount", "amount_refunded"),
    "sandbox_refunds": ("amount",),
}


def _retype(column_type: str) -> None:
    """Changes the type of every money column. PostgreSQL will not change a column a
    trigger's condition names (the search documents' facet trigger), so the triggers of
    these tables are dropped and created again as they were."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    triggers = bind.execute(
        sa.text(
            "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": list(MONEY_COLUMNS)},
    ).all()
    for name, table, _definition in triggers:
        bind.exec_driver_sql(f'DROP TRIGGER "{name}" ON {table}')
    for table, columns in MONEY_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {column_type}" for column in columns)
        bind.exec_driver_sql(f"ALTER TABLE {table} {changes}")
    for trigger in triggers:
        bind.exec_driver_sql(trigger[2])  # pg_get_triggerdef: its CREATE TRIGGER statement


def upgrade() -> None:
    _retype("bigint")


def downgrade() -> None:
    _retype("integer")
