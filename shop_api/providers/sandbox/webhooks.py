"""Webhook delivery for the sandbox providers: signed, retried with backoff until a 2xx.

Deliveries are rows, so a restart loses none; each attempt is signed afresh, as real
providers do, so a retried event is never rejected as stale.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from shop_api.core.clock import Clock
from shop_api.providers.sandbox.models import SandboxWebhookDelivery
from shop_api.providers.signing import SIGNATURE_HEADER, sign

MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 3600
BATCH_SIZE = 100

# (url, body, headers) -> HTTP status code; raises on connection errors.
Poster = Callable[[str, bytes, dict[str, str]], int]


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at an hour."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def enqueue(
    session: Session, *, source: str, event_type: str, url: str, event: dict[str, Any],
    now: datetime,
) -> None:  # fmt: skip
    session.add(
        SandboxWebhookDelivery(
            id=event["id"], source=source, event_type=event_type, url=url,
            payload=json.dumps(event, separators=(",", ":")), attempts=0, next_attempt_at=now,
            created_at=now,
        )
    )  # fmt: skip


def new_event(event_type: str, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "type": event_type,
        "created": int(now.timestamp()),
        "data": {"object": obj},
    }


def deliver_due(
    session_factory: sessionmaker[Session],
    post: Poster,
    clock: Clock,
    secrets: dict[str, str],
) -> int:
    """Attempt every due delivery once; returns how many were acknowledged."""
    now = clock.now()
    with session_factory() as session:
        due = session.execute(
            select(
                SandboxWebhookDelivery.id,
                SandboxWebhookDelivery.source,
                SandboxWebhookDelivery.url,
                SandboxWebhookDelivery.payload,
                SandboxWebhookDelivery.attempts,
            )
            .where(
                SandboxWebhookDelivery.delivered_at.is_(None),
                SandboxWebhookDelivery.next_attempt_at <= now,
                SandboxWebhookDelivery.attempts < MAX_ATTEMPTS,
            )
            .order_by(SandboxWebhookDelivery.created_at)
            .limit(BATCH_SIZE)
        ).all()
    acknowledged = 0
    for delivery in due:
        body = delivery.payload.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secrets[delivery.source], body, clock.now()),
            "Mercado-Event-Id": delivery.id,
        }
        status: int | None = None
        error: str | None = None
        try:
            status = post(delivery.url, body, headers)
        except Exception as exc:  # the receiver is down: retry later
            error = f"{type(exc).__name__}: {exc}"[:255]
        attempts = delivery.attempts + 1
        ok = status is not None and 200 <= status < 300
        values: dict[str, Any] = {"attempts": attempts, "last_status_code": status}
        if ok:
            values["delivered_at"] = clock.now()
            acknowledged += 1
        else:
            values["next_attempt_at"] = clock.now() + backoff(attempts)
            values["last_error"] = error or f"HTTP {status}"
        with session_factory() as session:
            session.execute(
                update(SandboxWebhookDelivery)
                .where(
                    SandboxWebhookDelivery.id == delivery.id,
                    SandboxWebhookDelivery.attempts == delivery.attempts,
                )
                .values(**values)
            )
            session.commit()
    return acknowledged
