"""``GET /me/export``, the right of access: everything the shop holds about the caller,
as one JSON download, and nothing about anybody else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Actor, Factory, assert_error
from tests.tracking.conftest import make_event

SECTIONS = {
    "exported_at", "account", "consents", "orders", "payments", "shipments", "questions",
    "reviews", "listings", "notifications", "messages", "events",
}  # fmt: skip


def export(client: TestClient, actor: Actor) -> dict[str, Any]:
    response = client.get("/me/export", headers=actor.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="mercado-' in disposition
    return json.loads(response.content)


def shopper_story(client: TestClient, factory: Factory, seller: Actor) -> dict[str, Any]:
    """A shopper who gave a phone and consented, asked, bought, got it delivered, reviewed
    and browsed."""
    shopper = factory.user(ad_consent=True, phone="+5511912345678")
    listing = factory.listing(seller, title="Folding bicycle", stock=5)
    question = factory.question(shopper, listing["id"], "Does it fold small enough?")
    order = factory.delivered_order(shopper, seller, [listing])
    review = factory.review(shopper, order, title="Folds well", body="Rides fine too.")
    page = {"url": "https://shop.example/bikes", "referrer": None, "title": "Bikes"}
    event = make_event(page=page, user_id=str(shopper.id))
    accepted = client.post("/collect", json={"events": [event]}, headers=shopper.headers)
    assert accepted.json()["accepted"] == [event["event_id"]]
    client.post("/auth/password-reset", json={"email": shopper.email})
    return {
        "actor": shopper,
        "listing": listing,
        "question": question,
        "order": order,
        "review": review,
        "event": event,
    }


class TestAccess:
    def test_anonymous(self, client: TestClient):
        assert_error(client.get("/me/export"), 401, "unauthorized")

    def test_erased_account(self, client: TestClient, factory: Factory):
        person = factory.user()
        assert client.delete("/me", headers=person.headers).status_code == 204

        assert_error(client.get("/me/export", headers=person.headers), 401, "unauthorized")


class TestContent:
    def test_everything_about_the_caller(self, client: TestClient, factory: Factory, seller: Actor):
        story = shopper_story(client, factory, seller)
        actor: Actor = story["actor"]

        data = export(client, actor)

        assert set(data) == SECTIONS
        assert data["account"]["id"] == str(actor.id)
        assert data["account"]["email"] == actor.email
        assert "password_hash" not in data["account"]
        assert data["account"]["phone"] == "+5511912345678"
        assert data["account"]["ad_user_data_consent"] is True
        assert data["account"]["ad_personalization_consent"] is True
        assert sorted((c["purpose"], c["granted"], c["source"]) for c in data["consents"]) == [
            ("ad_personalization", True, "signup"),
            ("ad_user_data", True, "signup"),
        ]
        [order] = data["orders"]
        assert order["id"] == story["order"]["id"]
        assert order["status"] == "delivered"
        assert order["shipping_address"]["line1"] == story["order"]["shipping_address"]["line1"]
        assert [item["title"] for item in order["items"]] == ["Folding bicycle"]
        [payment] = data["payments"]
        assert (payment["order_id"], payment["status"]) == (order["id"], "succeeded")
        assert payment["card_last4"] == "4242"
        [shipment] = data["shipments"]
        assert shipment["order_id"] == order["id"] and shipment["status"] == "delivered"
        [question] = data["questions"]
        assert question["body"] == "Does it fold small enough?"
        [review] = data["reviews"]
        assert (review["title"], review["body"], review["rating"]) == (
            "Folds well", "Rides fine too.", 5,
        )  # fmt: skip
        kinds = {n["kind"] for n in data["notifications"]}
        assert {"order_paid", "order_shipped", "order_delivered"} <= kinds
        [message] = data["messages"]
        assert message["kind"] == "password_reset" and message["recipient"] == actor.email
        assert "body" not in message, "a reset link is not handed out again"
        assert story["event"]["event_id"] in {e["event_id"] for e in data["events"]}
        assert all(e["user_id"] == str(actor.id) for e in data["events"])
        assert data["listings"] == []

    def test_a_sellers_listings(self, client: TestClient, factory: Factory, seller: Actor):
        listing = factory.listing(seller, title="Tandem")

        data = export(client, seller)

        assert [(x["id"], x["title"]) for x in data["listings"]] == [(listing["id"], "Tandem")]


def test_nothing_about_anybody_else(client: TestClient, factory: Factory, seller: Actor):
    first = shopper_story(client, factory, seller)
    second = shopper_story(client, factory, seller)

    exports = {
        "first": json.dumps(export(client, first["actor"])),
        "second": json.dumps(export(client, second["actor"])),
    }

    for mine, theirs in (("first", second), ("second", first)):
        text = exports[mine]
        for trace in (
            str(theirs["actor"].id),
            theirs["actor"].email,
            theirs["order"]["id"],
            theirs["question"]["id"],
            theirs["review"]["id"],
            theirs["event"]["event_id"],
        ):
            assert trace not in text, (mine, trace)


@pytest.mark.parametrize("who", ["seller", "shopper"])
def test_the_seller_of_an_order_does_not_get_the_buyers_part(
    client: TestClient, factory: Factory, seller: Actor, who: str
):
    story = shopper_story(client, factory, seller)

    data = export(client, seller if who == "seller" else story["actor"])

    order_ids = {order["id"] for order in data["orders"]}
    if who == "seller":
        assert order_ids == set(), "a sale is not the seller's personal data as a buyer"
        assert story["actor"].email not in json.dumps(data)
    else:
        assert order_ids == {story["order"]["id"]}
