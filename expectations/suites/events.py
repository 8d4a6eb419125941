"""The raw clickstream suite, generated from the collector's event JSON schema.

The schema (``EventV1.model_json_schema()``, passed in by orchestration) already says which
fields are required, the event names, id formats and patterns, lengths and the item
shape; every one of those becomes an expectation here, so the warehouse and the
collector can never disagree on what a valid event is. Only what the schema cannot say
is written by hand: event time against ``received_at``, the partition date.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import great_expectations as gx

from expectations.suites.common import (
    MIN_BAD_ROWS_FOR_ERROR,
    UUID_PATTERN,
    new_suite,
    row_rule,
    unexpected_rows,
)

BUILDER_VERSION = 1
NAME = "raw_events"
# Columns of raw.events that are top-level scalar fields of the event.
SCALAR_COLUMNS = ("event_id", "event_name", "event_time", "client_id", "user_id", "session_id")
DEFAULT_FUTURE_SKEW = timedelta(minutes=15)
DEFAULT_MAX_BAD_SHARE = 0.1


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The node itself, or what its ``$ref`` / nullable ``anyOf`` stands for."""
    if "$ref" in node:
        return _resolve(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    for option in node.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(schema, option)
    return node


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_rules(schema: dict[str, Any]) -> list[Any]:
    required = set(schema.get("required", []))
    rules: list[Any] = []
    for column in SCALAR_COLUMNS:
        node = _resolve(schema, schema["properties"][column])
        if column in required:
            rules.append(
                row_rule(
                    gx.expectations.ExpectColumnValuesToNotBeNull,
                    f"{column}_present",
                    f"{column} is required",
                    column=column,
                )
            )
        if "enum" in node:
            rules.append(
                row_rule(
                    gx.expectations.ExpectColumnValuesToBeInSet,
                    f"{column}_known",
                    f"{column} is one of the schema's values",
                    column=column,
                    value_set=list(node["enum"]),
                )
            )
        pattern = UUID_PATTERN if node.get("format") == "uuid" else node.get("pattern")
        if pattern:
            rules.append(
                row_rule(
                    gx.expectations.ExpectColumnValuesToMatchRegex,
                    f"{column}_well_formed",
                    f"{column} matches {pattern}",
                    column=column,
                    regex=pattern,
                )
            )
        if "minLength" in node or "maxLength" in node:
            rules.append(
                row_rule(
                    gx.expectations.ExpectColumnValueLengthsToBeBetween,
                    f"{column}_length",
                    f"{column} length within the schema's bounds",
                    column=column,
                    min_value=node.get("minLength"),
                    max_value=node.get("maxLength"),
                )
            )
    return rules


def item_failure_sql(schema: dict[str, Any], items: str = "items") -> str:
    """SQL true when any item of the JSON array ``items`` breaks the schema's item.

    The array is parsed once into structs of text fields (``json_transform``; an element
    that is not an object becomes all nulls), then one lambda checks each item: parsing
    the JSON again per field or per item cost several times more on millions of events."""
    node = _resolve(schema, schema["properties"]["items"]["items"])
    shape = {field: "VARCHAR" for field in node["properties"]}
    parts = []
    for field, spec in node["properties"].items():
        prop = _resolve(schema, spec)
        value = f'it."{field}"'
        kind = prop.get("type")
        if field in node.get("required", []):
            parts.append(f"{value} is null")
        if kind == "string":
            if "pattern" in prop:
                parts.append(f"not regexp_matches({value}, {_sql_string(prop['pattern'])})")
            if "minLength" in prop:
                parts.append(f"length({value}) < {int(prop['minLength'])}")
            if "maxLength" in prop:
                parts.append(f"length({value}) > {int(prop['maxLength'])}")
        elif kind in ("number", "integer"):
            number = f"try_cast({value} as double)"
            parts.append(f"({value} is not null and {number} is null)")
            if "minimum" in prop:
                parts.append(f"{number} < {prop['minimum']}")
            if "maximum" in prop:
                parts.append(f"{number} > {prop['maximum']}")
    failing = " or ".join(f"coalesce({part}, false)" for part in parts)
    transformed = f"json_transform({items}, {_sql_string(json.dumps([shape]))})"
    return f"len(list_filter({transformed}, lambda it: {failing})) > 0"


def events_suite(
    schema: dict[str, Any],
    *,
    future_skew: timedelta = DEFAULT_FUTURE_SKEW,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
) -> Any:
    """The ``raw_events`` suite for the event JSON schema ``schema``.

    ``future_skew``: how far ahead of ``received_at`` an event time may be (a client clock
    a little ahead); lateness is legitimate (offline queues, imports of old datasets).
    ``max_bad_share``: above this share of quarantined rows the check is an error.
    """
    items = schema["properties"]["items"]
    max_items = items.get("maxItems")
    item_check = item_failure_sql(schema)
    too_many = f" or json_array_length(items) > {int(max_items)}" if max_items else ""
    seconds = int(future_skew.total_seconds())
    expectations = [
        *_column_rules(schema),
        unexpected_rows(
            "items_well_formed",
            "items is an array of items as the schema defines them",
            f"items is not null and (json_type(items) <> 'ARRAY'{too_many} or {item_check})",
        ),
        unexpected_rows(
            "event_time_not_ahead",
            f"event_time at most {seconds} s after received_at",
            f"event_time > received_at + to_seconds({seconds})",
        ),
        unexpected_rows(
            "event_date_matches_time",
            "event_date (the dt= partition) is the UTC date of event_time",
            "event_date <> cast(timezone('UTC', event_time) as date)",
        ),
    ]
    return new_suite(
        NAME,
        BUILDER_VERSION,
        expectations,
        max_bad_share=max_bad_share,
        min_bad_rows=MIN_BAD_ROWS_FOR_ERROR,
    )
