"""Paying through the sandbox gateway: test cards, the payment's history, refunds, the
events they leave in the outbox, and the signed webhooks that drive it all — which must
reject forgeries, stale and replayed signatures, and take duplicates in their stride."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.clock import FrozenClock
from shop_api.core.config import Settings
from shop_api.jobs import run_until_quiet
from shop_api.main import create_app
from shop_api.models.outbox import OutboxEvent
from shop_api.providers.sandbox.models import SandboxWebhookDelivery
from shop_api.providers.sandbox.webhooks import deliver_due
from shop_api.providers.signing import SIGNATURE_HEADER, compute_signature, sign
from tests.factories import SUCCESS_CARD, Actor, Factory, assert_error

THREE_D_SECURE_CARD = {**SUCCESS_CARD, "number": "4000002500003155"}
Poster = Any


def start(client: TestClient, buyer: Actor, order_id: str) -> dict[str, Any]:
    response = client.post(f"/orders/{order_id}/payments", headers=buyer.headers)
    assert response.status_code == 201, response.text
    return response.json()


def confirm(client: TestClient, started: dict[str, Any], card: dict[str, Any]) -> Any:
    return client.post(
        started["confirm_url"], json={"client_secret": started["client_secret"], "card": card}
    )


def authenticate(client: TestClient, started: dict[str, Any], outcome: str) -> Any:
    intent_id = started["payment"]["provider_payment_id"]
    return client.post(
        f"/sandbox/payments/v1/payment_intents/{intent_id}/authenticate",
        json={"client_secret": started["client_secret"], "outcome": outcome},
    )


def payments(client: TestClient, actor: Actor, order_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/orders/{order_id}/payments", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def read_order(client: TestClient, actor: Actor, order_id: str) -> dict[str, Any]:
    response = client.get(f"/orders/{order_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def refund(client: TestClient, actor: Actor, order_id: str, **body: Any) -> Any:
    return client.post(f"/orders/{order_id}/refunds", json=body, headers=actor.headers)


def outbox(db: Session, event_name: str, order_id: str) -> list[dict[str, Any]]:
    """The server-side events of this name about the order, oldest first."""
    rows = db.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.event_name == event_name)
        .order_by(OutboxEvent.event_time, OutboxEvent.created_at)
    ).all()
    return [row.payload for row in rows if row.payload["params"]["transaction_id"] == order_id]


def signed(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: sign(secret, body, at or datetime.now(UTC)),
        "Content-Type": "application/json",
    }


class Recorder:
    """Delivers the sandbox's webhooks to the app under test, keeping a copy of each."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.sent.append((url, body, dict(headers)))
        return self.client.post(urlsplit(url).path, content=body, headers=headers).status_code

    def find(self, event_type: str, object_id: str) -> tuple[bytes, dict[str, str]]:
        [found] = [
            (body, headers)
            for _url, body, headers in self.sent
            if json.loads(body)["type"] == event_type
            and json.loads(body)["data"]["object"]["id"] == object_id
        ]
        return found


@pytest.fixture
def secret(settings: Settings) -> str:
    return settings.payments_webhook_secret.get_secret_value()


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, price_minor=10_000, stock=5)


@pytest.fixture
def order(factory: Factory, shopper: Actor, listing: dict) -> dict[str, Any]:
    return factory.order(shopper, [listing])


# -- test cards -------------------------------------------------------------------------


class TestCards:
    def test_success(
        self, client: TestClient, factory: Factory, order: dict, shopper: Actor
    ) -> None:
        paid = factory.pay(shopper, order["id"])

        assert paid["status"] == "paid"
        assert paid["paid_at"] is not None
        assert paid["reservation_expires_at"] is None
        assert [group["status"] for group in paid["groups"]] == ["awaiting_shipment"]
        [payment] = payments(client, shopper, order["id"])
        assert payment["status"] == "succeeded"
        assert (payment["amount_minor"], payment["currency"]) == (10_000, "USD")
        assert (payment["card_brand"], payment["card_last4"]) == ("visa", "4242")
        assert payment["method"] == "card"
        assert payment["failed_attempts"] == 0

    def test_mastercard(
        self, client: TestClient, factory: Factory, order: dict, shopper: Actor
    ) -> None:
        card = {**SUCCESS_CARD, "number": "5555 5555 5555 4444"}

        assert factory.pay(shopper, order["id"], card)["status"] == "paid"

        [payment] = payments(client, shopper, order["id"])
        assert (payment["card_brand"], payment["card_last4"]) == ("mastercard", "4444")

    @pytest.mark.parametrize(
        ("card", "code"),
        [
            ({**SUCCESS_CARD, "number": "4000000000000002"}, "card_declined"),
            ({**SUCCESS_CARD, "number": "4000000000009995"}, "insufficient_funds"),
            ({**SUCCESS_CARD, "number": "4242424242424241"}, "incorrect_number"),
            ({**SUCCESS_CARD, "exp_year": 2001}, "expired_card"),
        ],
        ids=["declined", "insufficient_funds", "bad_luhn", "expired"],
    )
    def test_declines(
        self, client: TestClient, factory: Factory, listing: dict, order: dict, shopper: Actor,
        card: dict, code: str,
    ) -> None:  # fmt: skip
        after = factory.pay(shopper, order["id"], card)

        assert after["status"] == "pending_payment"
        [payment] = payments(client, shopper, order["id"])
        assert payment["status"] == "requires_payment_method"
        assert payment["failed_attempts"] == 1
        assert payment["last_error_code"] == code
        assert payment["last_error_message"]
        assert client.get(f"/listings/{listing['id']}").json()["stock"] == 4  # still held

    def test_authentication_approved(
        self, client: TestClient, factory: Factory, order: dict, shopper: Actor
    ) -> None:
        started = start(client, shopper, order["id"])
        confirmed = confirm(client, started, THREE_D_SECURE_CARD)
        assert confirmed.json()["status"] == "requires_action"
        assert confirmed.json()["next_action"]["type"] == "authenticate"
        factory.settle()
        assert payments(client, shopper, order["id"])[0]["status"] == "requires_action"

        approved = authenticate(client, started, "approve")
        factory.settle()

        assert approved.status_code == 200, approved.text
        assert read_order(client, shopper, order["id"])["status"] == "paid"
        [payment] = payments(client, shopper, order["id"])
        assert [change["to_status"] for change in payment["history"]] == [
            "requires_payment_method", "requires_action", "processing", "succeeded",
        ]  # fmt: skip
        assert payment["history"][0]["provider_event_id"] is None  # created by the shop
        assert all(change["provider_event_id"] for change in payment["history"][1:])

    def test_authentication_denied(
        self, client: TestClient, factory: Factory, order: dict, shopper: Actor
    ) -> None:
        started = start(client, shopper, order["id"])
        confirm(client, started, THREE_D_SECURE_CARD)

        authenticate(client, started, "deny")
        factory.settle()

        assert read_order(client, shopper, order["id"])["status"] == "pending_payment"
        [payment] = payments(client, shopper, order["id"])
        assert payment["status"] == "requires_payment_method"
        assert payment["last_error_code"] == "authentication_failed"
        assert payment["failed_attempts"] == 1

    def test_authenticating_a_card_that_needs_none(
        self, client: TestClient, order: dict, shopper: Actor
    ) -> None:
        started = start(client, shopper, order["id"])
        confirm(client, started, SUCCESS_CARD)

        assert_error(authenticate(client, started, "approve"), 409)

    def test_wrong_client_secret(self, client: TestClient, order: dict, shopper: Actor) -> None:
        started = start(client, shopper, order["id"])

        response = confirm(client, {**started, "client_secret": "pi_x_secret_guess"}, SUCCESS_CARD)

        assert_error(response, 404)

    @pytest.mark.parametrize(
        "card",
        [
            {**SUCCESS_CARD, "cvc": "12"},
            {**SUCCESS_CARD, "exp_month": 13},
            {**SUCCESS_CARD, "number": "4242-4242-4242-4242"},
            {key: value for key, value in SUCCESS_CARD.items() if key != "cvc"},
        ],
    )
    def test_card_validation(
        self, client: TestClient, order: dict, shopper: Actor, card: dict
    ) -> None:
        started = start(client, shopper, order["id"])

        assert_error(confirm(client, started, card), 422)

    def test_the_card_number_never_reaches_the_shop(
        self, client: TestClient, factory: Factory, order: dict, shopper: Actor
    ) -> None:
        factory.pay(shopper, order["id"])

        listed = client.get(f"/orders/{order['id']}/payments", headers=shopper.headers).text

        assert SUCCESS_CARD["number"] not in listed
        assert SUCCESS_CARD["cvc"] not in json.loads(listed)[0].values()


class TestStartPayment:
    def test_anonymous(self, client: TestClient, order: dict) -> None:
        assert_error(client.post(f"/orders/{order['id']}/payments"), 401)

    def test_not_existing(self, client: TestClient, shopper: Actor) -> None:
        response = client.post(f"/orders/{uuid.uuid4()}/payments", headers=shopper.headers)

        assert_error(response, 404, "not_found")

    def test_not_the_buyer(
        self, client: TestClient, factory: Factory, order: dict, seller: Actor
    ) -> None:
        stranger = client.post(
            f"/orders/{order['id']}/payments", headers=factory.user("shopper").headers
        )
        its_seller = client.post(f"/orders/{order['id']}/payments", headers=seller.headers)

        assert_error(stranger, 404, "not_found")
        assert_error(its_seller, 403, "forbidden")

    def test_reopening_returns_the_open_payment(
        self, client: TestClient, order: dict, shopper: Actor
    ) -> None:
        first = start(client, shopper, order["id"])

        second = start(client, shopper, order["id"])

        assert second["payment"]["id"] == first["payment"]["id"]
        assert second["client_secret"] == first["client_secret"]
        assert len(payments(client, shopper, order["id"])) == 1

    def test_valid(self, client: TestClient, order: dict, shopper: Actor) -> None:
        started = start(client, shopper, order["id"])

        assert started["payment"]["status"] == "requires_payment_method"
        assert started["payment"]["amount_minor"] == order["total_minor"]
        assert started["client_secret"].startswith(started["payment"]["provider_payment_id"])
        assert started["confirm_url"].endswith("/confirm")

    def test_sellers_do_not_see_the_buyers_card(
        self, client: TestClient, factory: Factory, order: dict, seller: Actor, shopper: Actor
    ) -> None:
        factory.pay(shopper, order["id"])

        response = client.get(f"/orders/{order['id']}/payments", headers=seller.headers)

        assert_error(response, 403, "forbidden")


# -- refunds ----------------------------------------------------------------------------


class TestRefunds:
    @pytest.fixture
    def paid(self, factory: Factory, shopper: Actor, listing: dict) -> dict[str, Any]:
        return factory.paid_order(shopper, [listing])

    def test_anonymous(self, client: TestClient, paid: dict) -> None:
        assert_error(client.post(f"/orders/{paid['id']}/refunds", json={}), 401)

    def test_not_existing(self, client: TestClient, staff: Actor) -> None:
        assert_error(refund(client, staff, str(uuid.uuid4())), 404, "not_found")

    def test_only_staff(
        self, client: TestClient, paid: dict, shopper: Actor, seller: Actor
    ) -> None:
        for actor in (shopper, seller):
            assert_error(refund(client, actor, paid["id"]), 403, "forbidden")

    @pytest.mark.parametrize("body", [{"amount_minor": 0}, {"amount_minor": -5}, {"x": 1}])
    def test_validation(self, client: TestClient, paid: dict, staff: Actor, body: dict) -> None:
        assert_error(refund(client, staff, paid["id"], **body), 422)

    def test_full_refund(
        self, client: TestClient, factory: Factory, db: Session, paid: dict, shopper: Actor,
        staff: Actor,
    ) -> None:  # fmt: skip
        response = refund(client, staff, paid["id"], reason="damaged in transit")

        assert response.status_code == 202, response.text
        pending = response.json()
        assert (pending["amount_minor"], pending["status"]) == (10_000, "pending")
        assert pending["reason"] == "damaged in transit"
        factory.settle()
        after = read_order(client, shopper, paid["id"])
        assert after["status"] == "refunded"
        assert after["refunded_minor"] == 10_000
        [done] = client.get(f"/orders/{paid['id']}/refunds", headers=shopper.headers).json()
        assert (done["status"], done["completed_at"] is not None) == ("succeeded", True)
        assert payments(client, shopper, paid["id"])[0]["refunded_minor"] == 10_000
        history = client.get(f"/orders/{paid['id']}/history", headers=shopper.headers).json()
        assert history[-1]["to_status"] == "refunded"
        [event] = outbox(db, "refund", paid["id"])
        assert event["user_id"] == str(shopper.id)
        assert event["params"]["value"] == 100.0
        assert event["params"]["refund_id"] == done["id"]
        assert event["params"]["currency"] == "USD"

    def test_partial_refunds_then_the_rest(
        self, client: TestClient, factory: Factory, db: Session, paid: dict, shopper: Actor,
        staff: Actor,
    ) -> None:  # fmt: skip
        assert refund(client, staff, paid["id"], amount_minor=2_500).status_code == 202
        factory.settle()
        partly = read_order(client, shopper, paid["id"])
        assert (partly["status"], partly["refunded_minor"]) == ("paid", 2_500)

        rest = refund(client, staff, paid["id"])
        factory.settle()

        assert rest.json()["amount_minor"] == 7_500
        after = read_order(client, shopper, paid["id"])
        assert (after["status"], after["refunded_minor"]) == ("refunded", 10_000)
        assert [e["params"]["value"] for e in outbox(db, "refund", paid["id"])] == [25.0, 75.0]

    def test_over_refund(
        self, client: TestClient, factory: Factory, paid: dict, shopper: Actor, staff: Actor
    ) -> None:
        error = assert_error(refund(client, staff, paid["id"], amount_minor=10_001), 422)

        assert error["details"][0]["loc"] == ["body", "amount_minor"]
        assert client.get(f"/orders/{paid['id']}/refunds", headers=shopper.headers).json() == []

    def test_pending_refunds_count_against_the_rest(
        self, client: TestClient, paid: dict, staff: Actor
    ) -> None:
        assert refund(client, staff, paid["id"], amount_minor=6_000).status_code == 202

        assert_error(refund(client, staff, paid["id"], amount_minor=5_000), 422)
        assert refund(client, staff, paid["id"], amount_minor=4_000).status_code == 202

    def test_a_refunded_order_cannot_be_refunded(
        self, client: TestClient, factory: Factory, paid: dict, staff: Actor
    ) -> None:
        refund(client, staff, paid["id"])
        factory.settle()

        assert_error(refund(client, staff, paid["id"], amount_minor=1), 409, "conflict")

    def test_a_shipped_order_can_be_refunded(
        self, client: TestClient, factory: Factory, paid: dict, seller: Actor, shopper: Actor,
        staff: Actor,
    ) -> None:  # fmt: skip
        assert client.post(f"/orders/{paid['id']}/ship", headers=seller.headers).status_code == 201

        refund(client, staff, paid["id"])
        factory.settle()

        assert read_order(client, shopper, paid["id"])["status"] == "refunded"
        assert_error(client.post(f"/orders/{paid['id']}/cancel", headers=shopper.headers), 409)

    def test_purchase_event_is_recorded_once_on_payment(
        self, db: Session, paid: dict, shopper: Actor, listing: dict
    ) -> None:
        [event] = outbox(db, "purchase", paid["id"])

        assert event["event_name"] == "purchase"
        assert event["user_id"] == str(shopper.id)
        assert event["params"]["value"] == 100.0
        assert event["params"]["currency"] == "USD"
        assert [item["item_id"] for item in event["items"]] == [listing["id"]]


class TestPaidAfterCancellation:
    def test_a_late_success_is_refunded_automatically(
        self, client: TestClient, factory: Factory, listing: dict, order: dict, shopper: Actor
    ) -> None:
        started = start(client, shopper, order["id"])
        confirm(client, started, SUCCESS_CARD)  # the gateway is now processing it
        cancelled = client.post(f"/orders/{order['id']}/cancel", headers=shopper.headers)
        assert cancelled.json()["status"] == "cancelled"

        factory.settle()  # the payment succeeds anyway

        after = read_order(client, shopper, order["id"])
        assert after["status"] == "cancelled"
        assert after["refunded_minor"] == after["total_minor"] == 10_000
        [payment] = payments(client, shopper, order["id"])
        assert (payment["status"], payment["refunded_minor"]) == ("succeeded", 10_000)
        [done] = client.get(f"/orders/{order['id']}/refunds", headers=shopper.headers).json()
        assert (done["status"], done["reason"]) == ("succeeded", "order no longer payable")
        assert client.get(f"/listings/{listing['id']}").json()["stock"] == 5  # released once


# -- webhooks ---------------------------------------------------------------------------


class TestWebhookSignatures:
    BODY = json.dumps({"id": "evt_test", "type": "payment_intent.succeeded", "created": 0})

    def post(self, client: TestClient, body: bytes | str, headers: dict[str, str]) -> Any:
        return client.post("/webhooks/payments", content=body, headers=headers)

    def test_forged(self, client: TestClient) -> None:
        headers = signed("whsec_not_the_shops_secret", self.BODY.encode())

        assert_error(self.post(client, self.BODY, headers), 401, "unauthorized")

    def test_tampered_body(self, client: TestClient, secret: str) -> None:
        headers = signed(secret, self.BODY.encode())
        tampered = self.BODY.replace("evt_test", "evt_other")

        assert_error(self.post(client, tampered, headers), 401, "unauthorized")

    @pytest.mark.parametrize("offset", [-1, +1], ids=["old", "future"])
    def test_stale_timestamp(
        self, client: TestClient, settings: Settings, secret: str, offset: int
    ) -> None:
        at = datetime.now(UTC) + offset * timedelta(seconds=settings.webhook_tolerance_seconds + 5)

        response = self.post(client, self.BODY, signed(secret, self.BODY.encode(), at))

        error = assert_error(response, 401, "unauthorized")
        assert "tolerance" in error["message"]

    @pytest.mark.parametrize(
        "header",
        [None, "", "garbage", "t=soon,v1=abc", "t=1700000000", "v1=abc", "t=1700000000,v1="],
    )
    def test_missing_or_malformed_header(self, client: TestClient, header: str | None) -> None:
        headers = {} if header is None else {SIGNATURE_HEADER: header}

        assert_error(self.post(client, self.BODY, headers), 400, "bad_request")

    @pytest.mark.parametrize(
        "body",
        [
            b"{not json",
            b"[]",
            b'{"id": "evt_1", "type": "payment_intent.succeeded"}',
            b'{"id": "evt_1", "type": "payment_intent.succeeded", "created": 0,'
            b' "data": {"object": {"object": "coupon"}}}',
            b'{"id": "evt_1", "type": "x", "created": "soon", "data": {"object": {}}}',
        ],
    )
    def test_malformed_payload_with_a_valid_signature(
        self, client: TestClient, secret: str, body: bytes
    ) -> None:
        assert_error(self.post(client, body, signed(secret, body)), 400, "bad_request")

    def test_oversized_payload(self, client: TestClient, secret: str) -> None:
        body = json.dumps({"padding": "x" * 300_000}).encode()

        assert_error(self.post(client, body, signed(secret, body)), 413, "payload_too_large")

    def test_signed_with_the_shipping_secret(self, client: TestClient, settings: Settings) -> None:
        other = settings.shipping_webhook_secret.get_secret_value()

        assert_error(self.post(client, self.BODY, signed(other, self.BODY.encode())), 401)

    def test_rotated_secrets_any_matching_signature_counts(
        self, client: TestClient, secret: str
    ) -> None:
        body = json.dumps(
            {"id": f"evt_{uuid.uuid4().hex}", "type": "payment_intent.succeeded", "created": 0,
             "data": {"object": {"object": "payment_intent", "id": f"pi_{uuid.uuid4().hex}",
                                 "amount": 1, "currency": "usd", "status": "succeeded"}}}
        ).encode()  # fmt: skip
        timestamp = int(datetime.now(UTC).timestamp())
        header = (
            f"t={timestamp},v1={compute_signature('whsec_old', timestamp, body)},"
            f"v1={compute_signature(secret, timestamp, body)}"
        )

        response = self.post(client, body, {SIGNATURE_HEADER: header})

        assert response.status_code == 503  # verified; the payment is simply unknown


class TestWebhookDelivery:
    def test_duplicate_delivery_is_processed_once(
        self, client: TestClient, factory: Factory, app: FastAPI, db: Session, order: dict,
        shopper: Actor, secret: str,
    ) -> None:  # fmt: skip
        started = start(client, shopper, order["id"])
        confirm(client, started, SUCCESS_CARD)
        recorder = Recorder(client)
        run_until_quiet(app.state, recorder)
        body, _headers = recorder.find(
            "payment_intent.succeeded", started["payment"]["provider_payment_id"]
        )

        again = client.post("/webhooks/payments", content=body, headers=signed(secret, body))

        assert again.status_code == 202, again.text
        assert again.json() == {"received": True, "outcome": "duplicate"}
        [payment] = payments(client, shopper, order["id"])
        assert [c["to_status"] for c in payment["history"]].count("succeeded") == 1
        history = client.get(f"/orders/{order['id']}/history", headers=shopper.headers).json()
        assert [c["to_status"] for c in history if c["group_id"] is None].count("paid") == 1
        assert len(outbox(db, "purchase", order["id"])) == 1

    def test_an_older_event_arriving_late_changes_nothing(
        self, client: TestClient, app: FastAPI, order: dict, shopper: Actor, secret: str
    ) -> None:
        started = start(client, shopper, order["id"])
        confirm(client, started, SUCCESS_CARD)
        recorder = Recorder(client)
        run_until_quiet(app.state, recorder)
        body, _ = recorder.find(
            "payment_intent.processing", started["payment"]["provider_payment_id"]
        )
        late = json.loads(body) | {"id": f"evt_{uuid.uuid4().hex}"}  # redelivered as new
        late_body = json.dumps(late).encode()

        response = client.post(
            "/webhooks/payments", content=late_body, headers=signed(secret, late_body)
        )

        assert response.json()["outcome"] == "stale"
        assert payments(client, shopper, order["id"])[0]["status"] == "succeeded"
        assert read_order(client, shopper, order["id"])["status"] == "paid"

    def test_unknown_payment_asks_for_redelivery(self, client: TestClient, secret: str) -> None:
        body = json.dumps(
            {"id": f"evt_{uuid.uuid4().hex}", "type": "payment_intent.succeeded", "created": 0,
             "data": {"object": {"object": "payment_intent", "id": f"pi_{uuid.uuid4().hex}",
                                 "amount": 1, "currency": "usd", "status": "succeeded"}}}
        ).encode()  # fmt: skip

        first = client.post("/webhooks/payments", content=body, headers=signed(secret, body))
        second = client.post("/webhooks/payments", content=body, headers=signed(secret, body))

        for response in (first, second):  # not remembered as seen: the retry is processed
            assert_error(response, 503, "retry_later")
            assert response.headers["Retry-After"] == "1"


@pytest.fixture
def frozen(settings: Settings) -> Iterator[tuple[FastAPI, TestClient, FrozenClock]]:
    """The shop on the same database with a clock of its own, a month in the past so that
    only what this test makes is ever due for it."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield app, client, clock


def secrets_of(settings: Settings) -> dict[str, str]:
    return {
        "payments": settings.payments_webhook_secret.get_secret_value(),
        "shipping": settings.shipping_webhook_secret.get_secret_value(),
    }


def deliveries_about(db: Session, object_id: str) -> list[SandboxWebhookDelivery]:
    return list(
        db.scalars(
            select(SandboxWebhookDelivery)
            .where(SandboxWebhookDelivery.payload.contains(object_id))
            .order_by(SandboxWebhookDelivery.created_at)
        )
    )


class TestWebhooksOverTime:
    def test_a_captured_delivery_replayed_later_is_rejected(
        self, frozen: tuple[FastAPI, TestClient, FrozenClock], settings: Settings,
        order: dict, shopper: Actor,
    ) -> None:  # fmt: skip
        app, client, clock = frozen
        started = start(client, shopper, order["id"])
        confirm(client, started, SUCCESS_CARD)
        recorder = Recorder(client)
        run_until_quiet(app.state, recorder)
        body, headers = recorder.find(
            "payment_intent.succeeded", started["payment"]["provider_payment_id"]
        )

        clock.advance(timedelta(seconds=settings.webhook_tolerance_seconds + 1))
        replayed = client.post("/webhooks/payments", content=body, headers=headers)

        assert_error(replayed, 401, "unauthorized")
        assert read_order(client, shopper, order["id"])["status"] == "paid"

    def test_failed_deliveries_are_retried_with_backoff(
        self, frozen: tuple[FastAPI, TestClient, FrozenClock], settings: Settings, db: Session,
        order: dict, shopper: Actor,
    ) -> None:  # fmt: skip
        app, client, clock = frozen
        started = start(client, shopper, order["id"])
        intent_id = started["payment"]["provider_payment_id"]
        confirm(client, started, SUCCESS_CARD)
        [delivery] = deliveries_about(db, intent_id)
        outcomes: list[Any] = [httpx.ConnectError("connection refused"), 500]
        attempts: list[datetime] = []

        def flaky(url: str, body: bytes, headers: dict[str, str]) -> int:
            if headers["Mercado-Event-Id"] != delivery.id:
                return client.post(urlsplit(url).path, content=body, headers=headers).status_code
            attempts.append(clock.now())
            outcome = outcomes.pop(0) if outcomes else None
            if isinstance(outcome, Exception):
                raise outcome
            if outcome is not None:
                return outcome
            return client.post(urlsplit(url).path, content=body, headers=headers).status_code

        def deliver() -> SandboxWebhookDelivery:
            deliver_due(app.state.database.sessions, flaky, clock, secrets_of(settings))
            [row] = [row for row in deliveries_about(db, intent_id) if row.id == delivery.id]
            return row

        sent_at = clock.now()
        first = deliver()
        assert (first.attempts, first.delivered_at) == (1, None)
        assert first.last_error.startswith("ConnectError")
        assert first.next_attempt_at == sent_at + timedelta(seconds=1)
        assert deliver().attempts == 1  # not due yet: nothing is sent

        clock.advance(timedelta(seconds=1))
        second = deliver()
        assert (second.attempts, second.last_status_code, second.last_error) == (2, 500, "HTTP 500")
        assert second.next_attempt_at == clock.now() + timedelta(seconds=2)

        clock.advance(timedelta(seconds=2))
        third = deliver()
        assert (third.attempts, third.last_status_code) == (3, 202)
        assert third.delivered_at == clock.now()
        assert attempts == [sent_at, sent_at + timedelta(seconds=1), sent_at + timedelta(seconds=3)]
        assert payments(client, shopper, order["id"])[0]["status"] == "processing"
        run_until_quiet(app.state, flaky)
        assert read_order(client, shopper, order["id"])["status"] == "paid"

    def test_an_event_ahead_of_its_payment_is_retried_until_the_shop_knows_it(
        self, frozen: tuple[FastAPI, TestClient, FrozenClock], settings: Settings, db: Session,
        order: dict, shopper: Actor,
    ) -> None:  # fmt: skip
        app, client, clock = frozen
        # The gateway creates the intent, but the shop has not recorded it yet (a crash
        # or a slow commit): the buyer's browser confirms it meanwhile.
        gateway = app.state.sandbox_gateway
        intent, client_secret = gateway.create_intent(
            amount=order["total_minor"], currency="USD", metadata={"reference": order["id"]},
            idempotency_key=f"order-{order['id']}-payment-1",
        )  # fmt: skip
        gateway.confirm(intent["id"], client_secret, SUCCESS_CARD)
        recorder = Recorder(client)

        deliver_due(app.state.database.sessions, recorder, clock, secrets_of(app.state.settings))

        [delivery] = deliveries_about(db, intent["id"])
        assert (delivery.last_status_code, delivery.delivered_at) == (503, None)
        started = start(client, shopper, order["id"])  # the shop records the same intent
        assert started["payment"]["provider_payment_id"] == intent["id"]
        clock.advance(timedelta(seconds=1))
        run_until_quiet(app.state, recorder)

        assert read_order(client, shopper, order["id"])["status"] == "paid"
        assert all(row.delivered_at is not None for row in deliveries_about(db, intent["id"]))
