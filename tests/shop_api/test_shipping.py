"""Shipping: each seller ships their own part of a paid order, the sandbox carrier moves
parcels along (normal route, or exception and return to sender), and its signed tracking
webhooks move the order on — arriving late, out of order or twice without harm."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.accounts.erasure import erase_user
from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings
from shop_api.models import User
from shop_api.providers.sandbox.models import SandboxShipment, SandboxWebhookDelivery
from shop_api.providers.signing import SIGNATURE_HEADER, sign
from shop_api.shipping import service as shipping_service
from tests.factories import ADDRESS, Actor, Factory, assert_error


def ship(client: TestClient, actor: Actor | None, order_id: str, **body: Any) -> Any:
    return client.post(
        f"/orders/{order_id}/ship",
        json=body or None,
        headers=actor.headers if actor else {},
    )


def shipped(client: TestClient, actor: Actor, order_id: str, **body: Any) -> dict[str, Any]:
    response = ship(client, actor, order_id, **body)
    assert response.status_code == 201, response.text
    return response.json()


def advance(client: TestClient, factory: Factory, tracking_number: str, steps: int = 1) -> str:
    """Move the parcel on and let the carrier's webhooks arrive; returns its status."""
    for _ in range(steps):
        response = client.post(f"/sandbox/carrier/v1/shipments/{tracking_number}/advance")
        assert response.status_code == 200, response.text
        factory.settle()
    return response.json()["status"]


def read_order(client: TestClient, actor: Actor, order_id: str) -> dict[str, Any]:
    response = client.get(f"/orders/{order_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def tracking(client: TestClient, actor: Actor, order_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/orders/{order_id}/tracking", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def order_moves(client: TestClient, actor: Actor, order_id: str) -> list[str]:
    history = client.get(f"/orders/{order_id}/history", headers=actor.headers).json()
    return [change["to_status"] for change in history if change["group_id"] is None]


def group_moves(client: TestClient, actor: Actor, order_id: str, group_id: str) -> list[str]:
    history = client.get(f"/orders/{order_id}/history", headers=actor.headers).json()
    return [change["to_status"] for change in history if change["group_id"] == group_id]


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, title="Camera", stock=5)


@pytest.fixture
def paid(factory: Factory, shopper: Actor, listing: dict) -> dict[str, Any]:
    return factory.paid_order(shopper, [listing])


@pytest.fixture
def two_sellers(
    factory: Factory, seller: Actor, other_seller: Actor, shopper: Actor, listing: dict
) -> dict[str, Any]:
    """A paid order with a part from each seller."""
    lens = factory.listing(other_seller, title="Lens")
    return factory.paid_order(shopper, [listing, lens])


def group_of(order: dict[str, Any], seller: Actor) -> str:
    [group] = [group["id"] for group in order["groups"] if group["seller_id"] == str(seller.id)]
    return group


class TestShip:
    def test_anonymous(self, client: TestClient, paid: dict) -> None:
        assert_error(ship(client, None, paid["id"]), 401, "unauthorized")

    def test_not_existing(self, client: TestClient, seller: Actor) -> None:
        assert_error(ship(client, seller, str(uuid.uuid4())), 404, "not_found")

    def test_other_seller(self, client: TestClient, paid: dict, other_seller: Actor) -> None:
        assert_error(ship(client, other_seller, paid["id"]), 404, "not_found")

    def test_buyer(self, client: TestClient, paid: dict, shopper: Actor) -> None:
        assert_error(ship(client, shopper, paid["id"]), 403, "forbidden")

    @pytest.mark.parametrize("body", [{"group_id": "not-a-uuid"}, {"carrier": "fast"}])
    def test_validation(self, client: TestClient, paid: dict, seller: Actor, body: dict) -> None:
        assert_error(ship(client, seller, paid["id"], **body), 422)

    def test_valid(self, client: TestClient, paid: dict, seller: Actor, shopper: Actor) -> None:
        response = ship(client, seller, paid["id"])

        assert response.status_code == 201, response.text
        shipment = response.json()
        assert shipment["group_id"] == paid["groups"][0]["id"]
        assert shipment["tracking_number"].startswith("SBX")
        assert (shipment["carrier"], shipment["status"]) == ("sandbox", "label_created")
        label = client.get(urlsplit(shipment["label_url"]).path)
        assert label.status_code == 200
        assert shipment["tracking_number"] in label.text
        order = read_order(client, shopper, paid["id"])
        assert order["status"] == "shipped"
        assert order["groups"][0]["status"] == "label_created"
        assert order["groups"][0]["shipped_at"] is not None

    def test_twice(self, client: TestClient, paid: dict, seller: Actor) -> None:
        shipped(client, seller, paid["id"])

        assert_error(ship(client, seller, paid["id"]), 409, "conflict")
        assert len(tracking(client, seller, paid["id"])) == 1

    def test_staff_ship_any_group(
        self, client: TestClient, two_sellers: dict, seller: Actor, staff: Actor
    ) -> None:
        unnamed = ship(client, staff, two_sellers["id"])
        unknown = ship(client, staff, two_sellers["id"], group_id=str(uuid.uuid4()))

        assert_error(unnamed, 422)  # two groups wait: which one?
        assert_error(unknown, 404, "not_found")
        named = ship(client, staff, two_sellers["id"], group_id=group_of(two_sellers, seller))
        assert named.status_code == 201, named.text

    def test_seller_cannot_name_another_sellers_group(
        self, client: TestClient, two_sellers: dict, seller: Actor, other_seller: Actor
    ) -> None:
        theirs = group_of(two_sellers, other_seller)

        assert_error(ship(client, seller, two_sellers["id"], group_id=theirs), 404, "not_found")


class TestDelivery:
    def test_one_seller_all_the_way(
        self, client: TestClient, factory: Factory, paid: dict, seller: Actor, shopper: Actor
    ) -> None:
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]

        assert advance(client, factory, tracking_number, steps=3) == "delivered"

        order = read_order(client, shopper, paid["id"])
        assert order["status"] == "delivered"
        assert order["groups"][0]["delivered_at"] is not None
        [parcel] = tracking(client, shopper, paid["id"])
        assert parcel["status"] == "delivered"
        assert [(e["status"], e["location"]) for e in parcel["events"]] == [
            ("label_created", None), ("in_transit", "Origin sorting centre"),
            ("out_for_delivery", "Destination depot"), ("delivered", "Recipient address"),
        ]  # fmt: skip
        finished = client.post(f"/sandbox/carrier/v1/shipments/{tracking_number}/advance")
        assert_error(finished, 409, "finished")

    def test_two_sellers_ship_and_deliver_in_turn(
        self, client: TestClient, factory: Factory, two_sellers: dict, seller: Actor,
        other_seller: Actor, shopper: Actor,
    ) -> None:  # fmt: skip
        order_id = two_sellers["id"]
        first = shipped(client, seller, order_id)["tracking_number"]
        assert read_order(client, shopper, order_id)["status"] == "partially_shipped"
        second = shipped(client, other_seller, order_id)["tracking_number"]
        assert read_order(client, shopper, order_id)["status"] == "shipped"

        advance(client, factory, first, steps=3)
        assert read_order(client, shopper, order_id)["status"] == "shipped"
        advance(client, factory, second, steps=3)

        assert read_order(client, shopper, order_id)["status"] == "delivered"
        assert order_moves(client, shopper, order_id) == [
            "pending_payment", "paid", "partially_shipped", "shipped", "delivered",
        ]  # fmt: skip

    def test_each_seller_tracks_their_own_parcel(
        self, client: TestClient, factory: Factory, two_sellers: dict, seller: Actor,
        other_seller: Actor, shopper: Actor, staff: Actor,
    ) -> None:  # fmt: skip
        order_id = two_sellers["id"]
        mine = shipped(client, seller, order_id)["tracking_number"]
        theirs = shipped(client, other_seller, order_id)["tracking_number"]
        advance(client, factory, mine)

        by_number = {p["tracking_number"]: p for p in tracking(client, shopper, order_id)}

        assert set(by_number) == {mine, theirs}
        assert [e["status"] for e in by_number[mine]["events"]] == ["label_created", "in_transit"]
        assert [e["status"] for e in by_number[theirs]["events"]] == ["label_created"]
        assert [p["tracking_number"] for p in tracking(client, seller, order_id)] == [mine]
        assert [p["tracking_number"] for p in tracking(client, other_seller, order_id)] == [theirs]
        assert len(tracking(client, staff, order_id)) == 2
        stranger = client.get(
            f"/orders/{order_id}/tracking", headers=factory.user("shopper").headers
        )
        assert_error(stranger, 404, "not_found")

    def test_exception_route_ends_returned(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        order = factory.paid_order(
            shopper, [listing], shipping_address={**ADDRESS, "postal_code": "00000"}
        )
        tracking_number = shipped(client, seller, order["id"])["tracking_number"]

        assert advance(client, factory, tracking_number, steps=3) == "returned"

        after = read_order(client, shopper, order["id"])
        assert after["groups"][0]["status"] == "returned"
        assert after["status"] == "shipped"  # never delivered
        [parcel] = tracking(client, shopper, order["id"])
        assert [e["status"] for e in parcel["events"]] == [
            "label_created", "in_transit", "exception", "returned",
        ]  # fmt: skip
        assert group_moves(client, shopper, order["id"], after["groups"][0]["id"]) == [
            "awaiting_shipment", "label_created", "in_transit", "exception", "returned",
        ]  # fmt: skip
        assert_error(client.post(f"/sandbox/carrier/v1/shipments/{tracking_number}/advance"), 409)


# -- tracking webhooks --------------------------------------------------------------------


def pending_deliveries(db: Session, tracking_number: str) -> list[SandboxWebhookDelivery]:
    """The carrier's webhooks about this parcel that it has not delivered yet, oldest first."""
    return list(
        db.scalars(
            select(SandboxWebhookDelivery)
            .where(
                SandboxWebhookDelivery.delivered_at.is_(None),
                SandboxWebhookDelivery.payload.contains(tracking_number),
            )
            .order_by(SandboxWebhookDelivery.created_at)
        )
    )


@pytest.fixture
def secret(settings: Settings) -> str:
    return settings.shipping_webhook_secret.get_secret_value()


def post_tracking(client: TestClient, secret: str, body: bytes, at: datetime | None = None) -> Any:
    header = sign(secret, body, at or datetime.now(UTC))
    return client.post("/webhooks/shipping", content=body, headers={SIGNATURE_HEADER: header})


def tracking_event(tracking_number: str, status: str, **fields: Any) -> bytes:
    obj = {
        "object": "tracking_update", "tracking_number": tracking_number, "status": status,
        "description": status, "location": None, "occurred_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    obj.update(fields)
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": "tracking.updated", "data": {"object": obj}}
    return json.dumps(event).encode()


class TestTrackingWebhooks:
    def test_out_of_order_updates_never_move_a_parcel_back(
        self, client: TestClient, factory: Factory, db: Session, paid: dict, seller: Actor,
        shopper: Actor, secret: str,
    ) -> None:  # fmt: skip
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]
        for _ in range(3):  # the parcel travels, but no webhook has arrived yet
            client.post(f"/sandbox/carrier/v1/shipments/{tracking_number}/advance")
        deliveries = pending_deliveries(db, tracking_number)
        assert [json.loads(d.payload)["data"]["object"]["status"] for d in deliveries] == [
            "label_created", "in_transit", "out_for_delivery", "delivered",
        ]  # fmt: skip

        outcomes = [
            post_tracking(client, secret, d.payload.encode()).json()["outcome"]
            for d in reversed(deliveries)
        ]

        assert outcomes == ["delivered", "stale", "stale", "stale"]
        order = read_order(client, shopper, paid["id"])
        assert (order["status"], order["groups"][0]["status"]) == ("delivered", "delivered")
        [parcel] = tracking(client, shopper, paid["id"])
        assert parcel["status"] == "delivered"
        assert [e["status"] for e in parcel["events"]] == [
            "label_created", "in_transit", "out_for_delivery", "delivered",
        ]  # fmt: skip
        group = order["groups"][0]["id"]
        assert group_moves(client, shopper, paid["id"], group) == [
            "awaiting_shipment", "label_created", "delivered",
        ]  # fmt: skip

        factory.settle()  # the carrier delivers the same events again: duplicates

        assert read_order(client, shopper, paid["id"])["status"] == "delivered"
        assert len(tracking(client, shopper, paid["id"])[0]["events"]) == 4
        assert pending_deliveries(db, tracking_number) == []

    def test_duplicate_event(
        self, client: TestClient, paid: dict, seller: Actor, shopper: Actor, secret: str
    ) -> None:
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]
        body = tracking_event(tracking_number, "in_transit")

        first, again = post_tracking(client, secret, body), post_tracking(client, secret, body)

        assert (first.status_code, first.json()["outcome"]) == (202, "in_transit")
        assert (again.status_code, again.json()["outcome"]) == (202, "duplicate")
        events = tracking(client, shopper, paid["id"])[0]["events"]
        assert [e["status"] for e in events] == ["label_created", "in_transit"]

    def test_same_status_under_another_event_id(
        self, client: TestClient, paid: dict, seller: Actor, shopper: Actor, secret: str
    ) -> None:
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]
        post_tracking(client, secret, tracking_event(tracking_number, "in_transit"))

        again = post_tracking(client, secret, tracking_event(tracking_number, "in_transit"))

        assert again.json()["outcome"] == "stale"
        events = tracking(client, shopper, paid["id"])[0]["events"]
        assert [e["status"] for e in events] == ["label_created", "in_transit"]

    def test_unknown_parcel_asks_for_redelivery(self, client: TestClient, secret: str) -> None:
        response = post_tracking(client, secret, tracking_event("SBX000000000000", "in_transit"))

        assert_error(response, 503, "retry_later")
        assert response.headers["Retry-After"] == "1"

    def test_forged(self, client: TestClient, paid: dict, seller: Actor) -> None:
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]

        response = post_tracking(
            client, "whsec_forged", tracking_event(tracking_number, "delivered")
        )

        assert_error(response, 401, "unauthorized")
        assert read_order(client, seller, paid["id"])["status"] == "shipped"

    def test_signed_with_the_payments_secret(
        self, client: TestClient, settings: Settings, paid: dict, seller: Actor
    ) -> None:
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]
        payments_secret = settings.payments_webhook_secret.get_secret_value()

        response = post_tracking(
            client, payments_secret, tracking_event(tracking_number, "delivered")
        )

        assert_error(response, 401, "unauthorized")

    def test_stale_signature(
        self, client: TestClient, settings: Settings, paid: dict, seller: Actor, secret: str
    ) -> None:
        tracking_number = shipped(client, seller, paid["id"])["tracking_number"]
        long_ago = datetime.now(UTC) - timedelta(seconds=settings.webhook_tolerance_seconds + 5)

        response = post_tracking(
            client, secret, tracking_event(tracking_number, "delivered"), long_ago
        )

        assert_error(response, 401, "unauthorized")
        assert read_order(client, seller, paid["id"])["status"] == "shipped"

    def test_missing_signature(self, client: TestClient) -> None:
        response = client.post("/webhooks/shipping", content=tracking_event("SBX1", "delivered"))

        assert_error(response, 400, "bad_request")

    @pytest.mark.parametrize(
        "body",
        [
            b"{oops",
            tracking_event("SBX1", "teleported"),
            tracking_event("SBX1", "delivered", occurred_at="yesterday"),
            b'{"id": "evt_1", "data": {"object": {"status": "delivered"}}}',
        ],
        ids=["not_json", "unknown_status", "bad_time", "missing_fields"],
    )
    def test_malformed_payload(self, client: TestClient, secret: str, body: bytes) -> None:
        assert_error(post_tracking(client, secret, body), 400, "bad_request")


class ErasingWhileLabelling:
    """The real carrier, but the buyer erases their account while it makes the label."""

    def __init__(self, app: FastAPI, buyer_id: uuid.UUID) -> None:
        self.app = app
        self.buyer_id = buyer_id
        self.carrier = app.state.carrier

    def __getattr__(self, name: str) -> Any:
        return getattr(self.carrier, name)

    def create_label(self, **request: Any) -> Any:
        label = self.carrier.create_label(**request)
        with self.app.state.database.sessions() as session:
            buyer = session.get(User, self.buyer_id)
            assert buyer is not None
            erase_user(session, buyer, SystemClock(), carrier=self.carrier)
        return label


def test_a_buyer_erased_while_the_label_is_made_is_forgotten_by_the_carrier(
    app: FastAPI, factory: Factory, paid: dict, seller: Actor, shopper: Actor, db: Session
) -> None:
    carrier = ErasingWhileLabelling(app, uuid.UUID(str(shopper.id)))
    with app.state.database.sessions() as session:
        actor = session.get(User, uuid.UUID(str(seller.id)))
        assert actor is not None
        shipment = shipping_service.ship(
            session, carrier, SystemClock(), actor, uuid.UUID(paid["id"]), None
        )

    parcel = db.get(SandboxShipment, shipment.tracking_number)
    assert parcel is not None
    assert parcel.address == {"redacted": True}
