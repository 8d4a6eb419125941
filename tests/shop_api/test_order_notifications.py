"""Order notifications: the buyer hears when an order is paid, shipped and delivered; each
seller hears of a paid order to ship. Each fact is told once, however often it is reported."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings
from shop_api.jobs import run_until_quiet
from shop_api.models import Notification, NotificationKind, Order
from shop_api.notifications.orders import notify_order_status
from shop_api.notifications.service import notify_once
from shop_api.providers.signing import SIGNATURE_HEADER, sign
from tests.factories import ADDRESS, SUCCESS_CARD, Actor, Factory

ORDER_KINDS = {"order_paid", "order_to_ship", "order_shipped", "order_delivered"}


def notifications(client: TestClient, actor: Actor, order_id: str) -> list[dict[str, Any]]:
    """The actor's order notifications about this order, newest first."""
    response = client.get("/me/notifications", params={"page_size": 100}, headers=actor.headers)
    assert response.status_code == 200, response.text
    return [
        n
        for n in response.json()["data"]
        if n["kind"] in ORDER_KINDS and n["data"].get("order_id") == order_id
    ]


def kinds(client: TestClient, actor: Actor, order_id: str) -> list[str]:
    """Oldest first, as they happened."""
    return [n["kind"] for n in reversed(notifications(client, actor, order_id))]


class Recorder:
    """Delivers the sandboxes' webhooks to the app, keeping each for a second delivery."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.sent: list[tuple[str, bytes]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.sent.append((urlsplit(url).path, body))
        return self.client.post(urlsplit(url).path, content=body, headers=headers).status_code

    def deliver_again(self, settings: Settings) -> list[str]:
        """Every webhook once more, freshly signed as a provider's retry is."""
        secrets = {
            "/webhooks/payments": settings.payments_webhook_secret.get_secret_value(),
            "/webhooks/shipping": settings.shipping_webhook_secret.get_secret_value(),
        }
        outcomes = []
        for path, body in self.sent:
            signature = sign(secrets[path], body, SystemClock().now())
            response = self.client.post(path, content=body, headers={SIGNATURE_HEADER: signature})
            assert response.status_code == 202, response.text
            outcomes.append(response.json()["outcome"])
        return outcomes


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, title="Rangefinder camera", stock=5)


class TestPaid:
    def test_buyer_and_seller_are_told(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor, listing: dict
    ):
        order = factory.paid_order(shopper, [listing])

        [paid] = notifications(client, shopper, order["id"])
        assert paid["kind"] == "order_paid"
        assert paid["read_at"] is None
        assert "Rangefinder camera" in paid["message"]
        [to_ship] = notifications(client, seller, order["id"])
        assert to_ship["kind"] == "order_to_ship"
        assert to_ship["data"] == {"order_id": order["id"], "group_id": order["groups"][0]["id"]}
        assert "Rangefinder camera" in to_ship["message"]

    def test_each_seller_hears_of_their_own_part(
        self,
        client: TestClient,
        factory: Factory,
        shopper: Actor,
        seller: Actor,
        other_seller: Actor,
        listing: dict,
    ):
        other_listing = factory.listing(other_seller, title="Tripod", stock=5)

        order = factory.paid_order(shopper, [listing, other_listing])

        groups = {g["seller_id"]: g["id"] for g in order["groups"]}
        for actor, title, not_title in [
            (seller, "Rangefinder camera", "Tripod"),
            (other_seller, "Tripod", "Rangefinder camera"),
        ]:
            [to_ship] = notifications(client, actor, order["id"])
            assert to_ship["data"]["group_id"] == groups[str(actor.id)]
            assert title in to_ship["message"] and not_title not in to_ship["message"]
        assert kinds(client, shopper, order["id"]) == ["order_paid"]

    def test_sellers_are_not_told_the_buyers_name_or_address(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor, listing: dict
    ):
        order = factory.paid_order(shopper, [listing])

        [to_ship] = notifications(client, seller, order["id"])
        text = f"{to_ship['message']} {to_ship['data']}"
        for personal in (ADDRESS["name"], ADDRESS["line1"], shopper.email, "Test shopper"):
            assert personal not in text

    def test_nobody_is_told_before_payment(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor, listing: dict
    ):
        order = factory.order(shopper, [listing])

        assert notifications(client, shopper, order["id"]) == []
        assert notifications(client, seller, order["id"]) == []


class TestShippedAndDelivered:
    def test_buyer_hears_of_each_step(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor, listing: dict
    ):
        order = factory.delivered_order(shopper, seller, [listing])

        assert kinds(client, shopper, order["id"]) == [
            "order_paid",
            "order_shipped",
            "order_delivered",
        ]
        shipped = notifications(client, shopper, order["id"])[1]
        assert shipped["data"] == {"order_id": order["id"], "status": "shipped"}
        assert kinds(client, seller, order["id"]) == ["order_to_ship"]

    def test_a_parcel_of_two_is_part_of_the_order(
        self,
        client: TestClient,
        factory: Factory,
        shopper: Actor,
        seller: Actor,
        other_seller: Actor,
        listing: dict,
    ):
        other_listing = factory.listing(other_seller, title="Tripod", stock=5)
        order = factory.paid_order(shopper, [listing, other_listing])

        factory.ship_order(seller, order["id"])
        first = [n["data"] for n in notifications(client, shopper, order["id"])]
        factory.ship_order(other_seller, order["id"])
        second = [n["data"] for n in notifications(client, shopper, order["id"])]

        assert first[0] == {"order_id": order["id"], "status": "partially_shipped"}
        assert second[0] == {"order_id": order["id"], "status": "shipped"}
        assert kinds(client, shopper, order["id"]) == [
            "order_paid",
            "order_shipped",
            "order_shipped",
        ]


class TestToldOnce:
    def test_webhooks_delivered_twice(
        self,
        client: TestClient,
        app: FastAPI,
        factory: Factory,
        settings: Settings,
        shopper: Actor,
        seller: Actor,
        listing: dict,
    ):
        recorder = Recorder(client)
        order = factory.order(shopper, [listing])
        started = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers).json()
        client.post(
            started["confirm_url"],
            json={"client_secret": started["client_secret"], "card": SUCCESS_CARD},
        )
        run_until_quiet(app.state, recorder)
        tracking_number = factory.ship_order(seller, order["id"])["tracking_number"]
        for _ in range(3):
            client.post(f"/sandbox/carrier/v1/shipments/{tracking_number}/advance")
            run_until_quiet(app.state, recorder)
        before = (kinds(client, shopper, order["id"]), kinds(client, seller, order["id"]))
        assert before == (["order_paid", "order_shipped", "order_delivered"], ["order_to_ship"])

        outcomes = recorder.deliver_again(settings)

        assert set(outcomes) == {"duplicate"}
        after = (kinds(client, shopper, order["id"]), kinds(client, seller, order["id"]))
        assert after == before

    def test_the_same_fact_reported_twice(
        self,
        client: TestClient,
        app: FastAPI,
        factory: Factory,
        shopper: Actor,
        seller: Actor,
        listing: dict,
    ):
        """Even a path that reports a transition again (a retry, a race) adds nothing."""
        order = factory.paid_order(shopper, [listing])

        with app.state.database.sessions() as session:
            row = session.get(Order, uuid.UUID(order["id"]))
            assert row is not None
            notify_order_status(session, row, SystemClock().now())
            session.commit()

        assert kinds(client, shopper, order["id"]) == ["order_paid"]
        assert kinds(client, seller, order["id"]) == ["order_to_ship"]


def test_two_reports_at_once_notify_once(app: FastAPI, factory: Factory, db: Session):
    """The second of two concurrent reports waits for the first and then adds nothing."""
    person = factory.user()
    key = f"test:{uuid.uuid4()}"
    now = SystemClock().now()

    def report(session: Session) -> bool:
        told = notify_once(session, person.id, NotificationKind.order_paid, "Paid", {}, now, key)
        session.commit()
        return told

    with app.state.database.sessions() as first, app.state.database.sessions() as second:
        assert notify_once(first, person.id, NotificationKind.order_paid, "Paid", {}, now, key)
        with ThreadPoolExecutor(1) as pool:
            racing = pool.submit(report, second)  # blocks on the first's uncommitted row
            first.commit()
            assert racing.result() is False

    count = db.scalar(select(func.count()).where(Notification.dedupe_key == key))
    assert count == 1


def test_an_erased_buyers_order_notifications_go(
    client: TestClient, factory: Factory, db: Session, seller: Actor, listing: dict
):
    buyer = factory.user()
    order = factory.paid_order(buyer, [listing])

    assert client.delete("/me", headers=buyer.headers).status_code == 204

    assert kinds(client, seller, order["id"]) == ["order_to_ship"], "the seller still ships it"


def test_the_warehouse_accepts_every_kind():
    """dbt's accepted_values test on notification kinds names every kind the shop writes."""
    from pathlib import Path

    import yaml

    models = Path(__file__).parents[2] / "dbt_project/models/staging/raw/_raw__shop_models.yml"
    [model] = [m for m in yaml.safe_load(models.read_text())["models"]
               if m["name"] == "stg_raw__notifications"]  # fmt: skip
    [column] = [c for c in model["columns"] if c["name"] == "notification_kind"]
    [test] = [t for t in column["data_tests"] if "accepted_values" in t]

    assert set(test["accepted_values"]["arguments"]["values"]) == set(NotificationKind)
