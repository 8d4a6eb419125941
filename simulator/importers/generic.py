"""Any interactions CSV → the landing zone as event v1.

The file needs a header naming at least ``user_id,item_id,timestamp``; ``event_name``
(default ``view_item``) and ``value`` are optional. ``timestamp`` is ISO 8601 (read as UTC
when it has no offset) or unix seconds. ``value`` becomes ``params.value`` with
``params.currency`` (from the option), except for ``write_review``, where it is the
rating (``params.rating``, 1 to 5). ``session_id`` and ``client_id`` columns fill those
fields (``client_id`` defaults to the user id); any other column is copied into
``params`` (so a ``transaction_id`` or ``search_term`` column makes purchase or search
rows valid). ``user_id`` and ``item_id`` follow the event contract's id rule
(``events.ENTITY_ID_PATTERN``): a UUID is taken as a shop id (and written canonical, so a
feed about the shop's own listings joins them); any other id is kept under the dataset's
prefix, its name in lowercase letters, digits and underscores (``partner feed`` →
``partner_feed:u1``). ``client_id`` defaults to the (prefixed) user id.

The dataset name is the unit of idempotency: event ids are uuid5 over the name and the
row's content, and re-importing under the same name replaces that import's files (a
row repeated in the file lands once).
"""

from __future__ import annotations

import csv
import math
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shop_api.tracking.events import EVENT_NAMES
from shop_api.tracking.lake import LandingZone
from simulator.importers.datasets import open_text
from simulator.importers.landing import EventSink, import_event_id
from simulator.importers.report import ImportReport

REQUIRED_COLUMNS = ("user_id", "item_id", "timestamp")
TOP_LEVEL_COLUMNS = ("session_id", "client_id")
DEFAULT_EVENT_NAME = "view_item"


class CsvHeaderError(ValueError):
    """The file has no header naming the required columns."""


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (naive means UTC) or unix seconds; ``ValueError`` otherwise."""
    value = text.strip()
    if not value:
        raise ValueError("timestamp: required")
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("timestamp: neither ISO 8601 nor unix seconds") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("timestamp: unix seconds out of range") from None


def id_prefix(dataset_name: str) -> str:
    """The dataset's id prefix: ``partner feed`` → ``partner_feed``."""
    return re.sub(r"[^a-z0-9_]+", "_", dataset_name.lower()).strip("_") or "dataset"


def entity_id(prefix: str, text: str) -> str:
    """A shop UUID as its canonical text, any other id under the dataset's prefix."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return f"{prefix}:{text}"


def _value(text: str, event_name: str) -> tuple[str, Any]:
    """(params key, value): the rating of a review, otherwise a money value."""
    try:
        number = float(text)
    except ValueError:
        raise ValueError("value: not a number") from None
    if not math.isfinite(number):
        raise ValueError("value: not a finite number")
    if event_name == "write_review":
        return "rating", int(number) if number.is_integer() else number
    return "value", number


def import_csv(
    lake: LandingZone,
    path: Path,
    *,
    dataset_name: str,
    currency: str = "USD",
    received_at: datetime | None = None,
) -> ImportReport:
    if not dataset_name.strip():
        raise ValueError("a dataset name is required")
    report = ImportReport(dataset_name, path)
    table = report.table(path.name)
    sink = EventSink(dataset_name, report)
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise CsvHeaderError(
                f"{path}: the first line must be a header naming "
                f"{','.join(REQUIRED_COLUMNS)}[,event_name,value]; missing {', '.join(missing)}"
            )
        for line_number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue  # blank line
            table.read += 1
            row = dict(zip(header, (value.strip() for value in values), strict=False))
            if len(values) != len(header):
                sink.reject(
                    table,
                    {"line": line_number, **row},
                    [f"row: {len(values)} fields where the header has {len(header)}"],
                )
                continue
            event, reasons = _event(dataset_name, row, currency)
            if event is None:
                sink.reject(table, {"line": line_number, **row}, reasons)
            else:
                sink.add(table, event)
    sink.land(lake, received_at or datetime.now(UTC))
    return report


def _event(
    dataset_name: str, row: dict[str, str], currency: str
) -> tuple[dict[str, Any] | None, list[str]]:
    reasons = []
    for name in ("user_id", "item_id"):
        if not row.get(name):
            reasons.append(f"{name}: required")
    moment = None
    try:
        moment = parse_timestamp(row.get("timestamp", ""))
    except ValueError as exc:
        reasons.append(str(exc))
    event_name = row.get("event_name") or DEFAULT_EVENT_NAME
    if event_name not in EVENT_NAMES:
        reasons.append("event_name: not an event v1 name")
    params: dict[str, Any] = {}
    if row.get("value"):
        try:
            key, number = _value(row["value"], event_name)
            params[key] = number
            if key == "value":
                params["currency"] = currency
        except ValueError as exc:
            reasons.append(str(exc))
    if reasons or moment is None:
        return None, reasons
    known = {*REQUIRED_COLUMNS, "event_name", "value", *TOP_LEVEL_COLUMNS}
    params.update({k: v for k, v in row.items() if k not in known and k and v})
    prefix = id_prefix(dataset_name)
    user_id = entity_id(prefix, row["user_id"])
    time_text = moment.isoformat()
    key = "\x1f".join(
        [row["user_id"], row["item_id"], time_text, event_name]
        + [f"{k}={v}" for k, v in sorted(row.items()) if v and k not in REQUIRED_COLUMNS]
    )
    return {
        "event_id": import_event_id(dataset_name, key),
        "event_name": event_name,
        "event_time": time_text,
        "client_id": row.get("client_id") or user_id,
        "user_id": user_id,
        "session_id": row.get("session_id") or None,
        "params": params,
        "items": [{"item_id": entity_id(prefix, row["item_id"])}],
        "import_dataset": dataset_name,
    }, []
