"""The event v1 schema: per-name rules, unknown fields kept in ``extra``, partitions."""

from __future__ import annotations

import pytest

from shop_api.tracking.events import (
    ENTITY_ID_PATTERN,
    EVENT_NAMES,
    NOT_AN_ID,
    EventV1,
    event_date,
    validate_event,
    validate_events,
)
from tests.tracking.conftest import make_event


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_every_name_has_a_valid_form(name: str):
    event, reasons = validate_event(make_event(name))
    assert reasons == []
    assert event is not None and event["event_name"] == name


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("page_view", {"page": None}, "page.url: required for page_view"),
        ("view_item", {"items": []}, "items: at least one item is required"),
        ("add_to_cart", {"items": []}, "items: at least one item is required"),
        ("search", {"params": {}}, "params.search_term: required for search"),
        ("purchase", {"params": {"value": 1, "currency": "USD"}}, "params.transaction_id"),
        ("purchase", {"params": {"transaction_id": "T", "value": -1, "currency": "USD"}},
         "params.value"),
        ("refund", {"params": {"transaction_id": "T", "value": 1, "currency": "dollars"}},
         "params.currency"),
        ("write_review", {"params": {"rating": 6}}, "params.rating"),
        ("ask_question", {"items": []}, "items: at least one item is required"),
    ],
)  # fmt: skip
def test_per_name_rules(name: str, change: dict, reason: str):
    event, reasons = validate_event(make_event(name, **change))
    assert event is None
    assert any(r.startswith(reason) for r in reasons), reasons


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"event_name": "teleport"}, "event_name"),
        ({"event_time": "2024-01-01T10:00:00"}, "event_time"),  # no offset
        ({"client_id": ""}, "client_id"),
        ({"items": [{"item_name": "no id"}]}, "items.0.item_id"),
        ({"items": [{"item_id": "x", "price": -5}]}, "items.0.price"),
    ],
)
def test_shape_errors_name_the_field(change: dict, field: str):
    event, reasons = validate_event(make_event("view_item", **change))
    assert event is None
    assert any(reason.startswith(field) for reason in reasons), reasons


def test_not_an_object():
    assert validate_event(["a"]) == (None, ["event: must be a JSON object"])


def test_unknown_fields_are_kept_in_extra():
    raw = make_event("page_view", experiment={"arm": "B"}, consent="granted")
    raw["page"]["scroll_depth"] = 80  # nested unknowns stay where they were sent
    event, _ = validate_event(raw)
    assert event is not None
    assert event["extra"] == {"experiment": {"arm": "B"}, "consent": "granted"}
    assert event["page"]["scroll_depth"] == 80
    assert "experiment" not in event


def test_partition_is_the_utc_date():
    event, _ = validate_event(make_event(event_time="2024-03-01T22:30:00-03:00"))
    assert event is not None
    assert event_date(event) == "2024-03-02"


@pytest.mark.parametrize(
    "breakage",
    [
        {},  # every event valid: the batch path
        {"event_id": "not-a-uuid"},  # one fails the shape: one event at a time
        {"items": []},  # one fails a per-name rule only
    ],
)
def test_a_batch_validates_exactly_like_its_events_one_by_one(breakage: dict):
    batch = [make_event(name, extra_field=index) for index, name in enumerate(EVENT_NAMES)]
    batch[3] = {**batch[3], **breakage}

    assert validate_events(batch) == [validate_event(raw) for raw in batch]


def test_a_batch_may_hold_things_that_are_not_events():
    batch = [make_event("page_view"), "page_view", None]

    results = validate_events(batch)

    assert results[0][1] == []
    assert results[1:] == [(None, ["event: must be a JSON object"])] * 2


@pytest.mark.parametrize(
    "entity_id",
    [
        "5f0c6a52-2d0e-4f7e-9c1b-6d3f2b8a9e10",  # a shop id
        "diginetica:123",  # an imported dataset's id under its prefix
        "online_retail:85123A",  # the value after the prefix is kept as the dataset has it
        "online_retail:BANK CHARGES",
        "demo:film-camera",
    ],
)
def test_user_and_item_ids_are_shop_uuids_or_prefixed_dataset_ids(entity_id: str):
    event, reasons = validate_event(
        make_event("view_item", user_id=entity_id, items=[{"item_id": entity_id}])
    )
    assert reasons == []
    assert event is not None
    assert (event["user_id"], event["items"][0]["item_id"]) == (entity_id, entity_id)


@pytest.mark.parametrize(
    "entity_id",
    [
        "demo-1",  # what the demo page used to send
        "123",  # a dataset id without its prefix
        "online-retail:1",  # prefixes are lowercase letters, digits and underscores
        "Diginetica:1",
        "5F0C6A52-2D0E-4F7E-9C1B-6D3F2B8A9E10",  # not canonical: uppercase
        "5f0c6a522d0e4f7e9c1b6d3f2b8a9e10",  # not canonical: no dashes
        "diginetica:",
        "diginetica: 1",
        "diginetica:1 ",
        "diginetica:1\n2",
        "diginetica:1\t2",
        "",
    ],
)
def test_other_ids_are_rejected_with_a_reason_naming_the_rule(entity_id: str):
    for field, change in (
        ("items.0.item_id", {"items": [{"item_id": entity_id}]}),
        ("user_id", {"user_id": entity_id}),
    ):
        event, reasons = validate_event(make_event("view_item", **change))
        assert event is None
        assert reasons == [f"{field}: {NOT_AN_ID}"]


def test_the_id_rule_is_part_of_the_event_json_schema():
    schema = EventV1.model_json_schema()
    item_id = schema["$defs"]["Item"]["properties"]["item_id"]
    user_id = next(s for s in schema["properties"]["user_id"]["anyOf"] if s["type"] == "string")
    assert item_id["pattern"] == user_id["pattern"] == ENTITY_ID_PATTERN
