"""Drain the event outbox into the landing zone (a background job).

Each pass takes the oldest undispatched rows, writes them durably through the app's
``EventSink`` and only then marks them dispatched, in one transaction that holds the rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the writer lock on SQLite), so two server
processes do not drain the same rows. A crash between the write and the commit makes
the next pass write those rows again with the same ``event_id`` (the outbox row id),
which the warehouse dedupes: at least once, never lost.

Rows whose payload is not a valid event go to ``events_bad/`` (source ``outbox``) and
are marked too, so a bad row cannot block the queue. Dispatched rows are deleted after
``RETENTION``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from shop_api.models.outbox import OutboxEvent
from shop_api.tracking.events import validate_event
from shop_api.tracking.service import Tracking

BATCH = 500
RETENTION = timedelta(days=7)
OUTBOX_SOURCE = "outbox"


def outbox_event(tracking: Tracking, row: OutboxEvent) -> dict[str, Any]:
    """The row's payload as an event v1 object with a server-side client_id."""
    payload = dict(row.payload)
    payload.pop("schema_version", None)  # the collector stamps it in the lake
    payload["event_id"] = str(row.id)
    if not payload.get("client_id"):
        user_id = payload.get("user_id")
        payload["client_id"] = (
            tracking.user_client_id(user_id) if user_id else f"srv-{tracking.pseudonym('none')}"
        )
    return payload


def dispatch_outbox(
    session_factory: sessionmaker[Session],
    tracking: Tracking,
    *,
    limit: int = BATCH,
    read_session_factory: sessionmaker[Session] | None = None,
) -> int:
    """One batch from the outbox to the lake; returns the rows dispatched.

    With ``read_session_factory`` an empty outbox is noticed without taking SQLite's
    writer lock (the job runs every half second in every server process)."""
    if read_session_factory is not None:
        with read_session_factory() as session:
            pending = session.scalar(
                select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None)).limit(1)
            )
        if pending is None:
            return 0
    with session_factory() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.dispatched_at.is_(None))
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        events, rejects = [], []
        for row in rows:
            raw = outbox_event(tracking, row)
            event, reasons = validate_event(raw)
            if event is None:
                rejects.append((raw, reasons))
            else:
                events.append(event)
        tracking.sink.write_sync(events, rejects, source=OUTBOX_SOURCE)
        now = tracking.clock.now()
        for row in rows:
            row.dispatched_at = now
        session.execute(
            delete(OutboxEvent)
            .where(OutboxEvent.dispatched_at < now - RETENTION)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return len(rows)
