"""Clickstream and interaction datasets → the landing zone as event v1.

- DIGINETICA ``train-item-views`` (``;``-separated ``session_id;user_id;item_id;timeframe;
  eventdate``): one ``view_item`` per row at ``eventdate`` + ``timeframe`` ms.
- UCI Online Retail invoice lines: one ``purchase`` per invoice with its lines as items
  (same StockCode at the same price merged, quantities summed); cancellations (InvoiceNo
  ``C…``) become ``refund`` events.
- MovieLens 100K ``u.data`` ratings: one ``write_review`` per rating with ``params.rating``
  (titles and first genre from ``u.item``/``u.genre`` when present).

Identifiers are prefixed with the dataset (``movielens:242``, ``online_retail:85123A``) so
datasets never collide with each other or with the shop's own ids, as the event contract's
id rule asks (``events.ENTITY_ID_PATTERN``: the prefix is lowercase letters, digits and
underscores); ``client_id`` (an anonymous device id) comes from the
user when known, else from the session or invoice. Every event carries
``import_dataset`` (kept in the event's ``extra``). Times without a zone are read as UTC.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from shop_api.tracking.lake import LandingZone
from simulator.importers.datasets import (
    DIGINETICA,
    MOVIELENS,
    ONLINE_RETAIL,
    dataset_dir,
    open_text,
)
from simulator.importers.landing import EventSink, import_event_id
from simulator.importers.report import ImportReport

DIGINETICA_FILE = "sample_train-item-views.csv"
ONLINE_RETAIL_FILE = "online_retail_first10k_clean.csv.gz"
MOVIELENS_FILE = "u.data"
ONLINE_RETAIL_CURRENCY = "GBP"  # a UK retailer; UnitPrice is in pounds sterling
ONLINE_RETAIL_PREFIX = "online_retail"  # id prefixes are [a-z0-9_]+ (events.ENTITY_ID_PATTERN)


def _locate(path: Path | None, dataset_folder: str, default_file: str) -> Path:
    """A file given directly, or the dataset's default file in a folder."""
    folder_or_file = path if path is not None else dataset_dir(dataset_folder)
    if folder_or_file.is_dir():
        candidate = folder_or_file / default_file
        if not candidate.exists():
            raise FileNotFoundError(f"{default_file} not found in {folder_or_file}")
        return candidate
    if not folder_or_file.exists():
        raise FileNotFoundError(f"{folder_or_file} does not exist")
    return folder_or_file


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _now(received_at: datetime | None) -> datetime:
    return received_at or datetime.now(UTC)


# --- DIGINETICA --------------------------------------------------------------------------

DIGINETICA_COLUMNS = {  # the sample's header, and the full CIKM Cup file's
    "sessionid": "session_id",
    "userid": "user_id",
    "itemid": "item_id",
    "timeframe": "timeframe",
    "eventdate": "eventdate",
}


def import_diginetica(
    lake: LandingZone, path: Path | None = None, *, received_at: datetime | None = None
) -> ImportReport:
    """Product views → ``view_item`` events (``path``: the file or its folder)."""
    source = _locate(path, DIGINETICA, DIGINETICA_FILE)
    report = ImportReport("diginetica", source)
    table = report.table(source.name)
    sink = EventSink("diginetica", report)
    parsed: list[tuple[dict[str, str], datetime]] = []
    with open_text(source) as handle:
        reader = csv.reader(handle, delimiter=";")
        header = [
            DIGINETICA_COLUMNS.get(name.strip().lower().replace("_", ""), name)
            for name in next(reader, [])
        ]
        missing = set(DIGINETICA_COLUMNS.values()) - set(header)
        if missing:
            raise ValueError(f"{source}: missing columns {sorted(missing)}")
        for line_number, values in enumerate(reader, start=2):
            table.read += 1
            row = dict(zip(header, (value.strip() for value in values), strict=False))
            reasons = []
            if not row.get("session_id"):
                reasons.append("session_id: required")
            if not row.get("item_id"):
                reasons.append("item_id: required")
            moment = None
            try:
                day = date.fromisoformat(row.get("eventdate") or "")
                offset = int(row.get("timeframe") or "")
                if offset < 0:
                    raise ValueError
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                    milliseconds=offset
                )
            except (ValueError, OverflowError):
                reasons.append("eventdate/timeframe: a date and non-negative milliseconds")
            if reasons or moment is None:
                sink.reject(table, {"line": line_number, **row}, reasons)
                continue
            parsed.append((row, moment))

    # A session's rows share one client: its logged-in user's when any row names one.
    session_user: dict[str, str] = {}
    for row, _moment in parsed:
        user = row.get("user_id") or ""
        if user and user.upper() != "NA":
            session_user.setdefault(row["session_id"], user)
    for row, moment in parsed:
        session, item = row["session_id"], row["item_id"]
        user = row.get("user_id") or ""
        user = "" if user.upper() == "NA" else user
        known = session_user.get(session)
        sink.add(
            table,
            {
                "event_id": import_event_id("diginetica", f"{session}:{item}:{row['timeframe']}"),
                "event_name": "view_item",
                "event_time": moment.isoformat(),
                "client_id": f"diginetica-u{known}" if known else f"diginetica-s{session}",
                "user_id": f"diginetica:{user}" if user else None,
                "session_id": f"diginetica:{session}",
                "items": [{"item_id": f"diginetica:{item}"}],
                "import_dataset": DIGINETICA,
            },
        )
    sink.land(lake, _now(received_at))
    return report


# --- UCI Online Retail -------------------------------------------------------------------


@dataclass
class _Invoice:
    number: str
    lines: list[dict[str, Any]] = field(default_factory=list)


def _retail_time(text: str) -> datetime:
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        return _utc(datetime.strptime(text, "%m/%d/%Y %H:%M"))  # the original UCI layout


def _customer(text: str) -> str:
    """``17850.0`` (pandas made CustomerID a float) → ``17850``."""
    text = text.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return str(int(number)) if number == number.to_integral_value() else text


def _parse_retail_line(row: dict[str, str]) -> tuple[dict[str, Any] | None, list[str]]:
    reasons = []
    invoice = row.get("InvoiceNo", "").strip()
    stock_code = row.get("StockCode", "").strip()
    if not invoice:
        reasons.append("InvoiceNo: required")
    if not stock_code:
        reasons.append("StockCode: required")
    cancelled = invoice.upper().startswith("C")
    quantity = price = moment = None
    try:
        quantity = int(Decimal(row.get("Quantity", "").strip()))
        if quantity == 0:
            reasons.append("Quantity: zero")
        elif quantity < 0 and not cancelled:
            reasons.append("Quantity: negative outside a cancellation (C…) invoice")
    except (InvalidOperation, ValueError):
        reasons.append("Quantity: not a number")
    try:
        price = Decimal(row.get("UnitPrice", "").strip())
        if price < 0 or not price.is_finite():
            reasons.append("UnitPrice: negative")
    except InvalidOperation:
        reasons.append("UnitPrice: not a number")
    try:
        moment = _retail_time(row.get("InvoiceDate", "").strip())
    except ValueError:
        reasons.append("InvoiceDate: not a date and time")
    if reasons:
        return None, reasons
    assert quantity is not None and price is not None and moment is not None
    return {
        "invoice": invoice,
        "cancelled": cancelled,
        "stock_code": stock_code,
        "description": (row.get("Description") or "").strip()[:512] or None,
        "quantity": abs(quantity),
        "price": price,
        "time": moment,
        "customer": _customer(row.get("CustomerID") or ""),
        "country": (row.get("Country") or "").strip() or None,
    }, []


def _invoice_event(invoice: _Invoice) -> dict[str, Any]:
    items: dict[tuple[str, Decimal], dict[str, Any]] = {}
    for line in invoice.lines:  # the same product at the same price: one item, summed
        key = (line["stock_code"], line["price"])
        if key in items:
            items[key]["quantity"] += line["quantity"]
        else:
            items[key] = {
                "item_id": f"{ONLINE_RETAIL_PREFIX}:{line['stock_code']}",
                "item_name": line["description"],
                "price": float(line["price"]),
                "quantity": line["quantity"],
                "index": len(items),
            }
    value = sum((line["price"] * line["quantity"] for line in invoice.lines), Decimal(0))
    first = invoice.lines[0]
    customer = next((line["customer"] for line in invoice.lines if line["customer"]), "")
    country = next((line["country"] for line in invoice.lines if line["country"]), None)
    params: dict[str, Any] = {
        "transaction_id": f"{ONLINE_RETAIL_PREFIX}:{invoice.number}",
        "value": float(round(value, 2)),
        "currency": ONLINE_RETAIL_CURRENCY,
    }
    if country:
        params["country"] = country
    return {
        "event_id": import_event_id("online-retail", invoice.number),
        "event_name": "refund" if first["cancelled"] else "purchase",
        "event_time": min(line["time"] for line in invoice.lines).isoformat(),
        "client_id": (
            f"online-retail-{customer}" if customer else f"online-retail-invoice-{invoice.number}"
        ),
        "user_id": f"{ONLINE_RETAIL_PREFIX}:{customer}" if customer else None,
        "params": params,
        "items": [{k: v for k, v in item.items() if v is not None} for item in items.values()],
        "import_dataset": ONLINE_RETAIL,
    }


def import_online_retail(
    lake: LandingZone, path: Path | None = None, *, received_at: datetime | None = None
) -> ImportReport:
    """Invoice lines → one ``purchase`` (or, for ``C…`` invoices, ``refund``) per invoice."""
    source = _locate(path, ONLINE_RETAIL, ONLINE_RETAIL_FILE)
    report = ImportReport("online-retail", source)
    table = report.table(source.name)
    sink = EventSink("online-retail", report)
    invoices: dict[str, _Invoice] = {}
    with open_text(source) as handle:
        reader = csv.DictReader(handle)
        for line_number, row in enumerate(reader, start=2):
            table.read += 1
            line, reasons = _parse_retail_line(row)
            if line is None:
                sink.reject(table, {"line": line_number, **row}, reasons)
                continue
            invoice = invoices.setdefault(line["invoice"], _Invoice(line["invoice"]))
            invoice.lines.append(line)
    for invoice in invoices.values():
        sink.add(table, _invoice_event(invoice), rows=len(invoice.lines))
    sink.land(lake, _now(received_at))
    return report


# --- MovieLens 100K ----------------------------------------------------------------------


def _movielens_items(folder: Path) -> dict[str, dict[str, str]]:
    """item id → {item_name, item_category (first genre)} from u.item and u.genre."""
    items_file, genres_file = folder / "u.item", folder / "u.genre"
    if not items_file.exists():
        return {}
    genres: dict[int, str] = {}
    if genres_file.exists():
        for line in genres_file.read_text(encoding="latin-1").splitlines():
            if "|" in line:
                name, index = line.rsplit("|", 1)
                if index.strip().isdigit():
                    genres[int(index)] = name
    items: dict[str, dict[str, str]] = {}
    for line in items_file.read_text(encoding="latin-1").splitlines():
        fields = line.split("|")
        if len(fields) < 2:
            continue
        info = {"item_name": fields[1][:512]}
        flags = fields[5:]
        first = next((i for i, flag in enumerate(flags) if flag.strip() == "1"), None)
        if first is not None and first in genres:
            info["item_category"] = genres[first]
        items[fields[0].strip()] = info
    return items


def import_movielens(
    lake: LandingZone, path: Path | None = None, *, received_at: datetime | None = None
) -> ImportReport:
    """Ratings (``u.data``) → ``write_review`` events with ``params.rating``."""
    source = _locate(path, MOVIELENS, MOVIELENS_FILE)
    report = ImportReport("movielens", source)
    table = report.table(source.name)
    sink = EventSink("movielens", report)
    titles = _movielens_items(source.parent)
    with source.open(encoding="latin-1", newline="") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            table.read += 1
            fields = [field.strip() for field in line.split("\t")]
            if len(fields) != 4:
                sink.reject(table, {"line": line_number, "text": line.rstrip("\n")}, [
                    "u.data: 4 tab-separated fields expected"
                ])  # fmt: skip
                continue
            user, item, rating_text, stamp = fields
            reasons = []
            try:
                moment = datetime.fromtimestamp(int(stamp), UTC)
            except (ValueError, OverflowError, OSError):
                reasons.append("unix_timestamp: not a timestamp")
            try:
                rating: Any = int(rating_text)
            except ValueError:
                rating = rating_text  # validate_event explains what a rating must be
            if reasons:
                sink.reject(table, {"line": line_number, "text": line.rstrip("\n")}, reasons)
                continue
            sink.add(
                table,
                {
                    "event_id": import_event_id("movielens", f"{user}:{item}"),
                    "event_name": "write_review",
                    "event_time": moment.isoformat(),
                    "client_id": f"movielens-{user}",
                    "user_id": f"movielens:{user}",
                    "params": {"rating": rating},
                    "items": [{"item_id": f"movielens:{item}", **titles.get(item, {})}],
                    "import_dataset": MOVIELENS,
                },
            )
    sink.land(lake, _now(received_at))
    return report


ClickstreamImporter = Callable[..., ImportReport]
CLICKSTREAM_IMPORTERS: dict[str, ClickstreamImporter] = {
    "diginetica": import_diginetica,
    "online-retail": import_online_retail,
    "movielens": import_movielens,
}
