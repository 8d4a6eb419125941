"""users: consent per ad purpose (ad_user_data, ad_personalization) and an optional phone.

The single marketing flag becomes two purposes, as Google's consent mode names them:
``ad_user_data`` (the person's data may be sent to ad platforms, e.g. a hashed e-mail in
a Customer Match list) and ``ad_personalization`` (it may be used to personalise ads).
Both start from the old flag with its time and source. ``consent_events`` is left as
it is: events written before this revision carry purpose ``marketing``, which meant
both. ``phone`` is optional, in E.164 (at most 15 digits after ``+``).

Downgrade writes the marketing flag back as "both purposes granted", with the time and
source of the later of the two.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSES = ("ad_user_data_consent", "ad_personalization_consent")


def upgrade() -> None:
    # Plain ADD/DROP COLUMN on both databases: a batch copy of ``users`` on SQLite would
    # drop the table every other table references.
    for purpose in PURPOSES:
        op.add_column(
            "users",
            sa.Column(purpose, sa.Boolean(), server_default=sa.false(), nullable=False),
        )
        op.add_column("users", sa.Column(f"{purpose}_at", sa.DateTime(timezone=True)))
        op.add_column("users", sa.Column(f"{purpose}_source", sa.String(length=64)))
    op.add_column("users", sa.Column("phone", sa.String(length=16), nullable=True))
    users = sa.table(
        "users",
        sa.column("marketing_consent", sa.Boolean()),
        sa.column("marketing_consent_at", sa.DateTime(timezone=True)),
        sa.column("marketing_consent_source", sa.String()),
        *(sa.column(purpose, sa.Boolean()) for purpose in PURPOSES),
        *(sa.column(f"{purpose}_at", sa.DateTime(timezone=True)) for purpose in PURPOSES),
        *(sa.column(f"{purpose}_source", sa.String()) for purpose in PURPOSES),
    )
    values: dict[str, sa.ColumnElement] = {}
    for purpose in PURPOSES:
        values[purpose] = users.c.marketing_consent
        values[f"{purpose}_at"] = users.c.marketing_consent_at
        values[f"{purpose}_source"] = users.c.marketing_consent_source
    op.execute(users.update().values(**values))
    op.drop_column("users", "marketing_consent_source")
    op.drop_column("users", "marketing_consent_at")
    op.drop_column("users", "marketing_consent")


def downgrade() -> None:
    op.add_column(
        "users",
        sa.Column("marketing_consent", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("users", sa.Column("marketing_consent_at", sa.DateTime(timezone=True)))
    op.add_column("users", sa.Column("marketing_consent_source", sa.String(length=64)))
    users = sa.table(
        "users",
        sa.column("marketing_consent", sa.Boolean()),
        sa.column("marketing_consent_at", sa.DateTime(timezone=True)),
        sa.column("marketing_consent_source", sa.String()),
        *(sa.column(purpose, sa.Boolean()) for purpose in PURPOSES),
        *(sa.column(f"{purpose}_at", sa.DateTime(timezone=True)) for purpose in PURPOSES),
        *(sa.column(f"{purpose}_source", sa.String()) for purpose in PURPOSES),
    )
    data, personalization = (users.c[purpose] for purpose in PURPOSES)
    data_at, personalization_at = (users.c[f"{purpose}_at"] for purpose in PURPOSES)
    # The later change decides the time and source (a null time counts as the earlier).
    personalization_is_later = sa.and_(
        personalization_at.is_not(None),
        sa.or_(data_at.is_(None), personalization_at > data_at),
    )
    op.execute(
        users.update().values(
            marketing_consent=sa.and_(data, personalization),
            marketing_consent_at=sa.case(
                (personalization_is_later, personalization_at), else_=data_at
            ),
            marketing_consent_source=sa.case(
                (personalization_is_later, users.c.ad_personalization_consent_source),
                else_=users.c.ad_user_data_consent_source,
            ),
        )
    )
    op.drop_column("users", "phone")
    for purpose in reversed(PURPOSES):
        op.drop_column("users", f"{purpose}_source")
        op.drop_column("users", f"{purpose}_at")
        op.drop_column("users", purpose)
