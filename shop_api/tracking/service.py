"""Collection rules for clickstream events, and the per-app tracking facade.

``process_batch`` turns what a client sent into events for the landing zone and rejects
for ``events_bad/``:

* each event is validated against the event v1 schema and its per-name rules
  (``events.validate_event``); unknown top-level fields are kept in ``extra``;
* events dated more than ``collect_max_future_seconds`` ahead or more than
  ``collect_max_age_days`` back (by the app clock) are rejected with a reason;
* privacy: ``user_id`` is kept only when the request carries a valid bearer token of that
  same user, otherwise it is removed (from rejects as well); fields that carry an IP
  address (``ip``, ``ip_address``, ... at the top level or in ``context``) are removed.
  The collector never stores the caller's IP: it only uses a keyed hash of it, in memory,
  for rate limiting and for the fallback ``client_id`` of server-side events.

``Tracking`` (``app.state.tracking``) ties one app's landing zone, writer, rate limiter and
pseudonym key together.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shop_api.core.clock import Clock
from shop_api.core.config import Settings
from shop_api.tracking.events import validate_event, validate_events
from shop_api.tracking.lake import landing_zone
from shop_api.tracking.ratelimit import TokenBuckets
from shop_api.tracking.sink import EventSink

IP_KEYS = frozenset(
    {"ip", "ip_address", "ipaddress", "client_ip", "remote_addr", "x_forwarded_for"}
)
SERVER_SOURCE = "server"


@dataclass
class BatchOutcome:
    events: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[tuple[Any, list[str]]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _same_user(sent: Any, verified: uuid.UUID | None) -> bool:
    if verified is None or not isinstance(sent, str):
        return False
    try:
        return uuid.UUID(sent) == verified
    except ValueError:
        return False


def _without_ip(mapping: dict[str, Any]) -> dict[str, Any]:
    if IP_KEYS.isdisjoint(mapping):
        return mapping
    return {key: value for key, value in mapping.items() if key not in IP_KEYS}


def scrub_raw(raw: Any, verified_user: uuid.UUID | None) -> Any:
    """An event as the collector may keep it, landed or quarantined: ``user_id`` only when
    it names the verified caller (then as its canonical UUID, the form the event's id rule
    asks for), no IP fields."""
    if not isinstance(raw, dict):
        return raw
    scrubbed = _without_ip(raw)
    sent = scrubbed.get("user_id")
    if sent is not None:
        kept = str(verified_user) if _same_user(sent, verified_user) else None
        if kept != sent:
            scrubbed = {**scrubbed, "user_id": kept}
    context = scrubbed.get("context")
    if isinstance(context, dict) and not IP_KEYS.isdisjoint(context):
        scrubbed = {**scrubbed, "context": _without_ip(context)}
    return scrubbed


def _event_id_of(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


def process_batch(
    raw_events: list[Any],
    *,
    verified_user: uuid.UUID | None,
    now: datetime,
    max_future: timedelta,
    max_age: timedelta,
) -> BatchOutcome:
    """Validate and normalise a batch; see the module docstring for the rules."""
    latest, earliest = now + max_future, now - max_age
    outcome = BatchOutcome()
    # Scrubbed first, so an unverified user_id (which would be removed anyway) never gets
    # an event rejected, and a verified one reaches validation in canonical form.
    scrubbed = [scrub_raw(raw, verified_user) for raw in raw_events]
    for index, (raw, (event, reasons)) in enumerate(
        zip(scrubbed, validate_events(scrubbed), strict=True)
    ):
        if event is not None:
            when = datetime.fromisoformat(event["event_time"])
            if when > latest:
                reasons = [f"event_time: more than {max_future} in the future"]
            elif when < earliest:
                reasons = [f"event_time: older than {max_age.days} days"]
        if event is None or reasons:
            outcome.rejects.append((raw, reasons))
            outcome.rejected.append(
                {"index": index, "event_id": _event_id_of(raw), "reasons": reasons}
            )
            continue
        outcome.events.append(event)
        outcome.accepted.append(event["event_id"])
    return outcome


_LIVE: weakref.WeakSet[Tracking] = weakref.WeakSet()


def live_trackings() -> list[Tracking]:
    """The tracking facades of the apps built in this process (one per lake folder)."""
    by_root: dict[str, Tracking] = {}
    for tracking in list(_LIVE):
        by_root.setdefault(str(tracking.zone.root), tracking)
    return list(by_root.values())


class Tracking:
    """One app's clickstream plumbing: landing zone, writer, rate limits, pseudonyms."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.zone = landing_zone(settings)
        self.sink = EventSink(self.zone, clock, max_delay=settings.event_flush_seconds)
        self.buckets = TokenBuckets(
            settings.collect_rate_events_per_second,
            max(settings.collect_burst_events, settings.collect_max_events),
        )
        self.max_future = timedelta(seconds=settings.collect_max_future_seconds)
        self.max_age = timedelta(days=settings.collect_max_age_days)
        secret = settings.secret_key.get_secret_value().encode()
        self._key = hashlib.sha256(b"mercado-tracking-pseudonyms\0" + secret).digest()
        self._pseudonyms: dict[str, str] = {}  # a cache: hot paths hash the same callers
        _LIVE.add(self)

    def start(self) -> None:
        self.sink.start()

    def stop(self) -> None:
        self.sink.stop()

    # -- pseudonyms (keyed hashes: not reversible without the secret key) ---------------

    def pseudonym(self, text: str) -> str:
        found = self._pseudonyms.get(text)
        if found is None:
            if len(self._pseudonyms) >= 50_000:
                self._pseudonyms.clear()
            found = hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()[:32]
            self._pseudonyms[text] = found
        return found

    def user_client_id(self, user_id: uuid.UUID | str) -> str:
        """The stable ``client_id`` of a signed-in user's server-side events."""
        return f"srv-{self.pseudonym(f'user:{user_id}')}"

    def anonymous_client_id(self, ip: str, user_agent: str) -> str:
        """For an anonymous caller with no ``X-Client-Id``: stable for a day (the date
        is in the hash), in the spirit of cookieless analytics."""
        day = self.clock.now().date().isoformat()
        return f"srv-{self.pseudonym(f'anon:{day}:{ip}:{user_agent}')}"

    def rate_key(self, address: str) -> str:
        """The /collect bucket of a client address (``core.client_address``): a keyed
        hash, so not even memory keeps the addresses of recent clients in the buckets."""
        return self.pseudonym(f"ip:{address}")

    # -- server-side events ---------------------------------------------------------------

    def emit_server(self, events: list[dict[str, Any]]) -> None:
        """Validate server-made events and queue them without waiting for the disk."""
        valid, rejects = [], []
        for raw in events:
            event, reasons = validate_event(raw)
            if event is None:
                rejects.append((raw, reasons))
            else:
                valid.append(event)
        self.sink.emit(valid, rejects, source=SERVER_SOURCE)
