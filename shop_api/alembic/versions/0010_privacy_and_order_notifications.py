"""Password-reset tokens, the outbound-message outbox, order notifications.

``password_reset_tokens`` keeps only SHA-256 digests of reset tokens.
``outbound_messages`` is the outbox of e-mails (a reset link) the delivery job sends.
``notifications`` gains the order kinds and ``dedupe_key`` (unique), so a fact reported
twice (a redelivered webhook, a race) notifies once.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("question_received", "question_answered")
NEW_KINDS = (*OLD_KINDS, "order_paid", "order_to_ship", "order_shipped", "order_delivered")


def upgrade() -> None:
    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_reset_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_tokens_token_hash")),
    )
    with op.batch_alter_table("password_reset_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_password_reset_tokens_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbound_messages_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_messages_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbound_messages_sent_at"), ["sent_at"], unique=False)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_notifications_dedupe_key"), ["dedupe_key"])
        batch_op.drop_constraint(batch_op.f("ck_notifications_notification_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_notifications_notification_kind"), sa.column("kind").in_(NEW_KINDS)
        )


def downgrade() -> None:
    notifications = sa.table("notifications", sa.column("kind", sa.String()))
    op.execute(notifications.delete().where(notifications.c.kind.not_in(OLD_KINDS)))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notifications_notification_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_notifications_notification_kind"), sa.column("kind").in_(OLD_KINDS)
        )
        batch_op.drop_constraint(batch_op.f("uq_notifications_dedupe_key"), type_="unique")
        batch_op.drop_column("dedupe_key")

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_messages_sent_at"))
        batch_op.drop_index(batch_op.f("ix_outbound_messages_user_id"))
    op.drop_table("outbound_messages")

    with op.batch_alter_table("password_reset_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_reset_tokens_user_id"))
    op.drop_table("password_reset_tokens")
