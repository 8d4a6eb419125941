"""Carts (signed in and anonymous, merged at login), checkout into per-seller groups with
held stock, idempotent retries, who sees which order, and every way an order ends early
giving its stock back: cancellation, declined payments, and an expired reservation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from shop_api.core.clock import FrozenClock
from shop_api.core.config import Settings
from shop_api.jobs import run_until_quiet
from shop_api.main import create_app
from shop_api.models.orders import Order
from shop_api.orders.lifecycle import expire_reservations
from shop_api.providers.sandbox.webhooks import deliver_due
from tests.factories import ADDRESS, DECLINED_CARD, SUCCESS_CARD, Actor, Factory, assert_error


def add(client: TestClient, headers: dict[str, str], listing_id: str, quantity: int = 1) -> Any:
    return client.post(
        "/cart/items", json={"listing_id": listing_id, "quantity": quantity}, headers=headers
    )


def cart(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/cart", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def checkout(client: TestClient, buyer: Actor, key: str | None = None, **body: Any) -> Any:
    headers = dict(buyer.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/checkout", json={"shipping_address": ADDRESS, **body}, headers=headers)


def listing_now(client: TestClient, listing: dict[str, Any]) -> dict[str, Any]:
    return client.get(f"/listings/{listing['id']}").json()


def read_order(client: TestClient, actor: Actor, order_id: str) -> dict[str, Any]:
    response = client.get(f"/orders/{order_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def payments(client: TestClient, actor: Actor, order_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/orders/{order_id}/payments", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def cancellation(client: TestClient, actor: Actor, order_id: str) -> str:
    """The reason the order was cancelled for, from its history."""
    history = client.get(f"/orders/{order_id}/history", headers=actor.headers).json()
    [reason] = [
        change["reason"]
        for change in history
        if change["group_id"] is None and change["to_status"] == "cancelled"
    ]
    return reason


def anonymous(client_id: str | None = None) -> dict[str, str]:
    return {"X-Client-Id": client_id or f"device-{uuid.uuid4().hex}"}


def login(client: TestClient, actor: Actor, headers: dict[str, str] | None = None) -> Actor:
    response = client.post(
        "/auth/token",
        data={"username": actor.email, "password": actor.password},
        headers=headers or {},
    )
    assert response.status_code == 200, response.text
    return Actor(actor.id, actor.email, actor.password, actor.role, response.json()["access_token"])


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, title="Film camera", price_minor=12_500, stock=3)


# -- carts ----------------------------------------------------------------------------


class TestAddToCart:
    def test_anonymous_without_client_id(self, client: TestClient, listing: dict) -> None:
        assert_error(add(client, {}, listing["id"]), 401, "unauthorized")
        assert_error(client.get("/cart"), 401, "unauthorized")

    @pytest.mark.parametrize(
        ("client_id", "status"),
        [("short", 400), ("has spaces in it", 400), ("device/with/slashes", 400), ("x" * 65, 422)],
    )
    def test_bad_client_id(
        self, client: TestClient, listing: dict, client_id: str, status: int
    ) -> None:
        assert_error(add(client, {"X-Client-Id": client_id}, listing["id"]), status)
        assert_error(client.get("/cart", headers={"X-Client-Id": client_id}), status)

    def test_not_existing(self, client: TestClient, shopper: Actor) -> None:
        assert_error(add(client, shopper.headers, str(uuid.uuid4())), 404, "not_found")

    def test_draft_listing_is_not_found(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        draft = factory.listing(seller, status="draft")

        assert_error(add(client, shopper.headers, draft["id"]), 404, "not_found")

    def test_own_listing(self, client: TestClient, listing: dict, seller: Actor) -> None:
        assert_error(add(client, seller.headers, listing["id"]), 409, "conflict")
        assert cart(client, seller.headers)["items"] == []

    @pytest.mark.parametrize("quantity", [0, -1, 100, "two"])
    def test_validation(
        self, client: TestClient, listing: dict, shopper: Actor, quantity: Any
    ) -> None:
        assert_error(add(client, shopper.headers, listing["id"], quantity), 422)

    def test_valid(self, client: TestClient, listing: dict, seller: Actor, shopper: Actor) -> None:
        response = add(client, shopper.headers, listing["id"], 2)

        assert response.status_code == 201, response.text
        body = response.json()
        [line] = body["items"]
        assert line["listing_id"] == listing["id"]
        assert line["seller_id"] == str(seller.id)
        assert (line["quantity"], line["unit_price_minor"]) == (2, 12_500)
        assert line["line_total_minor"] == 25_000
        assert line["available"] is True
        assert (body["item_count"], body["subtotal_minor"], body["currency"]) == (2, 25_000, "USD")
        assert listing_now(client, listing)["stock"] == 3  # checked, not held

    def test_adding_again_raises_the_quantity(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"], 1)

        response = add(client, shopper.headers, listing["id"], 2)

        assert response.status_code == 201, response.text
        [line] = response.json()["items"]
        assert line["quantity"] == 3

    def test_more_than_in_stock(self, client: TestClient, listing: dict, shopper: Actor) -> None:
        error = assert_error(add(client, shopper.headers, listing["id"], 4), 409, "conflict")

        assert error["details"] == {"available": 3}
        assert cart(client, shopper.headers)["items"] == []

    def test_more_than_in_stock_across_adds(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"], 2)

        assert_error(add(client, shopper.headers, listing["id"], 2), 409, "conflict")
        assert cart(client, shopper.headers)["items"][0]["quantity"] == 2

    def test_sold_out_listing(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        single = factory.listing(seller, stock=1)
        factory.order(factory.user("shopper"), [single])
        assert listing_now(client, single)["status"] == "sold_out"

        assert_error(add(client, shopper.headers, single["id"]), 409, "conflict")

    def test_carts_are_per_user(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])

        assert cart(client, factory.user("shopper").headers)["items"] == []
        assert cart(client, anonymous())["items"] == []

    def test_anonymous_cart_by_client_id(self, client: TestClient, listing: dict) -> None:
        device = anonymous()

        assert add(client, device, listing["id"], 2).status_code == 201

        assert cart(client, device)["items"][0]["quantity"] == 2
        assert cart(client, anonymous())["items"] == []

    def test_cart_shows_current_prices_and_availability(
        self, client: TestClient, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"], 2)
        client.patch(
            f"/listings/{listing['id']}",
            json={"price_minor": 10_000, "status": "paused"},
            headers=seller.headers,
        )

        body = cart(client, shopper.headers)

        [line] = body["items"]
        assert (line["unit_price_minor"], line["available"]) == (10_000, False)
        assert (body["subtotal_minor"], body["currency"]) == (0, None)


class TestChangeCart:
    def test_change_quantity(self, client: TestClient, listing: dict, shopper: Actor) -> None:
        [line] = add(client, shopper.headers, listing["id"]).json()["items"]

        response = client.patch(
            f"/cart/items/{line['id']}", json={"quantity": 3}, headers=shopper.headers
        )

        assert response.status_code == 200, response.text
        assert response.json()["items"][0]["quantity"] == 3

    def test_change_above_stock(self, client: TestClient, listing: dict, shopper: Actor) -> None:
        [line] = add(client, shopper.headers, listing["id"]).json()["items"]

        response = client.patch(
            f"/cart/items/{line['id']}", json={"quantity": 4}, headers=shopper.headers
        )

        assert assert_error(response, 409, "conflict")["details"] == {"available": 3}

    @pytest.mark.parametrize("body", [{"quantity": 0}, {}, {"quantity": 1, "extra": True}])
    def test_change_validation(
        self, client: TestClient, listing: dict, shopper: Actor, body: dict
    ) -> None:
        [line] = add(client, shopper.headers, listing["id"]).json()["items"]

        response = client.patch(f"/cart/items/{line['id']}", json=body, headers=shopper.headers)

        assert_error(response, 422)

    def test_remove(self, client: TestClient, listing: dict, shopper: Actor) -> None:
        [line] = add(client, shopper.headers, listing["id"]).json()["items"]

        response = client.delete(f"/cart/items/{line['id']}", headers=shopper.headers)

        assert response.status_code == 204
        assert cart(client, shopper.headers)["items"] == []
        again = client.delete(f"/cart/items/{line['id']}", headers=shopper.headers)
        assert_error(again, 404, "not_found")

    def test_someone_elses_item_is_not_found(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        [line] = add(client, shopper.headers, listing["id"]).json()["items"]
        intruder = factory.user("shopper")

        changed = client.patch(
            f"/cart/items/{line['id']}", json={"quantity": 2}, headers=intruder.headers
        )
        removed = client.delete(f"/cart/items/{line['id']}", headers=intruder.headers)
        by_device = client.delete(f"/cart/items/{line['id']}", headers=anonymous())

        assert_error(changed, 404, "not_found")
        assert_error(removed, 404, "not_found")
        assert_error(by_device, 404, "not_found")
        assert cart(client, shopper.headers)["items"][0]["quantity"] == 1


class TestMergeAtLogin:
    def test_device_cart_moves_into_the_users(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        camera = factory.listing(seller, title="Camera", stock=5)
        lens = factory.listing(seller, title="Lens", stock=5)
        add(client, shopper.headers, camera["id"], 1)
        device = anonymous()
        add(client, device, camera["id"], 2)
        add(client, device, lens["id"], 1)

        signed_in = login(client, shopper, device)

        merged = {
            line["title"]: line["quantity"] for line in cart(client, signed_in.headers)["items"]
        }
        assert merged == {"Camera": 3, "Lens": 1}
        assert cart(client, device)["items"] == []

    def test_merged_quantities_are_capped_by_stock(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        scarce = factory.listing(seller, stock=3)
        add(client, shopper.headers, scarce["id"], 2)
        device = anonymous()
        add(client, device, scarce["id"], 3)

        login(client, shopper, device)

        assert cart(client, shopper.headers)["items"][0]["quantity"] == 3

    def test_sellers_own_listings_are_left_out(
        self, client: TestClient, factory: Factory, seller: Actor, other_seller: Actor
    ) -> None:
        own = factory.listing(seller, title="Mine")
        theirs = factory.listing(other_seller, title="Theirs")
        device = anonymous()
        add(client, device, own["id"])
        add(client, device, theirs["id"])

        login(client, seller, device)

        assert [line["title"] for line in cart(client, seller.headers)["items"]] == ["Theirs"]

    def test_login_without_client_id_leaves_the_device_cart(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        device = anonymous()
        add(client, device, listing["id"])

        login(client, shopper)

        assert cart(client, shopper.headers)["items"] == []
        assert len(cart(client, device)["items"]) == 1

    @pytest.mark.parametrize("client_id", ["bad id!", "device-without-a-cart"])
    def test_login_with_an_unusable_client_id_still_signs_in(
        self, client: TestClient, shopper: Actor, client_id: str
    ) -> None:
        signed_in = login(client, shopper, {"X-Client-Id": client_id})

        assert cart(client, signed_in.headers)["items"] == []

    def test_failed_login_merges_nothing(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        device = anonymous()
        add(client, device, listing["id"])

        response = client.post(
            "/auth/token", data={"username": shopper.email, "password": "wrong"}, headers=device
        )

        assert_error(response, 401, "unauthorized")
        assert len(cart(client, device)["items"]) == 1
        assert cart(client, shopper.headers)["items"] == []


# -- checkout -------------------------------------------------------------------------


class TestCheckout:
    def test_anonymous(self, client: TestClient) -> None:
        response = client.post(
            "/checkout", json={"shipping_address": ADDRESS}, headers={"Idempotency-Key": "k1"}
        )

        assert_error(response, 401, "unauthorized")

    @pytest.mark.parametrize("key", [None, "", "   "])
    def test_idempotency_key_is_required(
        self, client: TestClient, listing: dict, shopper: Actor, key: str | None
    ) -> None:
        add(client, shopper.headers, listing["id"])

        assert_error(checkout(client, shopper, key), 400, "bad_request")
        assert listing_now(client, listing)["stock"] == 3

    def test_overlong_idempotency_key(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])

        assert_error(checkout(client, shopper, "k" * 256), 422)

    @pytest.mark.parametrize(
        "body",
        [
            {"shipping_address": {**ADDRESS, "country": "Brazil"}},
            {"shipping_address": {**ADDRESS, "city": ""}},
            {"shipping_address": {key: v for key, v in ADDRESS.items() if key != "line1"}},
            {"shipping_address": ADDRESS, "coupon_code": ""},
            {"shipping_address": ADDRESS, "gift": True},
            {},
        ],
    )
    def test_validation(
        self, client: TestClient, listing: dict, shopper: Actor, body: dict
    ) -> None:
        add(client, shopper.headers, listing["id"])

        response = client.post(
            "/checkout", json=body, headers={**shopper.headers, "Idempotency-Key": "v"}
        )

        assert_error(response, 422)

    def test_empty_cart(self, client: TestClient, shopper: Actor) -> None:
        assert_error(checkout(client, shopper, uuid.uuid4().hex), 409, "conflict")

    def test_mixed_currencies(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        dollars = factory.listing(seller, currency="USD")
        euros = factory.listing(seller, currency="EUR")
        add(client, shopper.headers, dollars["id"])
        add(client, shopper.headers, euros["id"])

        error = assert_error(checkout(client, shopper, uuid.uuid4().hex), 409, "conflict")

        assert error["details"] == {"currencies": ["EUR", "USD"]}
        assert listing_now(client, dollars)["stock"] == listing_now(client, euros)["stock"] == 3
        assert len(cart(client, shopper.headers)["items"]) == 2

    def test_item_no_longer_on_sale(
        self, client: TestClient, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])
        client.patch(
            f"/listings/{listing['id']}", json={"status": "paused"}, headers=seller.headers
        )

        error = assert_error(checkout(client, shopper, uuid.uuid4().hex), 409, "conflict")

        assert error["details"] == {"unavailable_listings": [listing["id"]]}

    def test_stock_taken_since_it_was_added(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"], 2)
        factory.order(factory.user("shopper"), [listing], quantity=2)

        error = assert_error(checkout(client, shopper, uuid.uuid4().hex), 409, "conflict")

        assert error["details"] == {"listing_id": listing["id"]}
        assert listing_now(client, listing)["stock"] == 1
        assert cart(client, shopper.headers)["items"][0]["quantity"] == 2  # cart kept

    def test_one_order_split_per_seller(
        self, client: TestClient, factory: Factory, seller: Actor, other_seller: Actor,
        shopper: Actor,
    ) -> None:  # fmt: skip
        camera = factory.listing(seller, title="Camera", price_minor=10_000, stock=5)
        strap = factory.listing(seller, title="Strap", price_minor=1_500, stock=5)
        film = factory.listing(other_seller, title="Film", price_minor=800, stock=10)
        add(client, shopper.headers, camera["id"], 1)
        add(client, shopper.headers, strap["id"], 2)
        add(client, shopper.headers, film["id"], 3)

        response = checkout(client, shopper, uuid.uuid4().hex)

        assert response.status_code == 201, response.text
        order = response.json()
        assert order["status"] == "pending_payment"
        assert order["buyer_id"] == str(shopper.id)
        assert order["shipping_address"] == {**ADDRESS, "line2": None, "region": None}
        by_seller = {group["seller_id"]: group for group in order["groups"]}
        assert set(by_seller) == {str(seller.id), str(other_seller.id)}
        assert by_seller[str(seller.id)]["subtotal_minor"] == 13_000
        assert by_seller[str(other_seller.id)]["subtotal_minor"] == 2_400
        assert all(group["status"] == "awaiting_payment" for group in order["groups"])
        for item in order["items"]:
            assert by_seller[item["seller_id"]]["id"] == item["group_id"]
        assert order["subtotal_minor"] == order["total_minor"] == 15_400
        assert cart(client, shopper.headers)["items"] == []
        assert [listing_now(client, x)["stock"] for x in (camera, strap, film)] == [4, 3, 7]

    def test_totals_add_up_with_tax_and_shipping(
        self, settings: Settings, factory: Factory, seller: Actor, other_seller: Actor,
        shopper: Actor,
    ) -> None:  # fmt: skip
        taxed = create_app(
            settings.model_copy(update={"tax_rate_bps": 1_000, "shipping_fee_minor": 499})
        )
        with TestClient(taxed) as client:
            odd = factory.listing(seller, price_minor=1_005, stock=5)
            even = factory.listing(other_seller, price_minor=2_000, stock=5)
            add(client, shopper.headers, odd["id"], 1)
            add(client, shopper.headers, even["id"], 2)

            order = checkout(client, shopper, uuid.uuid4().hex).json()

        items = {item["listing_id"]: item for item in order["items"]}
        assert items[odd["id"]]["tax_minor"] == 101  # 100.5 rounds half up
        assert items[odd["id"]]["line_total_minor"] == 1_106
        assert items[even["id"]]["tax_minor"] == 400
        assert items[even["id"]]["line_total_minor"] == 4_400
        for group in order["groups"]:
            assert group["shipping_minor"] == 499
            assert group["total_minor"] == (
                group["subtotal_minor"] - group["discount_minor"] + group["tax_minor"]
                + group["shipping_minor"]
            )  # fmt: skip
        for field in ("subtotal_minor", "discount_minor", "tax_minor", "shipping_minor"):
            assert order[field] == sum(group[field] for group in order["groups"])
        assert order["total_minor"] == sum(group["total_minor"] for group in order["groups"])
        assert order["total_minor"] == 1_005 + 4_000 + 101 + 400 + 2 * 499
        assert order["total_minor"] == sum(i["line_total_minor"] for i in order["items"]) + 998

    def test_prices_are_snapshotted(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing])

        client.patch(
            f"/listings/{listing['id']}",
            json={"price_minor": 99_900, "title": "Renamed camera"},
            headers=seller.headers,
        )

        again = read_order(client, shopper, order["id"])
        assert again["total_minor"] == order["total_minor"] == 12_500
        assert again["items"][0]["unit_price_minor"] == 12_500
        assert again["items"][0]["title"] == "Film camera"

    def test_last_units_sell_out_the_listing(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        factory.order(shopper, [listing], quantity=3)

        now_listed = listing_now(client, listing)
        assert (now_listed["stock"], now_listed["status"]) == (0, "sold_out")
        assert_error(add(client, factory.user("shopper").headers, listing["id"]), 409)


class TestIdempotency:
    def test_replay_returns_the_same_order(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])
        key = uuid.uuid4().hex
        first = checkout(client, shopper, key)

        replay = checkout(client, shopper, key)

        assert first.status_code == 201, first.text
        assert "Idempotent-Replayed" not in first.headers
        assert replay.status_code == 200, replay.text
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == first.json()["id"]
        assert replay.json() == first.json()
        assert listing_now(client, listing)["stock"] == 2  # held once
        orders = client.get("/orders", headers=shopper.headers).json()
        assert orders["count"] == 1

    def test_replay_leaves_a_refilled_cart_alone(
        self, client: TestClient, factory: Factory, seller: Actor, listing: dict, shopper: Actor
    ) -> None:
        other = factory.listing(seller, title="Tripod", price_minor=4_000, stock=5)
        add(client, shopper.headers, listing["id"])
        key = uuid.uuid4().hex
        first = checkout(client, shopper, key).json()
        add(client, shopper.headers, other["id"], quantity=2)

        replay = checkout(client, shopper, key)

        assert replay.status_code == 200, replay.text
        assert replay.json()["id"] == first["id"]
        assert [line["listing_id"] for line in cart(client, shopper.headers)["items"]] == [
            other["id"]
        ]
        assert listing_now(client, other)["stock"] == 5  # nothing held for the replay
        assert client.get("/orders", headers=shopper.headers).json()["count"] == 1

    def test_replay_wins_over_a_cart_that_could_not_be_bought(
        self, client: TestClient, factory: Factory, seller: Actor, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])
        key = uuid.uuid4().hex
        first = checkout(client, shopper, key).json()
        paused = factory.listing(seller, title="Light meter", price_minor=2_000, stock=1)
        add(client, shopper.headers, paused["id"])
        response = client.patch(
            f"/listings/{paused['id']}", json={"status": "paused"}, headers=seller.headers
        )
        assert response.status_code == 200, response.text

        replay = checkout(client, shopper, key)

        assert replay.status_code == 200, replay.text
        assert replay.json()["id"] == first["id"]

    def test_same_key_with_another_body(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])
        key = uuid.uuid4().hex
        first = checkout(client, shopper, key).json()

        other_address = {**ADDRESS, "line1": "Avenida Paulista 1000"}
        response = checkout(client, shopper, key, shipping_address=other_address)

        error = assert_error(response, 409, "conflict")
        assert error["details"] == {"order_id": first["id"]}
        kept = read_order(client, shopper, first["id"])["shipping_address"]
        assert kept["line1"] == ADDRESS["line1"]

    def test_new_key_is_a_new_checkout(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        add(client, shopper.headers, listing["id"])
        assert checkout(client, shopper, uuid.uuid4().hex).status_code == 201

        assert_error(checkout(client, shopper, uuid.uuid4().hex), 409, "conflict")  # cart empty

    def test_keys_belong_to_their_buyer(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        other = factory.user("shopper")
        key = uuid.uuid4().hex
        add(client, shopper.headers, listing["id"])
        add(client, other.headers, listing["id"])

        mine, theirs = checkout(client, shopper, key), checkout(client, other, key)

        assert (mine.status_code, theirs.status_code) == (201, 201)
        assert mine.json()["id"] != theirs.json()["id"]

    def test_failed_checkout_does_not_burn_the_key(
        self, client: TestClient, listing: dict, shopper: Actor
    ) -> None:
        key = uuid.uuid4().hex
        assert_error(checkout(client, shopper, key), 409)  # empty cart
        add(client, shopper.headers, listing["id"])

        assert checkout(client, shopper, key).status_code == 201


# -- who sees which order ---------------------------------------------------------------


class TestVisibility:
    @pytest.fixture
    def order(
        self, factory: Factory, seller: Actor, other_seller: Actor, shopper: Actor
    ) -> dict[str, Any]:
        mine = factory.listing(seller, title="Seller's camera", price_minor=10_000)
        theirs = factory.listing(other_seller, title="Other's lens", price_minor=3_000)
        return factory.order(shopper, [mine, theirs])

    def test_buyer_sees_the_whole_order(
        self, client: TestClient, order: dict, shopper: Actor
    ) -> None:
        seen = read_order(client, shopper, order["id"])

        assert len(seen["groups"]) == len(seen["items"]) == 2
        assert seen["total_minor"] == 13_000

    def test_staff_see_the_whole_order(self, client: TestClient, order: dict, staff: Actor) -> None:
        seen = read_order(client, staff, order["id"])

        assert len(seen["groups"]) == len(seen["items"]) == 2

    def test_seller_sees_only_their_part(
        self, client: TestClient, order: dict, seller: Actor
    ) -> None:
        seen = read_order(client, seller, order["id"])

        [group] = seen["groups"]
        [item] = seen["items"]
        assert group["seller_id"] == item["seller_id"] == str(seller.id)
        assert item["title"] == "Seller's camera"
        assert (seen["subtotal_minor"], seen["total_minor"]) == (10_000, 10_000)

    def test_seller_sees_only_their_groups_history(
        self, client: TestClient, factory: Factory, order: dict, seller: Actor, shopper: Actor
    ) -> None:
        factory.pay(shopper, order["id"])
        mine = read_order(client, seller, order["id"])["groups"][0]["id"]

        history = client.get(f"/orders/{order['id']}/history", headers=seller.headers).json()
        everything = client.get(f"/orders/{order['id']}/history", headers=shopper.headers).json()

        assert {change["group_id"] for change in history} == {None, mine}
        assert len({change["group_id"] for change in everything}) == 3

    def test_strangers_see_nothing(self, client: TestClient, factory: Factory, order: dict) -> None:
        for stranger in (factory.user("shopper"), factory.user("seller")):
            response = client.get(f"/orders/{order['id']}", headers=stranger.headers)
            assert_error(response, 404, "not_found")

    def test_not_existing(self, client: TestClient, shopper: Actor) -> None:
        assert_error(client.get(f"/orders/{uuid.uuid4()}", headers=shopper.headers), 404)

    def test_anonymous(self, client: TestClient, order: dict) -> None:
        assert_error(client.get(f"/orders/{order['id']}"), 401)
        assert_error(client.get("/orders"), 401)

    def test_order_lists(
        self, client: TestClient, order: dict, seller: Actor, other_seller: Actor,
        shopper: Actor, staff: Actor,
    ) -> None:  # fmt: skip
        def ids(actor: Actor, url: str, **params: Any) -> list[str]:
            response = client.get(url, params=params, headers=actor.headers)
            assert response.status_code == 200, response.text
            return [row["id"] for row in response.json()["data"]]

        assert ids(shopper, "/orders") == [order["id"]]
        assert ids(shopper, "/orders", scope="all") == [order["id"]]  # only staff list all
        assert ids(seller, "/orders") == []  # sales are not purchases
        assert ids(seller, "/seller/orders") == [order["id"]]
        assert ids(other_seller, "/seller/orders") == [order["id"]]
        assert ids(staff, "/seller/orders") == []  # staff sell nothing
        assert order["id"] in ids(staff, "/orders", scope="all", page_size=100)
        assert ids(seller, "/seller/orders", status="paid") == []
        assert_error(client.get("/seller/orders", headers=shopper.headers), 403, "forbidden")

    def test_seller_sales_count_only_their_items(
        self, client: TestClient, order: dict, seller: Actor, shopper: Actor
    ) -> None:
        response = client.get("/seller/sales", headers=seller.headers)

        assert response.status_code == 200, response.text
        assert response.json() == {
            "seller_id": str(seller.id),
            "by_status": [
                {"status": "pending_payment", "currency": "USD", "orders": 1, "units": 1,
                 "amount_minor": 10_000},
            ],
        }  # fmt: skip
        assert_error(client.get("/seller/sales", headers=shopper.headers), 403, "forbidden")


# -- ending early: stock goes back -------------------------------------------------------


class TestCancellation:
    def test_cancel_releases_stock(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing], quantity=3)
        assert listing_now(client, listing)["status"] == "sold_out"

        response = client.post(
            f"/orders/{order['id']}/cancel", json={"reason": "changed my mind"},
            headers=shopper.headers,
        )  # fmt: skip

        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["cancelled_at"] is not None
        assert cancelled["reservation_expires_at"] is None
        assert [group["status"] for group in cancelled["groups"]] == ["cancelled"]
        again = listing_now(client, listing)
        assert (again["stock"], again["status"]) == (3, "active")
        assert cancellation(client, shopper, order["id"]) == "changed my mind"

    def test_cancel_voids_the_open_payment(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing])
        started = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers).json()

        client.post(f"/orders/{order['id']}/cancel", headers=shopper.headers)
        factory.settle()

        [payment] = payments(client, shopper, order["id"])
        assert payment["status"] == "canceled"
        confirm = client.post(
            started["confirm_url"],
            json={"client_secret": started["client_secret"], "card": SUCCESS_CARD},
        )
        assert_error(confirm, 409)  # the gateway will not take a card for it any more

    def test_cancel_after_payment_refunds_in_full(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        order = factory.paid_order(shopper, [listing])

        response = client.post(f"/orders/{order['id']}/cancel", headers=shopper.headers)
        factory.settle()

        assert response.status_code == 200, response.text
        after = read_order(client, shopper, order["id"])
        assert after["status"] == "cancelled"
        assert after["refunded_minor"] == after["total_minor"] == 12_500
        [refund] = client.get(f"/orders/{order['id']}/refunds", headers=shopper.headers).json()
        assert (refund["amount_minor"], refund["status"]) == (12_500, "succeeded")
        assert listing_now(client, listing)["stock"] == 3

    def test_staff_may_cancel(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor, staff: Actor
    ) -> None:
        order = factory.order(shopper, [listing])

        response = client.post(f"/orders/{order['id']}/cancel", headers=staff.headers)

        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"

    def test_seller_may_not_cancel(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing])

        response = client.post(f"/orders/{order['id']}/cancel", headers=seller.headers)

        assert_error(response, 403, "forbidden")
        assert listing_now(client, listing)["stock"] == 2

    def test_cancel_validation(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing])

        response = client.post(
            f"/orders/{order['id']}/cancel", json={"reason": "x" * 201}, headers=shopper.headers
        )

        assert_error(response, 422)


class TestFailedPayments:
    def test_max_declines_cancel_the_order_and_release_stock(
        self, client: TestClient, factory: Factory, settings: Settings, listing: dict,
        shopper: Actor,
    ) -> None:  # fmt: skip
        order = factory.order(shopper, [listing], quantity=2)

        for attempt in range(1, settings.max_payment_attempts + 1):
            after = factory.pay(shopper, order["id"], DECLINED_CARD)
            expected = (
                "cancelled" if attempt == settings.max_payment_attempts else "pending_payment"
            )
            assert after["status"] == expected, attempt

        assert listing_now(client, listing)["stock"] == 3
        [payment] = payments(client, shopper, order["id"])
        assert payment["failed_attempts"] == settings.max_payment_attempts
        assert payment["status"] == "canceled"
        assert cancellation(client, shopper, order["id"]) == "payment_failed"
        assert_error(client.post(f"/orders/{order['id']}/payments", headers=shopper.headers), 409)


class TestReservationExpiry:
    def test_expired_reservation_releases_stock(
        self, client: TestClient, factory: Factory, db: Session, listing: dict, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing], quantity=3)
        client.post(f"/orders/{order['id']}/payments", headers=shopper.headers)
        db.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order["id"]))
            .values(reservation_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.commit()

        factory.settle()

        after = read_order(client, shopper, order["id"])
        assert after["status"] == "cancelled"
        again = listing_now(client, listing)
        assert (again["stock"], again["status"]) == (3, "active")
        assert payments(client, shopper, order["id"])[0]["status"] == "canceled"
        assert cancellation(client, shopper, order["id"]) == "reservation_expired"

    def test_expired_reservation_cannot_be_paid(
        self, client: TestClient, factory: Factory, db: Session, listing: dict, shopper: Actor
    ) -> None:
        order = factory.order(shopper, [listing])
        db.execute(
            update(Order)
            .where(Order.id == uuid.UUID(order["id"]))
            .values(reservation_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        db.commit()

        response = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers)

        assert_error(response, 409, "conflict")


@pytest.fixture
def frozen(settings: Settings) -> Iterator[tuple[FastAPI, TestClient, FrozenClock]]:
    """The shop on the same database with a clock of its own, a month in the past so that
    only what this test makes is ever due for it."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield app, client, clock


def poster(client: TestClient):  # type: ignore[no-untyped-def]
    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        return client.post(urlsplit(url).path, content=body, headers=headers).status_code

    return post


def deliver_webhooks(app: FastAPI, client: TestClient) -> None:
    settings = app.state.settings
    deliver_due(
        app.state.database.sessions,
        poster(client),
        app.state.clock,
        {
            "payments": settings.payments_webhook_secret.get_secret_value(),
            "shipping": settings.shipping_webhook_secret.get_secret_value(),
        },
    )


class TestReservationClock:
    def test_reservation_runs_out_after_reservation_minutes(
        self, frozen: tuple[FastAPI, TestClient, FrozenClock], listing: dict, shopper: Actor,
        settings: Settings,
    ) -> None:  # fmt: skip
        app, client, clock = frozen
        add(client, shopper.headers, listing["id"], 2)
        placed = clock.now()
        order = checkout(client, shopper, uuid.uuid4().hex).json()
        assert datetime.fromisoformat(order["reservation_expires_at"]) == placed + timedelta(
            minutes=settings.reservation_minutes
        )

        clock.advance(timedelta(minutes=settings.reservation_minutes))
        run_until_quiet(app.state, poster(client))
        assert read_order(client, shopper, order["id"])["status"] == "pending_payment"

        clock.advance(timedelta(seconds=1))
        run_until_quiet(app.state, poster(client))

        assert read_order(client, shopper, order["id"])["status"] == "cancelled"
        assert listing_now(client, listing)["stock"] == 3

    def test_a_payment_in_flight_outlives_the_reservation(
        self, frozen: tuple[FastAPI, TestClient, FrozenClock], listing: dict, shopper: Actor,
        settings: Settings,
    ) -> None:  # fmt: skip
        app, client, clock = frozen
        add(client, shopper.headers, listing["id"])
        order = checkout(client, shopper, uuid.uuid4().hex).json()
        started = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers).json()
        client.post(
            started["confirm_url"],
            json={"client_secret": started["client_secret"], "card": SUCCESS_CARD},
        )
        deliver_webhooks(app, client)  # the shop hears "processing"; nothing settles
        clock.advance(timedelta(minutes=settings.reservation_minutes, seconds=1))

        expire_reservations(app.state.database.sessions, clock, lambda _follow_ups: None)
        assert read_order(client, shopper, order["id"])["status"] == "pending_payment"
        run_until_quiet(app.state, poster(client))

        assert read_order(client, shopper, order["id"])["status"] == "paid"
        assert listing_now(client, listing)["stock"] == 2
