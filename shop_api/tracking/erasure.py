"""Right to erasure for the clickstream: the ``clickstream`` step of ``DELETE /me``.

What it does, in this order:

1. The user's event outbox rows (not yet drained, or kept for the retention period) lose
   their ``user_id`` and personal fields, inside the erasure transaction. A concurrent
   drain either finished first (its events are in the lake for step 3) or finds the rows
   already scrubbed: the drain holds the rows while it writes.
2. Every event writer of this process flushes, so queued events are in files.
3. Under an exclusive lock on the lake (concurrent erasures would overwrite each other's
   rewrites), files in ``events/`` and ``events_bad/`` that mention the user are
   rewritten atomically:

   * the user's events (``user_id`` is theirs) get ``user_id: null``; ``context`` loses
     ``user_agent`` and IP fields; ``page.url`` and ``page.referrer`` lose their query
     string and fragment (where e-mails, tokens and search terms travel); keys that name
     personal data (``email``, ``phone``, ``name``, ``address``, ...) are removed from
     ``params``, ``extra``, ``context`` and ``page``; e-mail addresses anywhere in their
     text become ``[redacted]``;
   * the devices the user used (every ``client_id`` seen on their events, and the
     server-side pseudonym of the account) are replaced by one fresh random pseudonym per
     device across the whole lake, so the anonymous browsing of that device stays a
     coherent journey for analytics but no longer leads back to the person's device
     cookie; that device's anonymous events are scrubbed like the user's own;
   * any other occurrence of the user's id in any text is replaced.

Items, prices, event names and times are kept: without a person they are plain sales
and behaviour statistics. Events another server process still had queued in memory at
that moment can land after the rewrite (a window of ``event_flush_seconds``); the
warehouse's own erasure step and a later re-run cover that.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from sqlalchemy import select

from shop_api.accounts.erasure import ErasureContext, erasure_step
from shop_api.models.outbox import OutboxEvent
from shop_api.tracking.lake import EVENTS, EVENTS_BAD, LandingZone
from shop_api.tracking.service import IP_KEYS, live_trackings

_PII_NAMES = """
    email e_mail email_address phone phone_number telephone mobile name first_name last_name
    full_name display_name username address street shipping_address billing_address
    postal_code zip birthdate date_of_birth password token access_token user_agent
"""
PII_KEYS = frozenset(_PII_NAMES.split()) | IP_KEYS
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
REDACTED = "[redacted]"
ERASED = "[erased]"
DISTINCTIVE_NAME_LENGTH = 8


def strip_url(url: Any) -> Any:
    """A URL without credentials, query string and fragment."""
    if not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _name_pattern(name: str) -> str | None:
    """The name as whole words, any run of spaces between them."""
    words = name.split()
    if not words:
        return None
    return r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"


def is_distinctive(name: str) -> bool:
    """A full name or a long one identifies a person; "Ana" alone does not."""
    return len(name.split()) >= 2 or len(name.strip()) >= DISTINCTIVE_NAME_LENGTH


class Eraser:
    def __init__(
        self,
        user_id: uuid.UUID,
        device_ids: set[str],
        *,
        email: str = "",
        display_name: str = "",
    ) -> None:
        hex_id = user_id.hex
        chunks = (hex_id[:8], hex_id[8:12], hex_id[12:16], hex_id[16:20], hex_id[20:])
        self.user_pattern = re.compile("-?".join(chunks), re.IGNORECASE)
        self.devices: dict[str, str] = {}
        for device in device_ids:
            self.pseudonym(device)
        # The person's e-mail and display name in free text (titles, URLs, referrers,
        # search terms): the e-mail in any record; the name in their own records, and in
        # anyone's when it is distinctive.
        email, display_name = email.strip(), display_name.strip()
        name = _name_pattern(display_name)
        everywhere = [re.escape(email)] if email else []
        if name and is_distinctive(display_name):
            everywhere.append(name)
        own = [*everywhere, name] if name and name not in everywhere else everywhere
        self.personal_everywhere = _compiled(everywhere)
        self.personal_own = _compiled(own)
        self._raw_forms = [
            form
            for text in (email, display_name)
            if text
            for form in (re.escape(quote(text, safe="")), re.escape(quote_plus(text)))
        ]

    def pseudonym(self, client_id: str) -> str:
        return self.devices.setdefault(client_id, f"erased-{uuid.uuid4().hex[:20]}")

    def is_user(self, value: Any) -> bool:
        return isinstance(value, str) and self.user_pattern.fullmatch(value) is not None

    def prefilter(self) -> re.Pattern[str]:
        """Matches every raw line a scrub could change (and some it will not)."""
        alternatives = [self.user_pattern.pattern, *map(re.escape, self.devices)]
        if self.personal_own is not None:
            alternatives += [self.personal_own.pattern, *self._raw_forms]
        return re.compile("|".join(alternatives), re.IGNORECASE)

    # -- records --------------------------------------------------------------------------

    def scrub_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """One event (as stored, or as a client sent it) with the person removed."""
        client_id = event.get("client_id")
        owned = self.is_user(event.get("user_id")) or (
            isinstance(client_id, str) and client_id in self.devices
        )
        if isinstance(client_id, str) and (client_id in self.devices or owned):
            event["client_id"] = self.pseudonym(client_id)
        if owned:
            if self.is_user(event.get("user_id")):
                event["user_id"] = None
            for key in ("params", "extra", "context"):
                if isinstance(event.get(key), dict):
                    event[key] = self._without_pii(event[key])
            page = event.get("page")
            if isinstance(page, dict):
                page = self._without_pii(page)
                for key in ("url", "referrer"):
                    if key in page:
                        page[key] = strip_url(page[key])
                event["page"] = page
            for key in list(event):
                if key in PII_KEYS:
                    del event[key]
        return self._scrub_text(event, owned=owned)

    def scrub_lake_event(self, record: dict[str, Any]) -> dict[str, Any] | None:
        before = repr(record)
        after = self.scrub_event(record)
        return after if repr(after) != before else None

    def scrub_reject(self, record: dict[str, Any]) -> dict[str, Any] | None:
        before = repr(record)
        if isinstance(record.get("event"), dict):
            record["event"] = self.scrub_event(record["event"])
        after = self._scrub_text(record, owned=False)
        return after if repr(after) != before else None

    def _without_pii(self, mapping: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in mapping.items() if key.lower() not in PII_KEYS}

    def _scrub_text(self, value: Any, *, owned: bool) -> Any:
        """The user's id replaced everywhere, and the person's e-mail and distinctive name;
        in their own records (``owned``) any e-mail address and their name too."""
        if isinstance(value, str):
            value = self.user_pattern.sub(ERASED, value)
            value = self._scrub_personal(value, owned=owned)
            return EMAIL.sub(REDACTED, value) if owned and "@" in value else value
        if isinstance(value, dict):
            return {
                key: None
                if key == "user_id" and self.is_user(item)
                else self._scrub_text(item, owned=owned)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._scrub_text(item, owned=owned) for item in value]
        return value

    def _scrub_personal(self, text: str, *, owned: bool) -> str:
        pattern = self.personal_own if owned else self.personal_everywhere
        if pattern is None:
            return text
        if "%" in text or "+" in text:  # URL-encoded (a query string, a referrer)
            decoded = unquote_plus(text)
            if decoded != text and pattern.search(decoded):
                text = decoded
        return pattern.sub(REDACTED, text)


def _compiled(alternatives: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


@contextlib.contextmanager
def lake_lock(root: PurePath) -> Iterator[None]:
    """Exclusive between processes: erasures rewrite files one at a time. A lake in an
    object store needs no lock: its rewrites are conditional on the version they read."""
    if not isinstance(root, Path):
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".erasure.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def devices_of(zone: LandingZone, eraser: Eraser) -> set[str]:
    """Every client_id that appears on the user's events (accepted or rejected)."""
    found: set[str] = set()
    for dataset in (EVENTS, EVENTS_BAD):
        for line in zone.lines(dataset):
            if not eraser.user_pattern.search(line):
                continue
            record = _loads(line)
            event = record.get("event") if dataset == EVENTS_BAD else record
            if isinstance(event, dict) and eraser.is_user(event.get("user_id")):
                client_id = event.get("client_id")
                if isinstance(client_id, str):
                    found.add(client_id)
    return found


def _loads(line: str) -> dict[str, Any]:
    record = json.loads(line)
    return record if isinstance(record, dict) else {}


def erase_from_lake(zone: LandingZone, eraser: Eraser) -> dict[str, int]:
    with lake_lock(zone.root):
        for device in devices_of(zone, eraser):
            eraser.pseudonym(device)
        prefilter = eraser.prefilter()
        events = zone.rewrite(
            eraser.scrub_lake_event, EVENTS, prefilter=lambda line: bool(prefilter.search(line))
        )
        rejects = zone.rewrite(
            eraser.scrub_reject, EVENTS_BAD, prefilter=lambda line: bool(prefilter.search(line))
        )
    return {"events": events, "rejects": rejects}


@erasure_step("clickstream")
def erase_clickstream(ctx: ErasureContext) -> dict[str, Any]:
    trackings = live_trackings()
    server_devices = [tracking.user_client_id(ctx.user.id) for tracking in trackings]
    eraser = Eraser(
        ctx.user.id, set(server_devices), email=ctx.email, display_name=ctx.display_name
    )

    rows = ctx.session.scalars(select(OutboxEvent).where(OutboxEvent.user_id == ctx.user.id))
    outbox = 0
    for row in rows:
        payload = dict(row.payload)
        if not payload.get("client_id") and server_devices:  # what the drain would derive
            payload["client_id"] = server_devices[0]
        row.payload = eraser.scrub_event(payload)
        row.user_id = None
        outbox += 1
    ctx.session.flush()

    summary = {"outbox_rows_scrubbed": outbox, "events_rewritten": 0, "rejects_rewritten": 0}
    for tracking in trackings:
        tracking.sink.flush()
        counts = erase_from_lake(tracking.zone, eraser)
        summary["events_rewritten"] += counts["events"]
        summary["rejects_rewritten"] += counts["rejects"]
    summary["devices_pseudonymised"] = len(eraser.devices)
    return summary
