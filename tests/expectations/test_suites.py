"""The suites are generated from the rules that exist elsewhere, and their SQL form fails
exactly the rows GE itself fails."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from expectations.contracts import TableContract
from expectations.runner import validate_frame
from expectations.sql import failing_predicate, row_rules
from expectations.suites.events import events_suite
from expectations.suites.shop import shop_suite
from shop_api.tracking.events import EVENT_NAMES, EventV1

CONTRACT = TableContract(
    table="shop_things",
    key=("id",),
    enums={"status": ("new", "done")},
    money=("price_minor",),
    references={},
)


def _events_suite():
    return events_suite(EventV1.model_json_schema())


def test_event_names_come_from_the_collector_schema() -> None:
    suite = _events_suite()
    [known] = [e for e in suite.expectations if e.meta["check"] == "event_name_known"]
    assert tuple(known.value_set) == EVENT_NAMES


def test_the_collectors_id_pattern_becomes_a_rule() -> None:
    schema = EventV1.model_json_schema()
    pattern = schema["properties"]["user_id"]["anyOf"][0]["pattern"]
    [rule] = [
        e for e in events_suite(schema).expectations if e.meta["check"] == "user_id_well_formed"
    ]
    assert rule.regex == pattern
    del schema["properties"]["user_id"]["anyOf"][0]["pattern"]
    assert "user_id_well_formed" not in {e.meta["check"] for e in events_suite(schema).expectations}


def test_the_suite_version_follows_its_rules() -> None:
    schema = EventV1.model_json_schema()
    before = events_suite(schema).meta["version"]
    assert events_suite(schema).meta["version"] == before
    schema["properties"]["event_name"]["enum"].append("new_event")
    assert events_suite(schema).meta["version"] != before


def test_shop_suite_follows_the_contract() -> None:
    checks = {e.meta["check"] for e in shop_suite(CONTRACT).expectations}
    assert checks == {"id_present", "key_unique", "price_minor_not_negative", "status_known"}


def test_sql_rules_fail_the_rows_ge_fails() -> None:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", None, "d", "e"],
            "status": ["new", "lost", "done", None, "done"],
            "price_minor": [100, -1, 0, 5, None],
        }
    )
    suite = shop_suite(CONTRACT)
    by_ge = {o.check: o.unexpected_count for o in validate_frame(suite, frame)}
    conn = duckdb.connect()
    conn.register("frame", frame)
    for expectation in suite.expectations:
        if not expectation.meta.get("row_level"):
            continue
        predicate = failing_predicate(expectation)
        in_sql = conn.execute(
            f"select count(*) from frame where coalesce(({predicate}), false)"
        ).fetchall()[0][0]
        assert in_sql == by_ge[expectation.meta["check"]], expectation.meta["check"]
    assert by_ge == {
        "id_present": 1,
        "key_unique": 0,
        "price_minor_not_negative": 1,
        "status_known": 1,
    }


@pytest.mark.parametrize(
    ("change", "failing_check"),
    [
        ({"event_name": "bogus"}, "event_name_known"),
        ({"event_id": "not-a-uuid"}, "event_id_well_formed"),
        ({"items": '[{"item_id": "demo:x", "price": -5}]'}, "items_well_formed"),
        ({"items": '[{"price": 5}]'}, "items_well_formed"),
        ({"items": '[{"item_id": "demo-1", "price": 5}]'}, "items_well_formed"),
        ({"items": '[{"item_id": "demo:a"}, {"item_id": null}]'}, "items_well_formed"),
        ({"items": '[{"item_id": "demo:a"}, {"price": 1}]'}, "items_well_formed"),
        ({"items": '[{"item_id": "demo:a", "quantity": "many"}]'}, "items_well_formed"),
        ({"items": '[{"item_id": "demo:a", "quantity": 100001}]'}, "items_well_formed"),
        ({"items": "[1, 2]"}, "items_well_formed"),
        ({"user_id": "demo-user"}, "user_id_well_formed"),
        ({"items": '{"item_id": "demo:x"}'}, "items_well_formed"),
        ({"event_time": "2026-06-01 13:00:00+00"}, "event_time_not_ahead"),
        ({"event_date": "2026-06-02"}, "event_date_matches_time"),
    ],
)
def test_event_rules_in_sql(change: dict[str, str], failing_check: str) -> None:
    row = {
        "event_id": "0b8e4a3c-2f0e-4f4c-9d55-2f3b1b1c7a10",
        "event_name": "view_item",
        "event_time": "2026-06-01 12:00:00+00",
        "received_at": "2026-06-01 12:00:05+00",
        "client_id": "c1",
        "user_id": None,
        "session_id": "s1",
        "items": '[{"item_id": "demo:film-camera", "price": 5, "quantity": 1}]',
        "event_date": "2026-06-01",
    }
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")

    def failing(values: dict[str, str | None]) -> set[str]:
        conn.execute(
            "create or replace table events as select ?::varchar as event_id, "
            "?::varchar as event_name, ?::timestamptz as event_time, "
            "?::timestamptz as received_at, ?::varchar as client_id, ?::varchar as user_id, "
            "?::varchar as session_id, ?::json as items, ?::date as event_date",
            list(values.values()),
        )
        return {
            rule.check
            for rule in row_rules(_events_suite())
            if conn.execute(f"select count(*) from events where {rule.failing}").fetchall()[0][0]
        }

    assert failing(row) == set()
    assert failing({**row, **change}) == {failing_check}
