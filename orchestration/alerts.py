"""Tell somebody that a run failed or a blocking check stopped assets: a log line always,
and a JSON POST to ``MERCADO_ALERT_WEBHOOK_URL`` when it is set.

The one place alerts are sent from: the run-failure sensor, ``mercado pipeline run`` and
any blocking check call ``send_alert``. A webhook that is down is logged, never raised:
an alert must not turn into a second failure.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import httpx

from orchestration.outcome import RunOutcome

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0
RUN_FAILED = "run_failed"
CHECK_BLOCKED = "check_blocked"


@dataclass(frozen=True)
class Alert:
    """The JSON body: what failed, in which run, and which assets it left unbuilt."""

    kind: str  # run_failed | check_blocked
    summary: str
    run_id: str | None = None
    job: str | None = None
    failed_steps: dict[str, str] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    blocked_assets: list[str] = field(default_factory=list)
    sent_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @classmethod
    def for_run(cls, outcome: RunOutcome, source: str) -> Alert:
        """A failed run, or one that left assets unbuilt, as read from its events."""
        blocking = sorted(c.name for c in outcome.failed_checks if c.blocking)
        what = f"{len(blocking)} blocking check(s) failed" if blocking else "a step failed"
        if not blocking and not outcome.failed_steps:
            what = "assets were not materialised"
        return cls(
            kind=RUN_FAILED,
            summary=f"{source}: run {outcome.run_id} of {outcome.job}: {what}; "
            f"{len(outcome.blocked)} asset(s) not materialised",
            run_id=outcome.run_id,
            job=outcome.job,
            failed_steps=dict(outcome.failed_steps),
            failed_checks=blocking,
            blocked_assets=outcome.blocked,
        )

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def send_alert(alert: Alert, webhook_url: str | None, logger: logging.Logger | None = None) -> bool:
    """Log the alert, and post it to the webhook when one is set; True if it was posted."""
    logger = logger or log
    logger.error(f"ALERT {alert.kind}: {alert.summary}; blocked: {', '.join(alert.blocked_assets)}")
    if not webhook_url:
        return False
    try:
        response = httpx.post(webhook_url, json=alert.as_json(), timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error(f"alert webhook failed ({type(exc).__name__}: {exc}); alert only logged")
        return False
    return True
