"""The landing zone: JSONL objects that appear only complete, in the folder
``$MERCADO_HOME/lake`` or, with ``MERCADO_LAKE_URL=s3://bucket/prefix``, in an
S3-compatible store (``shop_api.core.storage``).

Layout: ``events/dt=YYYY-MM-DD/part-<received>-<uuid>.jsonl`` (partitioned by the
events' own UTC date, so a late event lands in its day) and
``events_bad/dt=YYYY-MM-DD/…`` (partitioned by the day it was received) for rejected
events with their reasons. Every object is written atomically (locally: written aside,
fsync'd, renamed into place and its folder fsync'd; in S3 a PUT is atomic): a reader
sees a whole file or none, and after ``write_*`` returns the data survives a crash.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

from shop_api.core.storage import LocalObjectStore, ObjectInfo, ObjectStore, open_object_store
from shop_api.tracking.events import SCHEMA_VERSION, event_date

if TYPE_CHECKING:
    from shop_api.core.config import Settings

EVENTS = "events"
EVENTS_BAD = "events_bad"
PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")
# A complete file of a partition (temporary and hidden names never match).
PART_KEY = re.compile(r"dt=[^/]+/part-[^/]*\.jsonl")
JSONL = "application/x-ndjson"


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


def part_file(name: str) -> str:
    """``part-<name>.jsonl``: the file a deterministic part name (an importer's) gives."""
    if not PART_NAME.fullmatch(name):
        raise ValueError(f"part name {name!r} must match {PART_NAME.pattern}")
    return f"part-{name}.jsonl"


def _jsonl(lines: Iterable[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


class LandingZone:
    """The lake's two datasets over an object store; a ``Path`` is a local folder."""

    def __init__(self, root: Path | ObjectStore) -> None:
        self.store: ObjectStore = LocalObjectStore(root) if isinstance(root, Path) else root
        # Where files are, as paths: the folder, or the store's URL (informational).
        self.root: PurePath = root if isinstance(root, Path) else PurePosixPath(str(root))

    def partition(self, dataset: str, day: str) -> PurePath:
        return self.root / dataset / f"dt={day}"

    def part_key(self, dataset: str, day: str, part_name: str) -> str:
        """The key ``write_*(part_name=…)`` writes for ``day``."""
        return f"{dataset}/dt={day}/{part_file(part_name)}"

    def _part_name(self, received_at: datetime, name: str | None = None) -> str:
        if name is not None:  # a deterministic name: writing again replaces that file
            return part_file(name)
        return f"part-{received_at.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}.jsonl"

    def _put(self, key: str, lines: Iterable[str]) -> PurePath:
        self.store.put(key, _jsonl(lines), JSONL)
        return self.root / key

    def write_events(
        self, events: list[dict[str, Any]], received_at: datetime, *, part_name: str | None = None
    ) -> list[PurePath]:
        """Append validated events (one new file per event date); adds ``received_at``
        and ``schema_version``. With ``part_name`` (importers) each date's file is
        ``part-<part_name>.jsonl`` and replaces the one an earlier run wrote."""
        stamp = received_at.isoformat()
        return self.write_lines(
            [encode_event(event, stamp) for event in events], received_at, part_name=part_name
        )

    def write_lines(
        self, lines: Iterable[EventLine], received_at: datetime, *, part_name: str | None = None
    ) -> list[PurePath]:
        """``write_events`` for events already encoded by ``encode_event``."""
        by_day: dict[str, list[str]] = defaultdict(list)
        for day, line in lines:
            by_day[day].append(line)
        return [
            self._put(f"{EVENTS}/dt={day}/{self._part_name(received_at, part_name)}", day_lines)
            for day, day_lines in sorted(by_day.items())
        ]

    def write_rejects(
        self,
        rejects: list[tuple[Any, list[str]]],
        received_at: datetime,
        source: str,
        *,
        part_name: str | None = None,
    ) -> PurePath | None:
        """Quarantine invalid events with their reasons; nothing is ever dropped."""
        if not rejects:
            return None
        stamp = received_at.isoformat()
        lines = [
            _dumps({"received_at": stamp, "source": source, "reasons": reasons, "event": raw})
            for raw, reasons in rejects
        ]
        day = received_at.date().isoformat()
        return self._put(f"{EVENTS_BAD}/dt={day}/{self._part_name(received_at, part_name)}", lines)

    def objects(self, dataset: str = EVENTS, day: str | None = None) -> list[ObjectInfo]:
        """The complete files of ``dataset`` (of one ``dt=`` day), sorted by key."""
        prefix = f"{dataset}/dt={day}/" if day is not None else f"{dataset}/dt="
        return [
            info
            for info in self.store.list(prefix)
            if PART_KEY.fullmatch(info.key.removeprefix(f"{dataset}/"))
        ]

    def keys(
        self, dataset: str = EVENTS, day: str | None = None, *, part_name: str | None = None
    ) -> list[str]:
        """The keys of ``objects``; with ``part_name``, only that deterministic part's."""
        infos = self.objects(dataset, day)
        if part_name is None:
            return [info.key for info in infos]
        name = part_file(part_name)
        return [info.key for info in infos if info.name == name]

    def object_lines(self, key: str) -> list[str]:
        """The non-empty lines of one file (``ObjectNotFound`` when there is none)."""
        return [line for line in self.store.get(key).decode().splitlines() if line.strip()]

    def files(self, dataset: str = EVENTS) -> Iterator[PurePath]:
        """The complete files as paths (the local folder's own files)."""
        return iter([self.root / key for key in self.keys(dataset)])

    def lines(self, dataset: str = EVENTS) -> Iterator[str]:
        """Every non-empty line of every file, oldest file name first."""
        for key in self.keys(dataset):
            yield from self.object_lines(key)

    def read(self, dataset: str = EVENTS) -> Iterator[dict[str, Any]]:
        for line in self.lines(dataset):
            yield json.loads(line)

    def rewrite(
        self,
        transform: Callable[[dict[str, Any]], dict[str, Any] | None],
        dataset: str = EVENTS,
        *,
        prefilter: Callable[[str], bool] | None = None,
    ) -> int:
        """Rewrite every file whose records ``transform`` changes (returning None keeps a
        record as is); each file is replaced atomically (``ObjectStore.rewrite``). Returns
        records changed.

        ``prefilter`` (on the raw line) skips decoding lines that cannot concern the
        transform, and files with no such line are not decoded at all."""
        changed_total = 0
        for key in self.keys(dataset):
            changed = 0

            def scrub(data: bytes) -> bytes | None:
                nonlocal changed
                changed = 0  # a retried rewrite starts again from the current object
                lines = data.decode().splitlines()
                if prefilter is not None and not any(prefilter(line) for line in lines):
                    return None
                records = []
                for line in lines:
                    if not line.strip():
                        continue
                    if prefilter is not None and not prefilter(line):
                        records.append(line)
                        continue
                    record = json.loads(line)
                    new = transform(record)
                    if new is not None:
                        record, changed = new, changed + 1
                    records.append(_dumps(record))
                return _jsonl(records) if changed else None

            if self.store.rewrite(key, scrub):
                changed_total += changed
        return changed_total


def landing_zone(settings: Settings) -> LandingZone:
    """The lake the settings name: ``lake_url`` (``s3://bucket/prefix``, with
    ``s3_endpoint_url`` for a store that is not AWS), else the folder ``lake_dir``."""
    if settings.lake_url:
        store = open_object_store(settings.lake_url, endpoint_url=settings.s3_endpoint_url)
        return LandingZone(store)
    return LandingZone(settings.lake_dir)
