"""The outbox of messages sent outside the app (e-mail), and its delivery job.

A message is written in the transaction of the fact it tells (a reset link exists only if
its token does) and handed to the ``Mailer`` by ``deliver_due`` afterwards. Delivery is at
least once (a crash between handing over and marking sends again; the mailer is told the
message id). A delivered message keeps who it went to and when, not its text: a reset
link must not outlive its delivery in the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.clock import Clock
from shop_api.core.typed_sql import rowcount
from shop_api.models import OutboundMessage
from shop_api.notifications.mailer import Email, Mailer

log = structlog.get_logger(__name__)
EMAIL = "email"
BATCH_SIZE = 100


def queue_email(
    session: Session,
    *,
    user_id: uuid.UUID,
    to: str,
    kind: str,
    subject: str,
    body: str,
    at: datetime,
) -> OutboundMessage:
    """Queue an e-mail in the caller's transaction (it is sent only if that commits)."""
    message = OutboundMessage(
        user_id=user_id, channel=EMAIL, recipient=to, kind=kind, subject=subject, body=body,
        created_at=at,
    )  # fmt: skip
    session.add(message)
    return message


def deliver_due(session_factory: sessionmaker[Session], mailer: Mailer, clock: Clock) -> int:
    """Hand every unsent message to the mailer once; returns how many were sent."""
    with session_factory() as session:
        due = session.execute(
            select(
                OutboundMessage.id,
                OutboundMessage.recipient,
                OutboundMessage.subject,
                OutboundMessage.body,
                OutboundMessage.created_at,
            )
            .where(OutboundMessage.sent_at.is_(None))
            .order_by(OutboundMessage.created_at)
            .limit(BATCH_SIZE)
        ).all()
    sent = 0
    for row in due:
        try:
            mailer.send(Email(row.id, row.recipient, row.subject, row.body, row.created_at))
        except Exception:  # the mail service is down: the message stays due
            log.exception("message_delivery_failed", message_id=str(row.id))
            continue
        with session_factory() as session:
            sent += rowcount(
                session.execute(
                    update(OutboundMessage)
                    .where(OutboundMessage.id == row.id, OutboundMessage.sent_at.is_(None))
                    .values(sent_at=clock.now(), body="")
                )
            )
            session.commit()
    return sent
