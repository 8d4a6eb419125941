"""Background jobs of the shop process: sandbox providers' clocks, webhook delivery,
the expiry of unpaid stock reservations, the event outbox drain and outgoing e-mail.

``run_jobs_once`` is what tests and the simulator call to move time along; the server
runs it every ``background_interval_seconds`` in a thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from shop_api.notifications.messages import deliver_due as deliver_messages
from shop_api.orders.lifecycle import expire_reservations
from shop_api.payments.service import run_follow_ups
from shop_api.providers.sandbox import webhooks
from shop_api.providers.sandbox.webhooks import Poster
from shop_api.tracking.dispatch import dispatch_outbox

log = structlog.get_logger(__name__)


@dataclass
class JobReport:
    payments_settled: int = 0
    parcels_moved: int = 0
    webhooks_delivered: int = 0
    reservations_expired: int = 0
    events_dispatched: int = 0
    messages_sent: int = 0

    @property
    def total(self) -> int:
        return (
            self.payments_settled + self.parcels_moved + self.webhooks_delivered
            + self.reservations_expired + self.events_dispatched + self.messages_sent
        )  # fmt: skip


def run_jobs_once(state: Any, post: Poster) -> JobReport:
    """One pass of every job against the app's state (``app.state``)."""
    report = JobReport()
    if getattr(state, "sandbox_gateway", None) is not None:
        report.payments_settled = state.sandbox_gateway.process_due()
    if getattr(state, "sandbox_carrier", None) is not None:
        report.parcels_moved = state.sandbox_carrier.advance_due()
    settings = state.settings
    report.webhooks_delivered = webhooks.deliver_due(
        state.database.sessions,
        post,
        state.clock,
        {
            "payments": settings.payments_webhook_secret.get_secret_value(),
            "shipping": settings.shipping_webhook_secret.get_secret_value(),
        },
    )

    def follow_up(items: list) -> None:
        run_follow_ups(state.database.sessions, state.payment_provider, state.clock, items)

    report.reservations_expired = expire_reservations(
        state.database.sessions, state.clock, follow_up
    )
    if getattr(state, "tracking", None) is not None:  # outbox -> clickstream landing zone
        report.events_dispatched = dispatch_outbox(
            state.database.sessions,
            state.tracking,
            read_session_factory=state.database.read_sessions,
        )
    if getattr(state, "mailer", None) is not None:  # e-mail outbox -> mailer
        report.messages_sent = deliver_messages(state.database.sessions, state.mailer, state.clock)
    return report


def run_until_quiet(state: Any, post: Poster, *, max_rounds: int = 20) -> JobReport:
    """Repeat passes until nothing is left to do now (deliveries trigger more work)."""
    total = JobReport()
    for _ in range(max_rounds):
        report = run_jobs_once(state, post)
        for field in (
            "payments_settled",
            "parcels_moved",
            "webhooks_delivered",
            "reservations_expired",
            "events_dispatched",
            "messages_sent",
        ):
            setattr(total, field, getattr(total, field) + getattr(report, field))
        if report.total == 0:
            break
    return total


class BackgroundJobs:
    """Runs the jobs in a daemon thread while the server is up."""

    def __init__(self, state: Any, interval_seconds: float) -> None:
        self.state = state
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mercado-jobs", daemon=True)
        self._client = httpx.Client(timeout=10.0)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self._client.post(url, content=body, headers=headers).status_code

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_jobs_once(self.state, self._post)
            except Exception:  # a failing job must not stop the others next round
                log.exception("background_jobs_failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._client.close()
