"""Landing imported events: validate them as event v1 and write them idempotently.

Each import owns one file per event date, ``events/dt=<day>/part-import-<dataset>-<hash>.jsonl``,
written through ``LandingZone.write_events`` (atomic, durable). Event ids are uuid5 over the
dataset and a row key, so a re-import produces the same events: a file whose events are
unchanged is left alone (its rows count as skipped), a changed one is replaced whole, and a
file of this import for a date that no longer has events is removed. Rejects go to
``events_bad/`` with their reasons, in one file per import that a re-run replaces.

Everything goes through the ``LandingZone`` and its object store, so the lake may be the
local folder or an S3-compatible store (``MERCADO_LAKE_URL``) alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shop_api.tracking.events import event_date, validate_event
from shop_api.tracking.lake import EVENTS, EVENTS_BAD, LandingZone
from simulator.importers.report import ImportReport, TableReport

IMPORT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://mercado.invalid/importers/v1")
# Fields the landing zone adds; they differ between runs and are ignored when comparing.
LANDING_FIELDS = ("received_at", "schema_version")


def import_part_name(dataset: str) -> str:
    """``import-<slug>-<hash>``: a safe, deterministic file name for the dataset."""
    slug = re.sub(r"[^a-z0-9]+", "-", dataset.lower()).strip("-")[:60] or "dataset"
    digest = hashlib.sha256(dataset.encode("utf-8")).hexdigest()[:10]
    return f"import-{slug}-{digest}"


_NAMESPACE_SHA1 = hashlib.sha1(IMPORT_NAMESPACE.bytes, usedforsecurity=False)


def import_event_id(dataset: str, key: str) -> str:
    """The same dataset row always gives the same event id (the lake's dedupe key):
    ``uuid5(IMPORT_NAMESPACE, "<dataset>:<key>")``, computed without ``uuid.UUID``'s
    overhead because imports make hundreds of thousands of them."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update(f"{dataset}:{key}".encode())
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _dumps(record: Any) -> str:
    """Compact JSON, as the landing zone writes records."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)


def _same_lines(lines: list[str], events: list[dict[str, Any]]) -> bool:
    """Whether the file's lines are exactly ``events`` as the lake writes them (whatever
    its ``received_at``): the fast check that spares an unchanged re-import from parsing
    every line back. False only means "compare the records"."""
    if not lines:
        return not events
    try:
        landed = json.loads(lines[0])
    except ValueError:
        return False
    suffix = "".join(f",{_dumps(key)}:{_dumps(landed.get(key))}" for key in LANDING_FIELDS)
    return lines == [f"{_dumps(event)[:-1]}{suffix}}}" for event in events]


def _records(lines: list[str]) -> list[dict[str, Any]]:
    """A landed file's records without the fields the landing zone added."""
    return [
        {key: value for key, value in json.loads(line).items() if key not in LANDING_FIELDS}
        for line in lines
    ]


@dataclass
class _Candidate:
    raw: dict[str, Any]
    rows: int
    table: TableReport


@dataclass
class EventSink:
    """Collects one import's events, then validates and lands them in one go."""

    dataset: str
    report: ImportReport
    candidates: list[_Candidate] = field(default_factory=list)
    rejects: list[tuple[Any, list[str]]] = field(default_factory=list)

    @property
    def part_name(self) -> str:
        return import_part_name(self.dataset)

    def add(self, table: TableReport, raw_event: dict[str, Any], rows: int = 1) -> None:
        """An event built from ``rows`` source rows (validated when landed)."""
        self.candidates.append(_Candidate(raw_event, rows, table))

    def reject(self, table: TableReport, raw: Any, reasons: list[str], rows: int = 1) -> None:
        """Source rows that could not even become an event; quarantined with the reasons."""
        for reason in reasons:
            table.reasons[reason] += rows
        table.rejected += rows
        self.rejects.append((raw, reasons))

    def land(self, lake: LandingZone, received_at: datetime) -> None:
        valid: dict[str, tuple[dict[str, Any], _Candidate]] = {}
        for candidate in self.candidates:
            event, reasons = validate_event(candidate.raw)
            if event is None:
                self.reject(candidate.table, candidate.raw, reasons, candidate.rows)
            elif event["event_id"] in valid:
                candidate.table.skipped += candidate.rows  # the same row twice in the source
                self.report.written["duplicate source rows"] += candidate.rows
            else:
                valid[event["event_id"]] = (event, candidate)
        by_day: dict[str, list[tuple[dict[str, Any], _Candidate]]] = defaultdict(list)
        for event, candidate in valid.values():
            by_day[event_date(event)].append((event, candidate))
        self._write_days(lake, by_day, received_at)
        self._write_rejects(lake, received_at)

    def _write_days(
        self,
        lake: LandingZone,
        by_day: dict[str, list[tuple[dict[str, Any], _Candidate]]],
        received_at: datetime,
    ) -> None:
        # One listing tells which days hold this import's file (and which are stale).
        landed = set(lake.keys(EVENTS, part_name=self.part_name))
        to_write: list[dict[str, Any]] = []
        for day, entries in sorted(by_day.items()):
            events = [event for event, _candidate in entries]
            key = lake.part_key(EVENTS, day, self.part_name)
            existing: list[dict[str, Any]] = []
            if key in landed:
                lines = lake.object_lines(key)
                same = _same_lines(lines, events)
                if not same:  # compare the records themselves (slower, but exact)
                    existing = _records(lines)
                    same = existing == events
                if same:
                    for _event, candidate in entries:
                        candidate.table.skipped += candidate.rows
                    self.report.written["event files unchanged"] += 1
                    continue
            present = {record.get("event_id") for record in existing}
            for event, candidate in entries:
                if event["event_id"] in present:
                    candidate.table.skipped += candidate.rows
                else:
                    candidate.table.loaded += candidate.rows
            to_write.extend(events)
            self.report.written["event files written"] += 1
        if to_write:
            lake.write_events(to_write, received_at, part_name=self.part_name)
        self.report.written["events written"] += len(to_write)
        wanted = {lake.part_key(EVENTS, day, self.part_name) for day in by_day}
        for stale in sorted(landed - wanted):  # this import no longer has events that day
            lake.store.delete(stale)
            self.report.written["stale event files removed"] += 1

    def _write_rejects(self, lake: LandingZone, received_at: datetime) -> None:
        existing = lake.keys(EVENTS_BAD, part_name=self.part_name)
        source = f"import:{self.dataset}"
        wanted = [
            {
                "source": source,
                "reasons": reasons,
                "event": json.loads(json.dumps(raw, default=str)),
            }
            for raw, reasons in self.rejects
        ]
        if len(existing) == 1 and _records(lake.object_lines(existing[0])) == wanted:
            self.report.written["reject files unchanged"] += 1
            return
        target = lake.write_rejects(self.rejects, received_at, source, part_name=self.part_name)
        if target is not None:
            self.report.written["rejects quarantined"] += len(self.rejects)
        for old in existing:
            if lake.root / old != target:  # an earlier run's rejects, superseded by this run's
                lake.store.delete(old)
