"""POST /collect: accepted and rejected events, quarantine, limits and the privacy rule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from shop_api.tracking.events import NOT_AN_ID
from shop_api.tracking.ratelimit import TokenBuckets
from shop_api.tracking.service import Tracking
from tests.factories import Actor, Factory, assert_error
from tests.tracking.conftest import Lake, make_event


def collect(client: TestClient, events: list, **kwargs) -> dict:
    response = client.post("/collect", json={"events": events}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


class TestBatch:
    def test_valid_and_invalid_events(self, client: TestClient, lake: Lake):
        good = make_event("view_item", experiment="B")
        bad = make_event("search", params={})
        junk = "not an event"

        body = collect(client, [good, bad, junk])

        assert body["accepted"] == [good["event_id"]]
        assert body["rejected"] == [
            {"index": 1, "event_id": bad["event_id"],
             "reasons": ["params.search_term: required for search"]},
            {"index": 2, "event_id": None, "reasons": ["event: must be a JSON object"]},
        ]  # fmt: skip
        stored = lake.by_id(good["event_id"])
        assert stored["extra"] == {"experiment": "B"}
        assert stored["schema_version"] == 1
        assert datetime.fromisoformat(stored["received_at"]) <= datetime.now(UTC)
        quarantined = [r for r in lake.rejects() if r["event"] in (bad, junk)]
        assert len(quarantined) == 2
        assert {r["source"] for r in quarantined} == {"collect"}
        assert all(r["reasons"] for r in quarantined)

    def test_an_item_id_outside_the_id_rule_is_quarantined_with_the_reason(
        self, client: TestClient, lake: Lake
    ):
        """What the demo page used to send: it must never reach the warehouse's tables."""
        poison = make_event("add_to_cart", items=[{"item_id": "demo-1", "price": 120.0}])
        good = make_event("add_to_cart")

        body = collect(client, [poison, good])

        assert body["accepted"] == [good["event_id"]]
        assert body["rejected"] == [
            {"index": 0, "event_id": poison["event_id"],
             "reasons": [f"items.0.item_id: {NOT_AN_ID}"]},
        ]  # fmt: skip
        [quarantined] = [
            r for r in lake.rejects()
            if isinstance(r["event"], dict) and r["event"].get("event_id") == poison["event_id"]
        ]  # fmt: skip
        assert quarantined["reasons"] == [f"items.0.item_id: {NOT_AN_ID}"]
        assert poison["event_id"] not in {e["event_id"] for e in lake.events()}

    def test_a_beacon_body_sent_as_text_is_accepted(self, client: TestClient, lake: Lake):
        event = make_event()
        response = client.post(
            "/collect",
            content=json.dumps({"events": [event]}),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
        )
        assert response.status_code == 200, response.text
        assert lake.by_id(event["event_id"])["client_id"] == event["client_id"]

    def test_an_empty_batch(self, client: TestClient):
        assert collect(client, []) == {"accepted": [], "rejected": []}

    @pytest.mark.parametrize(
        "body", [b"{not json", b'["events"]', b'{"events": {"a": 1}}', b'{"events": [NaN]}']
    )
    def test_a_body_that_is_not_a_batch(self, client: TestClient, body: bytes):
        response = client.post("/collect", content=body)
        assert_error(response, 422, "validation_error")


class TestTime:
    def test_events_too_far_ahead_or_too_old_are_rejected(self, client: TestClient, lake: Lake):
        now = datetime.now(UTC)
        ahead = make_event(event_time=(now + timedelta(minutes=11)).isoformat())
        old = make_event(event_time=(now - timedelta(days=8)).isoformat())
        late = make_event(event_time=(now - timedelta(days=5)).isoformat())
        slightly_ahead = make_event(event_time=(now + timedelta(minutes=5)).isoformat())

        body = collect(client, [ahead, old, late, slightly_ahead])

        assert body["accepted"] == [late["event_id"], slightly_ahead["event_id"]]
        reasons = {r["event_id"]: r["reasons"] for r in body["rejected"]}
        assert "in the future" in reasons[ahead["event_id"]][0]
        assert "older than 7 days" in reasons[old["event_id"]][0]
        assert any(r["event"] == old for r in lake.rejects())

    def test_a_late_event_lands_in_its_own_date(self, client: TestClient, tracking: Tracking):
        late = make_event(event_time=(datetime.now(UTC) - timedelta(days=3)).isoformat())
        collect(client, [late])
        tracking.sink.flush()
        day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
        in_partition = [
            json.loads(line)["event_id"]
            for path in (tracking.zone.root / "events" / f"dt={day}").glob("part-*.jsonl")
            for line in path.read_text().splitlines()
        ]
        assert late["event_id"] in in_partition


class TestPrivacy:
    def test_user_id_without_a_token_is_removed(self, client: TestClient, lake: Lake):
        event = make_event(user_id=str(uuid.uuid4()))
        bad = make_event("search", params={}, user_id=event["user_id"])
        collect(client, [event, bad])
        assert lake.by_id(event["event_id"])["user_id"] is None
        [reject] = [
            r for r in lake.rejects()
            if isinstance(r["event"], dict) and r["event"].get("event_id") == bad["event_id"]
        ]  # fmt: skip
        assert reject["event"]["user_id"] is None

    def test_an_unverified_user_id_is_removed_even_when_it_is_not_an_id(
        self, client: TestClient, lake: Lake
    ):
        event = make_event("view_item", user_id="Demo User")
        assert collect(client, [event])["accepted"] == [event["event_id"]]
        assert lake.by_id(event["event_id"])["user_id"] is None

    def test_user_id_of_the_token_holder_is_kept(
        self, client: TestClient, lake: Lake, shopper: Actor
    ):
        mine = make_event(user_id=str(shopper.id).upper())
        anonymous = make_event()
        collect(client, [mine, anonymous], headers=shopper.headers)
        assert lake.by_id(mine["event_id"])["user_id"] == str(shopper.id)
        assert lake.by_id(anonymous["event_id"])["user_id"] is None  # never filled in

    def test_someone_elses_user_id_is_removed(
        self, client: TestClient, lake: Lake, shopper: Actor, factory: Factory
    ):
        other = factory.user()
        event = make_event(user_id=str(other.id))
        collect(client, [event], headers=shopper.headers)
        assert lake.by_id(event["event_id"])["user_id"] is None

    def test_an_invalid_token_makes_the_batch_anonymous(
        self, client: TestClient, lake: Lake, shopper: Actor
    ):
        event = make_event(user_id=str(shopper.id))
        collect(client, [event], headers={"Authorization": "Bearer not-a-token"})
        assert lake.by_id(event["event_id"])["user_id"] is None

    def test_ip_fields_are_not_stored(self, client: TestClient, lake: Lake):
        event = make_event(ip="203.0.113.9", context={"locale": "pt-BR", "ip": "203.0.113.9"})
        collect(client, [event])
        stored = lake.by_id(event["event_id"])
        assert "203.0.113.9" not in json.dumps(stored)
        assert stored["context"]["locale"] == "pt-BR"


class TestLimits:
    def test_more_than_500_events_is_413(self, client: TestClient):
        response = client.post("/collect", json={"events": [make_event()] * 501})
        assert_error(response, 413, "payload_too_large")

    def test_more_than_a_megabyte_is_413(self, client: TestClient):
        event = make_event(params={"blob": "x" * (1024 * 1024)})
        response = client.post("/collect", json={"events": [event]})
        assert_error(response, 413, "payload_too_large")

    def test_a_client_over_its_rate_gets_429(
        self, client: TestClient, tracking: Tracking, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setattr(tracking, "buckets", TokenBuckets(rate=1.0, burst=10))
        noisy = f"c-{uuid.uuid4().hex}"

        collect(client, [make_event(client_id=noisy) for _ in range(10)])
        response = client.post("/collect", json={"events": [make_event(client_id=noisy)] * 5})

        error = assert_error(response, 429, "rate_limited")
        assert error["message"]
        assert 1 <= int(response.headers["Retry-After"]) <= 5
        # Other addresses are not affected: see test_collect_rate_limit.py.


def test_token_buckets_refill():
    now = [0.0]
    buckets = TokenBuckets(rate=10.0, burst=20, clock=lambda: now[0])
    assert buckets.take("a", 20).wait == 0.0
    refused = buckets.take("a", 5)
    assert (refused.wait, refused.remaining) == (pytest.approx(0.5), 0)
    now[0] += 0.5
    assert buckets.take("a", 5).admitted
    assert buckets.take("a", 500).wait > 0  # charged as a full bucket, admitted when refilled
    now[0] += 2.0
    admitted = buckets.take("a", 500)
    assert (admitted.wait, admitted.remaining, admitted.full_in) == (0.0, 0, pytest.approx(2.0))
    now[0] += 1.0
    assert buckets.take("b", 4).remaining == 16  # each key its own bucket
