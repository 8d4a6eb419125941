"""The landing zone: JSONL files under ``$MERCADO_HOME/lake`` that appear only complete.

Layout: ``events/dt=YYYY-MM-DD/part-<received>-<uuid>.jsonl`` (partitioned by the
events' own UTC date, so a late event lands in its day) and
``events_bad/dt=YYYY-MM-DD/…`` (partitioned by the day it was received) for rejected
events with their reasons. Every file is written aside, fsync'd, renamed into place and
its folder fsync'd: a reader sees a whole file or none, and after ``write_*`` returns the
data survives a crash.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from shop_api.tracking.events import SCHEMA_VERSION, event_date

EVENTS = "events"
EVENTS_BAD = "events_bad"
PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")


def _dumps(record: dict[str, Any]) -> str:
    """Compact UTF-8 JSON (what ``json.dumps(separators=(",", ":"), ensure_ascii=False)``
    gives, about three times faster); NaN and infinities become null."""
    return to_json(record, fallback=str, inf_nan_mode="null").decode()


# An event as the landing zone stores it: (its UTC date, its JSON line).
EventLine = tuple[str, str]


def encode_event(event: dict[str, Any], received_at: str) -> EventLine:
    """The event's landing-zone line, with the collector's ``received_at`` (ISO 8601) and
    ``schema_version``. Callers on a request path encode here, so the writer's rounds are
    file I/O only and never hold the interpreter for a burst of encoding."""
    record = {**event, "received_at": received_at, "schema_version": SCHEMA_VERSION}
    return event_date(event), _dumps(record)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(target: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` to ``target`` so it appears whole or not at all, and durably."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line)
                handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


class LandingZone:
    def __init__(self, root: Path) -> None:
        self.root = root

    def partition(self, dataset: str, day: str) -> Path:
        return self.root / dataset / f"dt={day}"

    def _part_name(self, received_at: datetime, name: str | None = None) -> str:
        if name is not None:  # a deterministic name: writing again replaces that file
            if not PART_NAME.fullmatch(name):
                raise ValueError(f"part name {name!r} must match {PART_NAME.pattern}")
            return f"part-{name}.jsonl"
        return f"part-{received_at.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}.jsonl"

    def write_events(
        self, events: list[dict[str, Any]], received_at: datetime, *, part_name: str | None = None
    ) -> list[Path]:
        """Append validated events (one new file per event date); adds ``received_at``
        and ``schema_version``. With ``part_name`` (importers) each date's file is
        ``part-<part_name>.jsonl`` and replaces the one an earlier run wrote."""
        stamp = received_at.isoformat()
        return self.write_lines(
            [encode_event(event, stamp) for event in events], received_at, part_name=part_name
        )

    def write_lines(
        self, lines: Iterable[EventLine], received_at: datetime, *, part_name: str | None = None
    ) -> list[Path]:
        """``write_events`` for events already encoded by ``encode_event``."""
        by_day: dict[str, list[str]] = defaultdict(list)
        for day, line in lines:
            by_day[day].append(line)
        written = []
        for day, day_lines in sorted(by_day.items()):
            target = self.partition(EVENTS, day) / self._part_name(received_at, part_name)
            write_atomically(target, day_lines)
            written.append(target)
        return written

    def write_rejects(
        self,
        rejects: list[tuple[Any, list[str]]],
        received_at: datetime,
        source: str,
        *,
        part_name: str | None = None,
    ) -> Path | None:
        """Quarantine invalid events with their reasons; nothing is ever dropped."""
        if not rejects:
            return None
        stamp = received_at.isoformat()
        lines = [
            _dumps({"received_at": stamp, "source": source, "reasons": reasons, "event": raw})
            for raw, reasons in rejects
        ]
        target = self.partition(EVENTS_BAD, received_at.date().isoformat()) / self._part_name(
            received_at, part_name
        )
        write_atomically(target, lines)
        return target

    def files(self, dataset: str = EVENTS) -> Iterator[Path]:
        base = self.root / dataset
        if not base.exists():
            return iter(())
        return iter(sorted(base.glob("dt=*/part-*.jsonl")))

    def read(self, dataset: str = EVENTS) -> Iterator[dict[str, Any]]:
        for path in self.files(dataset):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        yield json.loads(line)

    def rewrite(
        self,
        transform: Callable[[dict[str, Any]], dict[str, Any] | None],
        dataset: str = EVENTS,
        *,
        prefilter: Callable[[str], bool] | None = None,
    ) -> int:
        """Rewrite every file whose records ``transform`` changes (returning None keeps a
        record as is); each file is replaced atomically. Returns records changed.

        ``prefilter`` (on the raw line) skips decoding lines that cannot concern the
        transform, and files with no such line are not decoded at all."""
        changed_total = 0
        for path in self.files(dataset):
            if prefilter is not None:
                with path.open(encoding="utf-8") as handle:
                    if not any(prefilter(line) for line in handle):
                        continue
            records = []
            changed = 0
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    if prefilter is not None and not prefilter(line):
                        records.append(line.rstrip("\n"))
                        continue
                    record = json.loads(line)
                    new = transform(record)
                    if new is not None:
                        record, changed = new, changed + 1
                    records.append(_dumps(record))
            if changed:
                write_atomically(path, records)
                changed_total += changed
        return changed_total
