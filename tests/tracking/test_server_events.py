"""Server-side events: what the API witnesses lands in the lake through the same writer."""

from __future__ import annotations

import contextlib
import json
import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import SystemClock
from shop_api.models.outbox import OutboxEvent
from shop_api.tracking.dispatch import dispatch_outbox
from shop_api.tracking.outbox import record_event
from shop_api.tracking.service import Tracking
from tests.factories import Actor, Factory, unique_email, unique_word
from tests.tracking.conftest import Lake


def test_search_records_the_term_and_result_count(
    client: TestClient, factory: Factory, seller: Actor, shopper: Actor, lake: Lake
):
    word = unique_word()
    for _ in range(2):
        factory.listing(seller, title=f"Camera {word}")
    device = f"dev-{uuid.uuid4().hex[:8]}"

    response = client.get(
        "/listings", params={"q": word}, headers={**shopper.headers, "X-Client-Id": device}
    )

    assert response.status_code == 200
    [event] = [e for e in lake.server_events("search") if e["params"]["search_term"] == word]
    assert event["params"]["result_count"] == 2
    assert event["client_id"] == device
    assert event["user_id"] == str(shopper.id)


def test_anonymous_search_gets_a_derived_client_id_and_no_ip(client: TestClient, lake: Lake):
    word = unique_word()
    for _ in range(2):  # TestClient's address is "testclient"
        client.get("/listings", params={"q": word}, headers={"User-Agent": "agent-x"})

    events = [e for e in lake.server_events("search") if e["params"]["search_term"] == word]
    assert len(events) == 2
    assert events[0]["user_id"] is None
    assert events[0]["client_id"].startswith("srv-")
    assert events[0]["client_id"] == events[1]["client_id"]  # stable for the caller
    assert "testclient" not in json.dumps(events)  # the caller's address is not stored


def test_browsing_without_keywords_is_not_a_search(client: TestClient, lake: Lake):
    before = len(lake.server_events("search"))
    client.get("/listings", params={"sort": "newest"})
    assert len(lake.server_events("search")) == before


def test_view_item_reuses_the_pages_event_id(
    client: TestClient, factory: Factory, seller: Actor, lake: Lake
):
    listing = factory.listing(seller, price_minor=4_990)
    event_id = str(uuid.uuid4())

    response = client.get(
        f"/listings/{listing['id']}", headers={"X-Event-Id": event_id, "X-Session-Id": "s-42"}
    )

    assert response.status_code == 200
    event = lake.by_id(event_id)
    assert event["event_name"] == "view_item"
    assert event["session_id"] == "s-42"
    assert event["items"][0]["item_id"] == listing["id"]
    assert event["items"][0]["price"] == 49.9
    assert event["params"] == {"currency": "USD", "value": 49.9}


def test_a_signed_in_users_server_client_id_is_stable(
    client: TestClient, factory: Factory, seller: Actor, shopper: Actor, lake: Lake
):
    listing = factory.listing(seller)
    for _ in range(2):
        client.get(f"/listings/{listing['id']}", headers=shopper.headers)
    events = lake.server_events("view_item", user_id=str(shopper.id))
    assert len(events) == 2
    assert len({event["client_id"] for event in events}) == 1


def test_shopping_path_events(
    client: TestClient, factory: Factory, seller: Actor, shopper: Actor, lake: Lake
):
    listing = factory.listing(seller, price_minor=2_000)
    order = factory.order(shopper, [listing], quantity=2)
    factory.question(shopper, listing["id"])

    [added] = lake.server_events("add_to_cart", user_id=str(shopper.id))
    assert added["items"][0] | {"quantity": 2} == added["items"][0]
    assert added["params"] == {"currency": "USD", "value": 40.0}
    [checkout] = lake.server_events("begin_checkout", user_id=str(shopper.id))
    assert checkout["params"]["transaction_id"] == order["id"]
    assert checkout["items"][0]["item_id"] == listing["id"]
    [asked] = lake.server_events("ask_question", user_id=str(shopper.id))
    assert asked["items"][0]["item_id"] == listing["id"]
    assert asked["items"][0]["item_name"] == listing["title"]


def test_replayed_checkout_is_not_a_second_begin_checkout(
    client: TestClient, factory: Factory, seller: Actor, shopper: Actor, lake: Lake
):
    listing = factory.listing(seller)
    client.post("/cart/items", json={"listing_id": listing["id"]}, headers=shopper.headers)
    request = {
        "json": {"shipping_address": {"name": "A", "line1": "B", "city": "C",
                                      "postal_code": "1", "country": "BR"}},
        "headers": {**shopper.headers, "Idempotency-Key": uuid.uuid4().hex},
    }  # fmt: skip
    assert client.post("/checkout", **request).status_code == 201
    assert client.post("/checkout", **request).status_code == 200
    assert len(lake.server_events("begin_checkout", user_id=str(shopper.id))) == 1


def test_sign_up_and_login(client: TestClient, lake: Lake):
    email, password = unique_email(), "correct horse battery"
    signed_up = client.post(
        "/auth/signup", json={"email": email, "password": password, "display_name": "Ana"}
    )
    assert signed_up.status_code == 201, signed_up.text
    user_id = signed_up.json()["id"]
    logged_in = client.post(
        "/auth/token", data={"username": email, "password": password},
        headers={"X-Client-Id": "device-1"},
    )  # fmt: skip
    assert logged_in.status_code == 200

    [sign_up] = lake.server_events("sign_up", user_id=user_id)
    assert sign_up["params"] == {"method": "password", "role": "shopper"}
    [login] = lake.server_events("login", user_id=user_id)
    assert login["client_id"] == "device-1"
    assert email not in json.dumps([sign_up, login])


def test_purchase_goes_through_the_outbox(
    factory: Factory, seller: Actor, shopper: Actor, lake: Lake, db: Session
):
    listing = factory.listing(seller)
    order = factory.paid_order(shopper, [listing])  # settles: runs the outbox drain

    [purchase] = [
        e for e in lake.events()
        if e["event_name"] == "purchase" and e["params"]["transaction_id"] == order["id"]
    ]  # fmt: skip
    row = db.scalar(select(OutboxEvent).where(OutboxEvent.id == uuid.UUID(purchase["event_id"])))
    assert row is not None and row.dispatched_at is not None
    assert purchase["user_id"] == str(shopper.id)
    assert purchase["client_id"].startswith("srv-")
    assert purchase["items"][0]["item_id"] == listing["id"]


def test_the_drain_is_idempotent_by_event_id(
    app: FastAPI, tracking: Tracking, factory: Factory, shopper: Actor, lake: Lake, db: Session
):
    """A crash between the lake write and the commit writes the row again, same event_id."""

    with app.state.database.sessions() as session:
        row = record_event(
            session, event_name="refund", at=SystemClock().now(), user_id=shopper.id,
            params={"transaction_id": "T-9", "value": 5.0, "currency": "USD"},
        )  # fmt: skip
        session.commit()
        event_id = str(row.id)

    class Crash(Exception):
        pass

    def crash_on_commit(session):  # type: ignore[no-untyped-def]
        raise Crash

    factory_ = app.state.database.sessions
    sa_event.listen(factory_, "before_commit", crash_on_commit)
    try:
        with contextlib.suppress(Crash):
            dispatch_outbox(factory_, tracking)
    finally:
        sa_event.remove(factory_, "before_commit", crash_on_commit)
    while dispatch_outbox(factory_, tracking):
        pass

    copies = [e for e in lake.events() if e["event_id"] == event_id]
    assert len(copies) == 2 and copies[0] == {**copies[1], "received_at": copies[0]["received_at"]}
    assert db.get(OutboxEvent, uuid.UUID(event_id)).dispatched_at is not None


def test_an_invalid_outbox_row_is_quarantined_not_stuck(
    app: FastAPI, tracking: Tracking, lake: Lake, db: Session
):

    with app.state.database.sessions() as session:
        row = record_event(session, event_name="purchase", at=SystemClock().now(),
                           user_id=None, params={})  # fmt: skip
        session.commit()
        event_id = str(row.id)
    while dispatch_outbox(app.state.database.sessions, tracking):
        pass
    [reject] = [
        r for r in lake.rejects()
        if isinstance(r["event"], dict) and r["event"].get("event_id") == event_id
    ]  # fmt: skip
    assert reject["source"] == "outbox"
    assert any("transaction_id" in reason for reason in reject["reasons"])
    assert db.get(OutboxEvent, uuid.UUID(event_id)).dispatched_at is not None
