"""Every state-changing endpoint, called 2 and 8 times at once on the same object, ends
exactly where one call would have left it: one winner, the others told why (a 409 or
422, never a 500), and stock, money and counts moved once.

The interleaving is forced (``tests.racing``): on PostgreSQL a second connection holds
the contended row until all the calls wait for a lock, so each of them has read what it
reads before any of them may act. On SQLite one process lets one writer in at a time;
the ``slow`` tests race two worker processes of a real server on both databases.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop_api.core.config import Settings
from shop_api.models.outbox import OutboxEvent
from shop_api.models.promotions import CouponRedemption
from shop_api.providers.sandbox.models import SandboxWebhookDelivery
from shop_api.providers.signing import SIGNATURE_HEADER, sign
from tests.factories import ADDRESS, SUCCESS_CARD, Actor, Factory, assert_error
from tests.racing import Row, race, real_server, statuses

Send = Callable[..., httpx.Response]  # (method, path, **httpx request options)
RACERS = [2, 8]


@dataclass
class Arena:
    """Where a race runs: the shop's database, an in-process client to set the scene and
    look at the outcome, and ``send``, which the racing calls go through."""

    app: FastAPI
    client: TestClient
    factory: Factory
    db: Session
    database_url: str
    settings: Settings
    send: Send

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.send("POST", path, **kwargs)

    def race(self, n: int, hold: Row, request: Callable[[int], httpx.Response]) -> list:
        return race(self.database_url, [lambda i=i: request(i) for i in range(n)], hold=hold)

    def get(self, path: str, actor: Actor | None = None, headers: dict | None = None) -> Any:
        response = self.client.get(path, headers=actor.headers if actor else headers)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def arena(
    app: FastAPI, client: TestClient, factory: Factory, db: Session, database_url: str,
    settings: Settings,
) -> Arena:  # fmt: skip
    return Arena(app, client, factory, db, database_url, settings, client.request)


def order_moves(arena: Arena, actor: Actor, order_id: str) -> list[str]:
    history = arena.get(f"/orders/{order_id}/history", actor)
    return [change["to_status"] for change in history if change["group_id"] is None]


def losers(responses: list[httpx.Response], status: int, code: str) -> list[dict[str, Any]]:
    """The error of every response that is not a 2xx, each checked to be ``status``."""
    return [assert_error(r, status, code) for r in responses if r.status_code >= 300]


# -- the races ----------------------------------------------------------------------------


def cancelling(arena: Arena, n: int) -> None:
    """A paid order with a coupon, cancelled N times at once: stock and the coupon's
    redemption go back once, and the payment is refunded once."""
    factory = arena.factory
    seller, buyer, other = factory.user("seller"), factory.user("shopper"), factory.user()
    staff = factory.user("staff")
    listing = factory.listing(seller, price_minor=10_000, stock=10)
    coupon = factory.coupon(staff, max_redemptions=5)
    order = factory.paid_order(buyer, [listing], quantity=2, coupon_code=coupon["code"])
    factory.order(other, [listing], coupon_code=coupon["code"])  # holds 1 unit, 1 redemption

    responses = arena.race(
        n,
        Row("orders", uuid.UUID(order["id"])),
        lambda _: arena.post(f"/orders/{order['id']}/cancel", headers=buyer.headers),
    )

    assert statuses(responses) == [200] + [409] * (n - 1), [r.text for r in responses]
    losers(responses, 409, "conflict")
    factory.settle()
    after = arena.get(f"/orders/{order['id']}", buyer)
    assert after["status"] == "cancelled"
    assert arena.get(f"/listings/{listing['id']}")["stock"] == 10 - 1
    assert arena.get(f"/promotions/coupons/{coupon['code']}", staff)["redemptions_count"] == 1
    assert order_moves(arena, buyer, order["id"]).count("cancelled") == 1
    refunds = arena.get(f"/orders/{order['id']}/refunds", buyer)
    assert [(r["amount_minor"], r["status"]) for r in refunds] == [
        (order["total_minor"], "succeeded")
    ]
    assert after["refunded_minor"] == order["total_minor"]


def refunding(arena: Arena, n: int) -> None:
    """N staff refunds of 6,000 on a 10,000 order: one fits, the others are refused."""
    factory = arena.factory
    buyer, staff = factory.user("shopper"), factory.user("staff")
    listing = factory.listing(factory.user("seller"), price_minor=10_000, stock=5)
    order = factory.paid_order(buyer, [listing])
    assert order["total_minor"] == 10_000

    responses = arena.race(
        n,
        Row("orders", uuid.UUID(order["id"])),
        lambda _: arena.post(
            f"/orders/{order['id']}/refunds", json={"amount_minor": 6_000}, headers=staff.headers
        ),
    )

    assert statuses(responses) == [202] + [422] * (n - 1), [r.text for r in responses]
    assert all("At most 4000" in e["message"] for e in losers(responses, 422, "validation_error"))
    factory.settle()
    after = arena.get(f"/orders/{order['id']}", buyer)
    assert (after["status"], after["refunded_minor"]) == ("paid", 6_000)
    [payment] = arena.get(f"/orders/{order['id']}/payments", buyer)
    assert payment["refunded_minor"] == 6_000
    refunds = arena.get(f"/orders/{order['id']}/refunds", buyer)
    assert [(r["amount_minor"], r["status"]) for r in refunds] == [(6_000, "succeeded")]


def opening_payments(arena: Arena, n: int) -> None:
    """The buyer opens the payment of an order N times at once: one payment intent, and
    every call answers with it (as a second call after the first would)."""
    factory = arena.factory
    buyer = factory.user("shopper")
    order = factory.order(buyer, [factory.listing(factory.user("seller"), price_minor=10_000)])

    responses = arena.race(
        n,
        Row("orders", uuid.UUID(order["id"])),
        lambda _: arena.post(f"/orders/{order['id']}/payments", headers=buyer.headers),
    )

    assert statuses(responses) == [201] * n, [r.text for r in responses]
    assert len({r.json()["payment"]["id"] for r in responses}) == 1
    assert len(arena.get(f"/orders/{order['id']}/payments", buyer)) == 1


def succeeded_webhook(arena: Arena, n: int, *, same_event: bool) -> None:
    """The gateway's "payment succeeded" arrives N times at once, as one event delivered
    again or announced under new event ids: the order is paid once, with one purchase."""
    factory, client = arena.factory, arena.client
    buyer = factory.user("shopper")
    order = factory.order(buyer, [factory.listing(factory.user("seller"), price_minor=10_000)])
    started = client.post(f"/orders/{order['id']}/payments", headers=buyer.headers).json()
    intent_id = started["payment"]["provider_payment_id"]
    confirmed = client.post(
        started["confirm_url"],
        json={"client_secret": started["client_secret"], "card": SUCCESS_CARD},
    )
    assert confirmed.status_code == 200, confirmed.text
    arena.app.state.sandbox_gateway.process_due()  # the gateway decides; not delivered yet
    [delivery] = arena.db.scalars(
        select(SandboxWebhookDelivery).where(
            SandboxWebhookDelivery.event_type == "payment_intent.succeeded",
            SandboxWebhookDelivery.payload.contains(intent_id),
        )
    ).all()
    event = json.loads(delivery.payload)
    bodies = [
        json.dumps(event if same_event else event | {"id": f"evt_{uuid.uuid4().hex}"}).encode()
        for _ in range(n)
    ]
    secret = arena.settings.payments_webhook_secret.get_secret_value()

    def deliver(i: int) -> httpx.Response:
        signature = sign(secret, bodies[i], datetime.now(UTC))
        headers = {SIGNATURE_HEADER: signature, "Content-Type": "application/json"}
        return arena.post("/webhooks/payments", content=bodies[i], headers=headers)

    responses = arena.race(n, Row("orders", uuid.UUID(order["id"])), deliver)

    assert statuses(responses) == [202] * n, [r.text for r in responses]
    again = "duplicate" if same_event else "stale"
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == sorted(["paid"] + [again] * (n - 1))
    factory.settle()  # the rest of the gateway's deliveries: nothing more changes
    assert arena.get(f"/orders/{order['id']}", buyer)["status"] == "paid"
    assert order_moves(arena, buyer, order["id"]).count("paid") == 1
    [payment] = arena.get(f"/orders/{order['id']}/payments", buyer)
    assert [change["to_status"] for change in payment["history"]].count("succeeded") == 1
    assert arena.get(f"/orders/{order['id']}/refunds", buyer) == []
    purchases = arena.db.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.event_name == "purchase", OutboxEvent.user_id == buyer.id)
    )
    assert purchases == 1


def shipping(arena: Arena, n: int) -> None:
    """The seller ships a paid order N times at once: one shipment, the order shipped once."""
    factory = arena.factory
    seller, buyer = factory.user("seller"), factory.user("shopper")
    order = factory.paid_order(buyer, [factory.listing(seller)])

    responses = arena.race(
        n,
        Row("orders", uuid.UUID(order["id"])),
        lambda _: arena.post(f"/orders/{order['id']}/ship", headers=seller.headers),
    )

    assert statuses(responses) == [201] + [409] * (n - 1), [r.text for r in responses]
    losers(responses, 409, "conflict")
    [shipment] = arena.get(f"/orders/{order['id']}/tracking", buyer)
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert shipment["tracking_number"] == winner["tracking_number"]
    after = arena.get(f"/orders/{order['id']}", buyer)
    assert (after["status"], after["groups"][0]["status"]) == ("shipped", "label_created")
    assert order_moves(arena, buyer, order["id"]).count("shipped") == 1


def reviewing(arena: Arena, n: int) -> None:
    """The buyer reviews a delivered item N times at once: one review counts."""
    factory = arena.factory
    seller, buyer = factory.user("seller"), factory.user("shopper")
    listing = factory.listing(seller)
    order = factory.delivered_order(buyer, seller, [listing])
    item_id = order["items"][0]["id"]

    responses = arena.race(
        n,
        Row("orders", uuid.UUID(order["id"])),
        lambda i: arena.post(
            f"/orders/{order['id']}/reviews",
            json={"order_item_id": item_id, "rating": 1 + i % 5, "title": f"Take {i}"},
            headers=buyer.headers,
        ),
    )

    assert statuses(responses) == [201] + [409] * (n - 1), [r.text for r in responses]
    losers(responses, 409, "conflict")
    [winner] = [r.json() for r in responses if r.status_code == 201]
    rated = arena.get(f"/listings/{listing['id']}")
    assert (rated["rating_count"], rated["rating_average"]) == (1, winner["rating"])
    reviews = arena.get(f"/listings/{listing['id']}/reviews")
    assert [review["id"] for review in reviews["data"]] == [winner["id"]]


def redeeming(arena: Arena, n: int) -> None:
    """N buyers check out at once with a coupon that has one redemption left: one order
    gets it; the others are refused as a later buyer would be, and hold no stock."""
    factory = arena.factory
    staff = factory.user("staff")
    listing = factory.listing(factory.user("seller"), price_minor=10_000, stock=20)
    coupon = factory.coupon(staff, max_redemptions=1)
    buyers = [factory.user("shopper") for _ in range(n)]
    for buyer in buyers:
        added = arena.client.post(
            "/cart/items", json={"listing_id": listing["id"]}, headers=buyer.headers
        )
        assert added.status_code == 201, added.text

    responses = arena.race(
        n,
        Row("coupons", uuid.UUID(coupon["id"])),
        lambda i: arena.post(
            "/checkout",
            json={"shipping_address": ADDRESS, "coupon_code": coupon["code"]},
            headers={**buyers[i].headers, "Idempotency-Key": uuid.uuid4().hex},
        ),
    )

    assert statuses(responses) == [201] + [422] * (n - 1), [r.text for r in responses]
    for error in losers(responses, 422, "validation_error"):
        assert error["details"][0]["msg"] == "no redemptions left", error
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert winner["discount_minor"] == 1_000
    assert arena.get(f"/promotions/coupons/{coupon['code']}", staff)["redemptions_count"] == 1
    redemptions = arena.db.scalar(
        select(func.count())
        .select_from(CouponRedemption)
        .where(CouponRedemption.coupon_id == uuid.UUID(coupon["id"]))
    )
    assert redemptions == 1
    assert arena.get(f"/listings/{listing['id']}")["stock"] == 20 - 1


def merging(arena: Arena, n: int) -> None:
    """A device's cart is merged into the account's by N logins at once: quantities add
    up once, and the device's cart is gone."""
    factory, client = arena.factory, arena.client
    seller, buyer = factory.user("seller"), factory.user("shopper")
    camera, lens = factory.listing(seller, stock=10), factory.listing(seller, stock=10)
    device = {"X-Client-Id": f"device-{uuid.uuid4().hex}"}
    for listing, quantity, headers in (
        (camera, 1, buyer.headers), (camera, 2, device), (lens, 1, device)
    ):  # fmt: skip
        added = client.post(
            "/cart/items", json={"listing_id": listing["id"], "quantity": quantity},
            headers=headers,
        )  # fmt: skip
        assert added.status_code == 201, added.text
    anonymous_cart = added.json()["id"]

    responses = arena.race(
        n,
        Row("carts", uuid.UUID(anonymous_cart)),
        lambda _: arena.post(
            "/auth/token",
            data={"username": buyer.email, "password": buyer.password},
            headers=device,
        ),
    )

    assert statuses(responses) == [200] * n, [r.text for r in responses]
    merged = arena.get("/cart", buyer)
    assert {line["listing_id"]: line["quantity"] for line in merged["items"]} == {
        camera["id"]: 3,
        lens["id"]: 1,
    }
    assert arena.get("/cart", headers=device)["items"] == []


def adding(arena: Arena, n: int, start: str = "another line") -> None:
    """A listing is added to the cart N times at once (a double click): every add counts,
    as it would one after the other; from no cart yet, from a cart holding another line
    or one unit of the same listing."""
    factory, client = arena.factory, arena.client
    seller, buyer = factory.user("seller"), factory.user("shopper")
    camera, lens = factory.listing(seller, stock=20), factory.listing(seller, stock=20)
    before = {"no cart": None, "another line": lens, "same line": camera}[start]
    if before is None:  # the cart is made by the racing calls: each of them adds a line
        hold, expected = Row("listings", uuid.UUID(camera["id"])), {camera["id"]: n}
    else:
        added = client.post("/cart/items", json={"listing_id": before["id"]}, headers=buyer.headers)
        assert added.status_code == 201, added.text
        cart = added.json()
        [line] = cart["items"]
        if before is lens:
            hold, expected = Row("carts", uuid.UUID(cart["id"])), {lens["id"]: 1, camera["id"]: n}
        else:
            hold, expected = Row("cart_items", uuid.UUID(line["id"])), {camera["id"]: 1 + n}

    responses = arena.race(
        n,
        hold,
        lambda _: arena.post(
            "/cart/items", json={"listing_id": camera["id"]}, headers=buyer.headers
        ),
    )

    assert statuses(responses) == [201] * n, [r.text for r in responses]
    cart = arena.get("/cart", buyer)
    assert {line["listing_id"]: line["quantity"] for line in cart["items"]} == expected


def removing(arena: Arena, n: int) -> None:
    """A cart line is removed N times at once: it is gone, and the later removals are
    told so (404), as they would be one after the other."""
    factory, client = arena.factory, arena.client
    buyer = factory.user("shopper")
    camera = factory.listing(factory.user("seller"))
    added = client.post("/cart/items", json={"listing_id": camera["id"]}, headers=buyer.headers)
    assert added.status_code == 201, added.text
    [line] = added.json()["items"]

    responses = arena.race(
        n,
        Row("cart_items", uuid.UUID(line["id"])),
        lambda _: arena.send("DELETE", f"/cart/items/{line['id']}", headers=buyer.headers),
    )

    assert statuses(responses) == [204] + [404] * (n - 1), [r.text for r in responses]
    losers(responses, 404, "not_found")
    assert arena.get("/cart", buyer)["items"] == []


def answering(arena: Arena, n: int) -> None:
    """The seller answers a question N times at once: one answer, one notification."""
    factory = arena.factory
    seller, asker = factory.user("seller"), factory.user("shopper")
    listing = factory.listing(seller)
    question = factory.question(asker, listing["id"])

    responses = arena.race(
        n,
        Row("questions", uuid.UUID(question["id"])),
        lambda i: arena.post(
            f"/questions/{question['id']}/answer",
            json={"body": f"Yes, answer number {i}"},
            headers=seller.headers,
        ),
    )

    assert statuses(responses) == [200] + [409] * (n - 1), [r.text for r in responses]
    losers(responses, 409, "conflict")
    [winner] = [r.json() for r in responses if r.status_code == 200]
    [stored] = arena.get(f"/listings/{listing['id']}/questions")["data"]
    assert stored["answer"] == winner["answer"]
    told = arena.get("/me/notifications", asker)["data"]
    assert [note["kind"] for note in told].count("question_answered") == 1


# -- in process: every race with 2 and with 8 callers, on SQLite and PostgreSQL ---------


@pytest.mark.parametrize("n", RACERS)
class TestInProcess:
    def test_cancel(self, arena: Arena, n: int) -> None:
        cancelling(arena, n)

    def test_refund(self, arena: Arena, n: int) -> None:
        refunding(arena, n)

    def test_open_payment(self, arena: Arena, n: int) -> None:
        opening_payments(arena, n)

    @pytest.mark.parametrize("same_event", [True, False], ids=["redelivered", "new-event-ids"])
    def test_payment_succeeded_webhook(self, arena: Arena, n: int, same_event: bool) -> None:
        succeeded_webhook(arena, n, same_event=same_event)

    def test_ship(self, arena: Arena, n: int) -> None:
        shipping(arena, n)

    def test_review(self, arena: Arena, n: int) -> None:
        reviewing(arena, n)

    def test_coupon_redemption(self, arena: Arena, n: int) -> None:
        redeeming(arena, n)

    def test_cart_merge_at_login(self, arena: Arena, n: int) -> None:
        merging(arena, n)

    def test_answer(self, arena: Arena, n: int) -> None:
        answering(arena, n)

    def test_remove_from_cart(self, arena: Arena, n: int) -> None:
        removing(arena, n)

    @pytest.mark.parametrize("start", ["no cart", "another line", "same line"])
    def test_add_to_cart(self, arena: Arena, n: int, start: str) -> None:
        adding(arena, n, start)


# -- a real server with two worker processes: eight callers ------------------------------


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with real_server(settings, tmp_path_factory.mktemp("server")) as base_url:
        yield base_url


@pytest.fixture
def server_arena(arena: Arena, server: str) -> Iterator[Arena]:
    def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Each call on its own connection: one shared keep-alive connection would queue them.
        with httpx.Client(base_url=server, timeout=120.0) as http:
            return http.request(method, path, **kwargs)

    arena.send = send
    yield arena


ACROSS_PROCESSES = [
    cancelling, refunding, opening_payments, shipping, reviewing, redeeming, merging, adding,
    removing, answering,
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ACROSS_PROCESSES, ids=lambda scenario: scenario.__name__)
def test_two_worker_processes(server_arena: Arena, scenario: Callable[[Arena, int], None]) -> None:
    scenario(server_arena, 8)


@pytest.mark.slow
def test_two_worker_processes_succeeded_webhook(server_arena: Arena) -> None:
    succeeded_webhook(server_arena, 8, same_event=False)


def test_a_race_is_forced_not_hoped_for(arena: Arena) -> None:
    """The harness itself: on PostgreSQL a call that answers while the row is held (it
    decided without the lock) fails the race."""
    if not arena.database_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks to hold")
    question = arena.factory.question(
        arena.factory.user(), arena.factory.listing(arena.factory.user("seller"))["id"]
    )
    with pytest.raises(AssertionError, match="answered while the contended row was held"):
        arena.race(
            2,
            Row("questions", uuid.UUID(question["id"])),
            lambda _: arena.post(f"/listings/{uuid.uuid4()}/questions", json={"body": "x"}),
        )
