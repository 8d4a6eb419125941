"""The clickstream event, version 1 (GA4-style names), and its per-name rules.

Validation has two layers: the shape every event shares (``EventV1``) and what each
event name needs on top (``RULES``), kept per schema version so a v2 can change them
without breaking v1 senders. Unknown top-level fields are not dropped: they are kept in
``extra`` so nothing a client sends is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

SCHEMA_VERSION = 1

EventName = Literal[
    "page_view", "view_item_list", "select_item", "view_item", "search", "add_to_cart",
    "remove_from_cart", "view_cart", "begin_checkout", "add_payment_info", "purchase",
    "refund", "view_promotion", "select_promotion", "sign_up", "login", "ask_question",
    "write_review",
]  # fmt: skip
EVENT_NAMES: tuple[str, ...] = get_args(EventName)

ENTITY_ID_PATTERN = (
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[a-z0-9_]+:\S+(?: \S+)*)$"
)
"""What ``user_id`` and ``items[].item_id`` must be: a shop id (a canonical UUID, lowercase
and dashed) or an imported dataset's own id under its prefix (``diginetica:123``,
``online_retail:BANK CHARGES``: the prefix is lowercase letters, digits and underscores;
the value is the dataset's, words separated by single spaces, no control characters). The
warehouse tests the same rule (dbt var ``entity_id_pattern``, generic test ``is_entity_id``),
so an event the collector accepts never fails the warehouse's id tests; one that does not fit
is quarantined here. It is a field ``pattern``, so it is part of the JSON schema too."""

ID_FIELDS = frozenset({"user_id", "item_id"})
NOT_AN_ID = "not an id: a lowercase dashed UUID or <prefix>:<value> such as diginetica:123"

Text = Field(default=None, max_length=2048)
Short = Field(default=None, max_length=256)


class Page(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str | None = Text
    referrer: str | None = Text
    title: str | None = Field(default=None, max_length=512)


class Item(BaseModel):
    model_config = ConfigDict(extra="allow")

    item_id: str = Field(max_length=64, pattern=ENTITY_ID_PATTERN)
    item_name: str | None = Field(default=None, max_length=512)
    item_category: str | None = Short
    price: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    quantity: int | None = Field(default=None, ge=0, le=100_000)
    index: int | None = Field(default=None, ge=0)
    seller_id: str | None = Field(default=None, max_length=64)


class Context(BaseModel):
    model_config = ConfigDict(extra="allow")

    user_agent: str | None = Field(default=None, max_length=1024)
    locale: str | None = Field(default=None, max_length=35)
    utm_source: str | None = Short
    utm_medium: str | None = Short
    utm_campaign: str | None = Short


class EventV1(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: uuid.UUID
    event_name: EventName
    event_time: AwareDatetime
    client_id: str = Field(min_length=1, max_length=64)
    user_id: str | None = Field(default=None, max_length=64, pattern=ENTITY_ID_PATTERN)
    session_id: str | None = Field(default=None, max_length=64)
    page: Page | None = None
    params: dict[str, Any] = Field(default_factory=dict, max_length=100)
    items: list[Item] = Field(default_factory=list, max_length=200)
    context: Context | None = None


KNOWN_FIELDS = frozenset(EventV1.model_fields)
Rule = Callable[[EventV1], list[str]]


def _needs_items(event: EventV1) -> list[str]:
    return [] if event.items else ["items: at least one item is required"]


def _needs_params(*names: str) -> Rule:
    def rule(event: EventV1) -> list[str]:
        return [
            f"params.{name}: required for {event.event_name}"
            for name in names
            if event.params.get(name) in (None, "")
        ]

    return rule


def _needs_page_url(event: EventV1) -> list[str]:
    return [] if event.page and event.page.url else ["page.url: required for page_view"]


def _rating_in_range(event: EventV1) -> list[str]:
    rating = event.params.get("rating")
    if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5:
        return []
    return ["params.rating: an integer from 1 to 5 is required for write_review"]


def _money(event: EventV1) -> list[str]:
    value, currency = event.params.get("value"), event.params.get("currency")
    problems = []
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        problems.append("params.value: a non-negative number is required")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        problems.append("params.currency: an ISO 4217 code is required")
    return problems


RULES: dict[int, dict[str, list[Rule]]] = {
    1: {
        "page_view": [_needs_page_url],
        "view_item_list": [_needs_items],
        "select_item": [_needs_items],
        "view_item": [_needs_items],
        "search": [_needs_params("search_term")],
        "add_to_cart": [_needs_items],
        "remove_from_cart": [_needs_items],
        "begin_checkout": [_needs_items],
        "purchase": [_needs_params("transaction_id"), _money, _needs_items],
        "refund": [_needs_params("transaction_id"), _money],
        "view_promotion": [],
        "select_promotion": [],
        "ask_question": [_needs_items],
        "write_review": [_needs_items, _rating_in_range],
    }
}


def _rule_reasons(event: EventV1, version: int) -> list[str]:
    return [reason for rule in RULES[version].get(event.event_name, []) for reason in rule(event)]


def _normalised(raw: dict, dumped: dict[str, Any]) -> dict[str, Any]:
    dumped["extra"] = {key: value for key, value in raw.items() if key not in KNOWN_FIELDS}
    return dumped


_BATCH = TypeAdapter(list[EventV1])
_KNOWN_IN_EACH = {"__all__": set(KNOWN_FIELDS)}
_INCLUDE_KNOWN = set(KNOWN_FIELDS)  # what ``model_dump(include=...)`` is typed to take


def validate_events(
    raws: list[Any], *, version: int = SCHEMA_VERSION
) -> list[tuple[dict | None, list[str]]]:
    """``validate_event`` for each event of a batch, in order.

    A batch of valid events (the usual case) is validated and normalised in two calls
    into pydantic-core instead of two per event, which is most of what collecting costs;
    a batch with any invalid event is validated one event at a time for the reasons.
    """
    if raws and all(isinstance(raw, dict) for raw in raws):
        try:
            events = _BATCH.validate_python(raws)
        except ValidationError:
            pass
        else:
            dumped = _BATCH.dump_python(events, mode="json", include=_KNOWN_IN_EACH)
            results: list[tuple[dict | None, list[str]]] = []
            for raw, event, normalised in zip(raws, events, dumped, strict=True):
                reasons = _rule_reasons(event, version)
                results.append((None, reasons) if reasons else (_normalised(raw, normalised), []))
            return results
    return [validate_event(raw, version=version) for raw in raws]


def _message(error: ErrorDetails) -> str:
    if error["type"] == "string_pattern_mismatch" and error["loc"][-1] in ID_FIELDS:
        return NOT_AN_ID
    return error["msg"]


def validate_event(raw: Any, *, version: int = SCHEMA_VERSION) -> tuple[dict | None, list[str]]:
    """Return (normalised event, []) or (None, reasons). Never raises for bad input."""
    if not isinstance(raw, dict):
        return None, ["event: must be a JSON object"]
    try:
        event = EventV1.model_validate(raw)
    except ValidationError as exc:
        return None, [
            f"{'.'.join(str(part) for part in error['loc']) or 'event'}: {_message(error)}"
            for error in exc.errors(include_url=False)
        ]
    reasons = _rule_reasons(event, version)
    if reasons:
        return None, reasons
    return _normalised(raw, event.model_dump(mode="json", include=_INCLUDE_KNOWN)), []


def event_date(event: dict) -> str:
    """The landing-zone partition (``dt=``) of a normalised event: its UTC date."""
    return datetime.fromisoformat(event["event_time"]).astimezone(UTC).date().isoformat()
