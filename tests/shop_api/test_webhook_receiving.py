"""Receiving provider webhooks: a correctly signed event is still checked field by field
(a malformed one is refused with a 4xx JSON error, never a 500), a payment event must
agree with the payment the shop recorded (amount and currency), and an event type the
shop does not know is acknowledged and ignored, never interpreted."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text

from shop_api.core.config import Settings
from shop_api.jobs import run_until_quiet
from shop_api.models.payments import WebhookReceipt
from shop_api.providers.signing import SIGNATURE_HEADER, sign
from tests.factories import Actor, Factory, assert_error


@pytest.fixture
def webhooks(app: FastAPI, client: TestClient) -> TestClient:
    """A client that shows a server error as the 500 response a provider would get (on
    the session's app, started by ``client``)."""
    return TestClient(app, raise_server_exceptions=False)


def deliver(client: TestClient, path: str, secret: str, body: bytes | dict) -> Any:
    """POST a webhook correctly signed with ``secret``, as the provider would."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        SIGNATURE_HEADER: sign(secret, payload, datetime.now(UTC)),
        "Content-Type": "application/json",
    }
    return client.post(path, content=payload, headers=headers)


@pytest.fixture
def payments_secret(settings: Settings) -> str:
    return settings.payments_webhook_secret.get_secret_value()


@pytest.fixture
def shipping_secret(settings: Settings) -> str:
    return settings.shipping_webhook_secret.get_secret_value()


@pytest.fixture
def started(client: TestClient, factory: Factory, shopper: Actor, seller: Actor) -> dict:
    """An order waiting for payment whose payment intent the shop has recorded."""
    listing = factory.listing(seller, price_minor=2_500, stock=3)
    order = factory.order(shopper, [listing])
    response = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers)
    assert response.status_code == 201, response.text
    return {"order": order, **response.json()}


def intent_event(
    started: dict, event_type: str = "payment_intent.succeeded", **fields: Any
) -> dict[str, Any]:
    """A gateway event about the started payment, as the sandbox gateway sends it."""
    obj = {
        "id": started["payment"]["provider_payment_id"], "object": "payment_intent",
        "amount": started["order"]["total_minor"], "currency": "usd", "status": "succeeded",
        "amount_refunded": 0, "metadata": {"reference": started["order"]["id"]},
        "last_payment_error": None, "payment_method": {"brand": "visa", "last4": "4242"},
        "next_action": None,
    }  # fmt: skip
    obj.update(fields)
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "type": event_type,
        "created": int(datetime.now(UTC).timestamp()),
        "data": {"object": obj},
    }


def order_and_payment(client: TestClient, buyer: Actor, started: dict) -> tuple[str, str]:
    order_id = started["order"]["id"]
    order = client.get(f"/orders/{order_id}", headers=buyer.headers).json()
    [payment] = client.get(f"/orders/{order_id}/payments", headers=buyer.headers).json()
    return order["status"], payment["status"]


UNTOUCHED = ("pending_payment", "requires_payment_method")


def with_envelope(**changes: Any):  # type: ignore[no-untyped-def]
    return lambda event: event | changes


def with_object(**changes: Any):  # type: ignore[no-untyped-def]
    def change(event: dict) -> dict:
        return event | {"data": {"object": event["data"]["object"] | changes}}

    return change


MALFORMED_PAYMENT_EVENTS = {
    "created_beyond_any_date": with_envelope(created=10**30),
    "created_before_any_date": with_envelope(created=-(10**30)),
    "created_in_the_far_future": with_envelope(created=int(datetime(2999, 1, 1).timestamp())),
    "created_as_float": with_envelope(created=1.7e9),
    "created_as_bool": with_envelope(created=True),
    "created_as_text": with_envelope(created="1700000000"),
    "id_empty": with_envelope(id=""),
    "id_too_long": with_envelope(id="evt_" + "a" * 300),
    "id_a_number": with_envelope(id=12345),
    "type_not_text": with_envelope(type=["payment_intent.succeeded"]),
    "data_not_an_object": with_envelope(data=[1, 2]),
    "amount_beyond_any_price": with_object(amount=10**30),
    "amount_negative": with_object(amount=-1),
    "amount_fractional": with_object(amount=2500.5),
    "amount_as_text": with_object(amount="2500"),
    "amount_as_bool": with_object(amount=True),
    "currency_not_a_code": with_object(currency="dollars"),
    "status_unknown": with_object(status="paid"),
    "status_contradicts_type": with_object(status="processing"),
    "intent_id_too_long": with_object(id="pi_" + "a" * 300),
    "card_last4_not_four_digits": with_object(payment_method={"brand": "visa", "last4": "42x"}),
    "card_brand_too_long": with_object(payment_method={"brand": "v" * 500, "last4": "4242"}),
    "error_not_an_object": with_object(last_payment_error="declined"),
    "error_code_too_long": with_object(
        last_payment_error={"code": "c" * 500, "message": "Declined"}
    ),
    "metadata_not_an_object": with_object(metadata="order"),
}


class TestMalformedPaymentEvents:
    @pytest.mark.parametrize(
        "malform", MALFORMED_PAYMENT_EVENTS.values(), ids=list(MALFORMED_PAYMENT_EVENTS)
    )
    def test_is_refused_with_400_and_changes_nothing(
        self, webhooks: TestClient, started: dict, shopper: Actor, payments_secret: str,
        malform: Any,
    ) -> None:  # fmt: skip
        event = malform(intent_event(started))

        response = deliver(webhooks, "/webhooks/payments", payments_secret, event)

        assert_error(response, 400, "bad_request")
        assert order_and_payment(webhooks, shopper, started) == UNTOUCHED

    @pytest.mark.parametrize(
        "body",
        [
            b'{"id": "evt_1", "type": "payment_intent.succeeded", "created": NaN}',
            b'{"id": "evt_1", "created": Infinity}',
            b'{"id": "evt_1", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
            b'{"id": "evt_1", "created": ' + b"9" * 5_000 + b"}",
            b'{"id": "evt_1", "created": 1}\xff',
        ],
        ids=["nan", "infinity", "nested_deeply", "huge_number_literal", "not_utf8"],
    )
    def test_json_that_is_not_plain_data_is_refused_with_400(
        self, webhooks: TestClient, payments_secret: str, body: bytes
    ) -> None:
        response = deliver(webhooks, "/webhooks/payments", payments_secret, body)

        assert_error(response, 400, "bad_request")

    def test_a_body_over_the_limit_is_refused_with_413(
        self, webhooks: TestClient, payments_secret: str
    ) -> None:
        body = json.dumps({"id": "evt_big", "padding": "x" * 300_000}).encode()

        response = deliver(webhooks, "/webhooks/payments", payments_secret, body)

        assert_error(response, 413, "payload_too_large")


class TestPaymentEventsMustMatchThePayment:
    def test_an_unknown_event_type_is_acknowledged_and_ignored(
        self, webhooks: TestClient, started: dict, shopper: Actor, payments_secret: str
    ) -> None:
        """Whatever it claims: here a success, for another amount and currency."""
        event = intent_event(
            started, "payment_intent.amount_capturable_updated", amount=1, currency="eur"
        )

        response = deliver(webhooks, "/webhooks/payments", payments_secret, event)

        assert response.status_code == 202, response.text
        assert response.json() == {"received": True, "outcome": "ignored"}
        assert order_and_payment(webhooks, shopper, started) == UNTOUCHED

    @pytest.mark.parametrize(
        "mismatch",
        [{"amount": 1}, {"amount": 2_501}, {"currency": "eur"}, {"amount": 1, "currency": "eur"}],
        ids=["less", "more", "other_currency", "both"],
    )
    def test_a_success_for_another_amount_or_currency_is_refused(
        self, webhooks: TestClient, started: dict, shopper: Actor, payments_secret: str,
        mismatch: dict,
    ) -> None:  # fmt: skip
        event = intent_event(started, **mismatch)

        response = deliver(webhooks, "/webhooks/payments", payments_secret, event)

        assert_error(response, 409, "event_mismatch")
        assert order_and_payment(webhooks, shopper, started) == UNTOUCHED

    def test_a_success_naming_another_order_is_refused(
        self, webhooks: TestClient, started: dict, shopper: Actor, payments_secret: str
    ) -> None:
        event = intent_event(started, metadata={"reference": str(uuid.uuid4())})

        response = deliver(webhooks, "/webhooks/payments", payments_secret, event)

        assert_error(response, 409, "event_mismatch")
        assert order_and_payment(webhooks, shopper, started) == UNTOUCHED

    def test_the_matching_event_still_pays_after_a_refused_one(
        self, webhooks: TestClient, started: dict, shopper: Actor, payments_secret: str
    ) -> None:
        refused = deliver(
            webhooks, "/webhooks/payments", payments_secret, intent_event(started, amount=1)
        )
        paid = deliver(webhooks, "/webhooks/payments", payments_secret, intent_event(started))

        assert refused.status_code == 409
        assert (paid.status_code, paid.json()["outcome"]) == (202, "paid")
        assert order_and_payment(webhooks, shopper, started) == ("paid", "succeeded")

    def test_a_refund_event_for_another_amount_is_refused(
        self, webhooks: TestClient, app: FastAPI, factory: Factory, shopper: Actor,
        seller: Actor, staff: Actor, payments_secret: str,
    ) -> None:  # fmt: skip
        order = factory.paid_order(shopper, [factory.listing(seller, price_minor=4_000)])
        refund = webhooks.post(
            f"/orders/{order['id']}/refunds", json={"amount_minor": 1_000}, headers=staff.headers
        )
        assert refund.status_code == 202, refund.text
        held = HoldRefundEvents(webhooks)
        run_until_quiet(app.state, held)
        [event] = held.refund_events
        inflated = event | {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "data": {"object": event["data"]["object"] | {"amount": 4_000}},
        }

        response = deliver(webhooks, "/webhooks/payments", payments_secret, inflated)

        assert_error(response, 409, "event_mismatch")
        assert refunds_of(webhooks, staff, order["id"]) == [(1_000, "pending")]
        genuine = deliver(webhooks, "/webhooks/payments", payments_secret, event)
        assert genuine.json()["outcome"] == "refunded"
        assert refunds_of(webhooks, staff, order["id"]) == [(1_000, "succeeded")]


class TestTheSameEventTwiceAtOnce:
    def test_is_applied_once_and_the_other_delivery_is_a_duplicate(
        self, webhooks: TestClient, app: FastAPI, started: dict, shopper: Actor,
        payments_secret: str,
    ) -> None:  # fmt: skip
        """Another delivery of the event has recorded it and not committed yet (a second
        connection holds that transaction open): this delivery waits for it, then
        answers duplicate rather than failing on the receipt's unique key."""
        event = intent_event(started)
        receipt = insert(WebhookReceipt).values(
            id=uuid.uuid4(), provider="sandbox", event_id=event["id"], event_type=event["type"],
            received_at=datetime.now(UTC),
        )  # fmt: skip
        engine = app.state.database.engine
        with engine.connect() as other, ThreadPoolExecutor(max_workers=1) as pool:
            transaction = other.begin()
            other.execute(receipt)
            delivery = pool.submit(deliver, webhooks, "/webhooks/payments", payments_secret, event)
            try:
                wait_until_waiting_for_a_lock(engine, delivery)
            finally:
                transaction.commit()
            response = delivery.result()

        assert (response.status_code, response.json()) == (
            202, {"received": True, "outcome": "duplicate"},
        )  # fmt: skip
        assert order_and_payment(webhooks, shopper, started) == UNTOUCHED


def wait_until_waiting_for_a_lock(engine: Engine, delivery: Future) -> None:
    """On PostgreSQL, until a backend inserting a webhook receipt waits for a lock (the
    other transaction's). SQLite serialises writers: the delivery's transaction cannot
    begin before the other one ends, so there is nothing to wait for here."""
    if engine.dialect.name != "postgresql":
        return
    waiting_insert = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO webhook_receipts%%'"
    )
    deadline = time.monotonic() + 60
    with engine.connect() as observer:
        while time.monotonic() < deadline and not delivery.done():
            waiting = observer.execute(waiting_insert).scalar()
            observer.rollback()  # the statistics views keep one snapshot per transaction
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the delivery never waited for the other transaction")


class HoldRefundEvents:
    """Delivers the sandbox's webhooks to the app, except refund events: it keeps those
    and answers 503, so the gateway holds them for later."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.refund_events: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        event = json.loads(body)
        if event["type"].startswith("refund."):
            self.refund_events.append(event)
            return 503
        return self.client.post(urlsplit(url).path, content=body, headers=headers).status_code


def refunds_of(client: TestClient, actor: Actor, order_id: str) -> list[tuple[int, str]]:
    response = client.get(f"/orders/{order_id}/refunds", headers=actor.headers)
    assert response.status_code == 200, response.text
    return [(refund["amount_minor"], refund["status"]) for refund in response.json()]


# -- the carrier's tracking events -------------------------------------------------------


@pytest.fixture
def parcel(factory: Factory, shopper: Actor, seller: Actor) -> dict[str, str]:
    """A paid order whose parcel the carrier has just labelled."""
    order = factory.paid_order(shopper, [factory.listing(seller, price_minor=1_200)])
    shipment = factory.ship_order(seller, order["id"])
    return {"order_id": order["id"], "tracking_number": shipment["tracking_number"]}


def tracking_event(parcel: dict[str, str], **fields: Any) -> dict[str, Any]:
    obj = {
        "object": "tracking_update", "tracking_number": parcel["tracking_number"],
        "reference": "ref", "status": "in_transit", "description": "Picked up",
        "location": "Depot", "occurred_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    obj.update(fields)
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "type": "tracking.updated",
        "created": int(datetime.now(UTC).timestamp()),
        "data": {"object": obj},
    }


def parcel_state(client: TestClient, actor: Actor, parcel: dict[str, str]) -> tuple[str, list]:
    response = client.get(f"/orders/{parcel['order_id']}/tracking", headers=actor.headers)
    [shipment] = response.json()
    return shipment["status"], [event["status"] for event in shipment["events"]]


LABELLED = ("label_created", ["label_created"])

MALFORMED_TRACKING_EVENTS = {
    "occurred_in_the_far_future": with_object(occurred_at="9999-12-31T23:59:59+00:00"),
    "occurred_before_any_date": with_object(occurred_at="0001-01-01T00:00:00+00:00"),
    "occurred_at_not_a_time": with_object(occurred_at="yesterday"),
    "occurred_at_a_number": with_object(occurred_at=1_700_000_000),
    "created_beyond_any_date": with_envelope(created=10**30),
    "id_too_long": with_envelope(id="evt_" + "a" * 300),
    "tracking_number_too_long": with_object(tracking_number="SBX" + "1" * 300),
    "tracking_number_a_number": with_object(tracking_number=12345),
    "status_unknown": with_object(status="teleported"),
    "description_too_long": with_object(description="d" * 1_000),
    "location_too_long": with_object(location="l" * 1_000),
    "location_not_text": with_object(location={"city": "Lima"}),
}


class TestMalformedTrackingEvents:
    @pytest.mark.parametrize(
        "malform", MALFORMED_TRACKING_EVENTS.values(), ids=list(MALFORMED_TRACKING_EVENTS)
    )
    def test_is_refused_with_400_and_changes_nothing(
        self, webhooks: TestClient, parcel: dict, seller: Actor, shipping_secret: str,
        malform: Any,
    ) -> None:  # fmt: skip
        event = malform(tracking_event(parcel))

        response = deliver(webhooks, "/webhooks/shipping", shipping_secret, event)

        assert_error(response, 400, "bad_request")
        assert parcel_state(webhooks, seller, parcel) == LABELLED

    def test_an_unknown_event_type_is_acknowledged_and_ignored(
        self, webhooks: TestClient, parcel: dict, seller: Actor, shipping_secret: str
    ) -> None:
        event = tracking_event(parcel, status="delivered") | {"type": "tracking.label_voided"}

        response = deliver(webhooks, "/webhooks/shipping", shipping_secret, event)

        assert response.status_code == 202, response.text
        assert response.json() == {"received": True, "outcome": "ignored"}
        assert parcel_state(webhooks, seller, parcel) == LABELLED

    def test_a_well_formed_event_moves_the_parcel(
        self, webhooks: TestClient, parcel: dict, seller: Actor, shipping_secret: str
    ) -> None:
        response = deliver(webhooks, "/webhooks/shipping", shipping_secret, tracking_event(parcel))

        assert (response.status_code, response.json()["outcome"]) == (202, "in_transit")
        assert parcel_state(webhooks, seller, parcel) == (
            "in_transit", ["label_created", "in_transit"],
        )  # fmt: skip
