"""Coupons: staff manage them under /promotions/coupons, and checkout applies their rules
(kind, scope, minimum basket, validity window, usage limits) and snapshots the discount."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.models import CouponRedemption
from tests.factories import ADDRESS, Actor, Factory, assert_error, unique_slug


def iso(moment: datetime) -> str:
    return moment.isoformat()


def fresh_code() -> str:
    return f"C{uuid.uuid4().hex[:10]}".upper()


def create(client: TestClient, actor: Actor | None, **body: Any) -> Any:
    return client.post("/promotions/coupons", json=body, headers=actor.headers if actor else {})


def patch(client: TestClient, actor: Actor | None, code: str, /, **body: Any) -> Any:
    return client.patch(
        f"/promotions/coupons/{code}", json=body, headers=actor.headers if actor else {}
    )


def read(client: TestClient, staff: Actor, code: str) -> dict[str, Any]:
    response = client.get(f"/promotions/coupons/{code}", headers=staff.headers)
    assert response.status_code == 200, response.text
    return response.json()


def checkout(
    client: TestClient,
    buyer: Actor,
    listings: list[dict],
    coupon_code: str | None,
    *,
    quantity: int = 1,
    key: str | None = None,
) -> Any:
    """Fill the buyer's cart and check out with the coupon; returns the response."""
    for listing in listings:
        added = client.post(
            "/cart/items",
            json={"listing_id": listing["id"], "quantity": quantity},
            headers=buyer.headers,
        )
        assert added.status_code == 201, added.text
    return client.post(
        "/checkout",
        json={"shipping_address": ADDRESS, "coupon_code": coupon_code},
        headers={**buyer.headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )


def placed(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def refused(response: Any, reason: str) -> None:
    """Checkout answered 422 naming the coupon and this reason."""
    error = assert_error(response, 422, "validation_error")
    assert reason in error["message"], error
    assert error["details"] == [{"loc": ["body", "coupon_code"], "msg": reason}], error


def item_for(order: dict, listing: dict) -> dict:
    [item] = [item for item in order["items"] if item["listing_id"] == listing["id"]]
    return item


def assert_adds_up(order: dict) -> None:
    """Item discounts add up to each group's and to the order's, and totals follow."""
    assert sum(item["discount_minor"] for item in order["items"]) == order["discount_minor"]
    assert sum(group["discount_minor"] for group in order["groups"]) == order["discount_minor"]
    for item in order["items"]:
        gross = item["unit_price_minor"] * item["quantity"]
        assert item["line_total_minor"] == gross - item["discount_minor"] + item["tax_minor"]
    assert order["total_minor"] == (
        order["subtotal_minor"] - order["discount_minor"] + order["tax_minor"]
        + order["shipping_minor"]
    )  # fmt: skip


@pytest.fixture
def camera(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, title="Coupon camera", price_minor=10_000, stock=50)


# --- management -------------------------------------------------------------------------


class TestCreateCoupon:
    def test_anonymous(self, client: TestClient) -> None:
        response = create(client, None, code=fresh_code(), kind="percent", percent_off=10)
        assert_error(response, 401, "unauthorized")

    def test_not_staff(self, client: TestClient, shopper: Actor, seller: Actor) -> None:
        for caller in (shopper, seller):
            response = create(client, caller, code=fresh_code(), kind="percent", percent_off=10)
            assert_error(response, 403, "forbidden")

    def test_percent(self, client: TestClient, staff: Actor) -> None:
        code = fresh_code()
        response = create(
            client, staff, code=f"  {code.lower()}  ", kind="percent", percent_off=15,
            description="Spring sale",
        )  # fmt: skip

        assert response.status_code == 201, response.text
        coupon = response.json()
        assert coupon["code"] == code
        assert coupon["kind"] == "percent"
        assert (coupon["percent_off"], coupon["amount_off_minor"], coupon["currency"]) == (
            15, None, None,
        )  # fmt: skip
        assert coupon["redemptions_count"] == 0
        assert coupon["active"] is True
        assert coupon["state"] == "live"
        assert coupon["min_basket_minor"] == 0
        assert coupon["description"] == "Spring sale"

    def test_fixed_takes_the_shop_currency_by_default(
        self, client: TestClient, staff: Actor
    ) -> None:
        default = create(client, staff, code=fresh_code(), kind="fixed", amount_off_minor=500)
        explicit = create(
            client, staff, code=fresh_code(), kind="fixed", amount_off_minor=500, currency="BRL"
        )

        assert default.status_code == explicit.status_code == 201, default.text + explicit.text
        assert default.json()["currency"] == "USD"
        assert explicit.json()["currency"] == "BRL"

    def test_scopes_limits_and_window(
        self, client: TestClient, factory: Factory, staff: Actor, seller: Actor
    ) -> None:
        category = factory.category(staff)
        starts, ends = datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) + timedelta(days=8)
        response = create(
            client, staff, code=fresh_code(), kind="percent", percent_off=20,
            category=category["slug"], seller_id=str(seller.id), min_basket_minor=5_000,
            starts_at=iso(starts), ends_at=iso(ends), max_redemptions=100,
            max_redemptions_per_user=1,
        )  # fmt: skip

        assert response.status_code == 201, response.text
        coupon = response.json()
        assert coupon["category_id"] == category["id"]
        assert coupon["category_slug"] == category["slug"]
        assert coupon["seller_id"] == str(seller.id)
        assert coupon["min_basket_minor"] == 5_000
        assert datetime.fromisoformat(coupon["starts_at"]) == starts
        assert datetime.fromisoformat(coupon["ends_at"]) == ends
        assert (coupon["max_redemptions"], coupon["max_redemptions_per_user"]) == (100, 1)
        assert coupon["state"] == "scheduled"
        by_id = create(
            client, staff, code=fresh_code(), kind="percent", percent_off=5,
            category=category["id"],
        )  # fmt: skip
        assert by_id.status_code == 201, by_id.text
        assert by_id.json()["category_slug"] == category["slug"]

    def test_code_is_unique_whatever_its_case(self, client: TestClient, staff: Actor) -> None:
        code = fresh_code()
        assert create(client, staff, code=code, kind="percent", percent_off=5).status_code == 201

        response = create(client, staff, code=code.lower(), kind="fixed", amount_off_minor=100)

        assert_error(response, 409, "conflict")

    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "percent"},
            {"kind": "percent", "percent_off": 0},
            {"kind": "percent", "percent_off": 101},
            {"kind": "percent", "percent_off": 10, "amount_off_minor": 100},
            {"kind": "percent", "percent_off": 10, "currency": "USD"},
            {"kind": "fixed"},
            {"kind": "fixed", "amount_off_minor": 0},
            {"kind": "fixed", "amount_off_minor": -5},
            {"kind": "fixed", "amount_off_minor": 100, "percent_off": 10},
            {"kind": "fixed", "amount_off_minor": 100, "currency": "usd"},
            {"kind": "bogo"},
            {"code": "AB"},
            {"code": "HAS SPACE"},
            {"code": "EMOJI🎉"},
            {"code": "X" * 41},
            {"code": None},
            {"min_basket_minor": -1},
            {"max_redemptions": 0},
            {"max_redemptions_per_user": 0},
            {"max_redemptions": 10**12},
            {"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
            {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
            {"starts_at": "2030-01-01T00:00:00"},
            {"starts_at": "soon"},
            {"category": "no-such-category"},
            {"category": "0c7d1c63-1f3b-4c59-9d0e-000000000001"},
            {"seller_id": "0c7d1c63-1f3b-4c59-9d0e-000000000002"},
            {"redemptions_count": 5},
        ],
        ids=lambda body: ",".join(f"{key}={value}" for key, value in body.items())[:60],
    )
    def test_validation(self, client: TestClient, staff: Actor, body: dict) -> None:
        payload = {"code": fresh_code(), "kind": "percent", "percent_off": 10}
        if "kind" in body:
            payload.pop("percent_off")
        assert_error(create(client, staff, **{**payload, **body}), 422, "validation_error")

    def test_seller_scope_must_name_a_seller(
        self, client: TestClient, staff: Actor, shopper: Actor
    ) -> None:
        response = create(
            client, staff, code=fresh_code(), kind="percent", percent_off=10,
            seller_id=str(shopper.id),
        )  # fmt: skip

        error = assert_error(response, 422, "validation_error")
        assert error["details"][0]["loc"] == ["body", "seller_id"]


class TestReadCoupons:
    def test_anonymous_and_not_staff(self, client: TestClient, seller: Actor) -> None:
        assert_error(client.get("/promotions/coupons"), 401)
        assert_error(client.get("/promotions/coupons/ANY"), 401)
        assert_error(client.get("/promotions/coupons", headers=seller.headers), 403)
        assert_error(client.get("/promotions/coupons/ANY", headers=seller.headers), 403)

    def test_read_by_code_in_any_case(
        self, client: TestClient, factory: Factory, staff: Actor
    ) -> None:
        coupon = factory.coupon(staff)

        assert read(client, staff, coupon["code"].lower())["id"] == coupon["id"]

    def test_not_existing(self, client: TestClient, staff: Actor) -> None:
        response = client.get(f"/promotions/coupons/{fresh_code()}", headers=staff.headers)
        assert_error(response, 404, "not_found")

    def test_list_newest_first_and_filter_active(
        self, client: TestClient, factory: Factory, staff: Actor
    ) -> None:
        older = factory.coupon(staff)
        inactive = factory.coupon(staff, active=False)
        newer = factory.coupon(staff)

        everything = client.get(
            "/promotions/coupons", params={"page_size": 3}, headers=staff.headers
        ).json()
        assert [c["code"] for c in everything["data"]] == [
            newer["code"], inactive["code"], older["code"],
        ]  # fmt: skip
        assert everything["count"] >= 3
        assert everything["page_size"] == 3
        active = client.get(
            "/promotions/coupons", params={"active": True, "page_size": 2}, headers=staff.headers
        ).json()
        assert [c["code"] for c in active["data"]] == [newer["code"], older["code"]]
        inactive_page = client.get(
            "/promotions/coupons", params={"active": False}, headers=staff.headers
        ).json()
        assert inactive["code"] in [c["code"] for c in inactive_page["data"]]
        assert all(c["state"] == "inactive" for c in inactive_page["data"])
        assert active["count"] + inactive_page["count"] == everything["count"]


class TestUpdateCoupon:
    def test_anonymous_not_staff_and_not_existing(
        self, client: TestClient, factory: Factory, staff: Actor, seller: Actor
    ) -> None:
        coupon = factory.coupon(staff)
        assert_error(patch(client, None, coupon["code"], active=False), 401)
        assert_error(patch(client, seller, coupon["code"], active=False), 403)
        assert_error(patch(client, staff, fresh_code(), active=False), 404)

    def test_deactivate_then_checkout_refuses_it(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff)

        response = patch(client, staff, coupon["code"], active=False)

        assert response.status_code == 200, response.text
        assert (response.json()["active"], response.json()["state"]) == (False, "inactive")
        refused(checkout(client, shopper, [camera], coupon["code"]), "unknown or inactive coupon")

    def test_adjust_window_and_limits(
        self, client: TestClient, factory: Factory, staff: Actor
    ) -> None:
        coupon = factory.coupon(staff, ends_at="2031-01-01T00:00:00Z", max_redemptions=5)
        ends = datetime(2032, 6, 1, tzinfo=UTC)

        response = patch(
            client, staff, coupon["code"], ends_at=iso(ends), max_redemptions=None,
            max_redemptions_per_user=2, min_basket_minor=1_000, description="Extended",
        )  # fmt: skip

        assert response.status_code == 200, response.text
        updated = response.json()
        assert datetime.fromisoformat(updated["ends_at"]) == ends
        assert updated["max_redemptions"] is None
        assert updated["max_redemptions_per_user"] == 2
        assert updated["min_basket_minor"] == 1_000
        assert updated["description"] == "Extended"
        assert read(client, staff, coupon["code"])["ends_at"] == updated["ends_at"]

    def test_terms_change_until_redeemed(
        self, client: TestClient, factory: Factory, staff: Actor
    ) -> None:
        coupon = factory.coupon(staff, percent_off=10)

        deeper = patch(client, staff, coupon["code"], percent_off=25)
        assert deeper.status_code == 200, deeper.text
        assert deeper.json()["percent_off"] == 25
        fixed = patch(client, staff, coupon["code"], kind="fixed", amount_off_minor=700)
        assert fixed.status_code == 200, fixed.text
        assert (fixed.json()["percent_off"], fixed.json()["amount_off_minor"]) == (None, 700)
        assert fixed.json()["currency"] == "USD"

    @pytest.mark.parametrize(
        "body",
        [
            {"code": "RENAMED"},
            {"active": None},
            {"kind": None},
            {"percent_off": 0},
            {"kind": "fixed"},
            {"amount_off_minor": 100},
            {"starts_at": "2031-01-01T00:00:00Z"},
            {"ends_at": "2029-12-31T00:00:00Z"},
            {"ends_at": "2031-01-01T00:00:00"},
            {"max_redemptions": -1},
            {"category": "no-such-category"},
        ],
        ids=lambda body: ",".join(f"{key}={value}" for key, value in body.items()),
    )
    def test_validation(
        self, client: TestClient, factory: Factory, staff: Actor, body: dict
    ) -> None:
        """Checked against the coupon as it would become (here: a percent coupon valid
        through 2030)."""
        coupon = factory.coupon(
            staff, starts_at="2030-01-01T00:00:00Z", ends_at="2030-12-31T00:00:00Z"
        )

        assert_error(patch(client, staff, coupon["code"], **body), 422, "validation_error")

    def test_terms_are_fixed_once_redeemed(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        seller: Actor,
        camera: dict,
    ) -> None:
        coupon = factory.coupon(staff, percent_off=10, max_redemptions=5)
        placed(checkout(client, shopper, [camera], coupon["code"]))
        category = factory.category(staff)

        for change in (
            {"percent_off": 50},
            {"kind": "fixed", "amount_off_minor": 100},
            {"category": category["slug"]},
            {"seller_id": str(seller.id)},
        ):
            error = assert_error(patch(client, staff, coupon["code"], **change), 409, "conflict")
            assert error["details"]["fields"], error
        same = patch(client, staff, coupon["code"], kind="percent", percent_off=10)
        assert same.status_code == 200, same.text
        assert_error(patch(client, staff, coupon["code"], max_redemptions=0), 422)
        longer = patch(client, staff, coupon["code"], ends_at="2040-01-01T00:00:00Z")
        assert longer.status_code == 200, longer.text
        closed = patch(client, staff, coupon["code"], max_redemptions=1)
        assert closed.status_code == 200, closed.text
        assert closed.json()["state"] == "exhausted"

    def test_limit_below_redemptions(
        self, client: TestClient, factory: Factory, staff: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff)
        for _ in range(2):
            placed(checkout(client, factory.user("shopper"), [camera], coupon["code"]))

        error = assert_error(patch(client, staff, coupon["code"], max_redemptions=1), 409)

        assert error["details"] == {"redemptions_count": 2}


# --- the rules at checkout --------------------------------------------------------------


class TestCheckoutWithCoupon:
    def test_percent(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, percent_off=15)

        order = placed(checkout(client, shopper, [camera], coupon["code"].lower(), quantity=2))

        assert order["coupon_code"] == coupon["code"]
        assert order["subtotal_minor"] == 20_000
        assert order["discount_minor"] == 3_000
        assert item_for(order, camera)["discount_minor"] == 3_000
        assert_adds_up(order)

    def test_fixed(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, kind="fixed", amount_off_minor=1_250)

        order = placed(checkout(client, shopper, [camera], coupon["code"]))

        assert order["discount_minor"] == 1_250
        assert order["total_minor"] == 10_000 - 1_250 + order["tax_minor"]
        assert_adds_up(order)

    def test_fixed_is_capped_at_the_qualifying_items(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        seller: Actor,
        other_seller: Actor,
        camera: dict,
    ) -> None:
        cheap = factory.listing(other_seller, title="Cheap strap", price_minor=800)
        coupon = factory.coupon(
            staff, kind="fixed", amount_off_minor=5_000, seller_id=str(other_seller.id)
        )

        order = placed(checkout(client, shopper, [camera, cheap], coupon["code"]))

        assert order["discount_minor"] == 800
        assert item_for(order, cheap)["discount_minor"] == 800
        assert item_for(order, camera)["discount_minor"] == 0
        assert_adds_up(order)

    def test_fixed_in_another_currency(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, kind="fixed", amount_off_minor=500, currency="BRL")

        refused(checkout(client, shopper, [camera], coupon["code"]), "only valid for BRL baskets")

    def test_category_scope_includes_descendants(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        seller: Actor,
        camera: dict,
    ) -> None:
        parent = factory.category(staff)
        child = factory.category(staff, parent=parent["slug"])
        grandchild = factory.category(staff, parent=child["slug"])
        in_child = factory.listing(seller, title="Child item", category=child["slug"])
        in_grandchild = factory.listing(
            seller, title="Grandchild item", category=grandchild["slug"], price_minor=3_000
        )
        coupon = factory.coupon(staff, percent_off=10, category=parent["slug"])

        order = placed(checkout(client, shopper, [camera, in_child, in_grandchild], coupon["code"]))

        assert item_for(order, in_child)["discount_minor"] == 1_250
        assert item_for(order, in_grandchild)["discount_minor"] == 300
        assert item_for(order, camera)["discount_minor"] == 0
        assert order["discount_minor"] == 1_550
        assert_adds_up(order)

    def test_category_scope_without_a_qualifying_item(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, category=factory.category(staff)["slug"])

        refused(
            checkout(client, shopper, [camera], coupon["code"]), "no item in the basket qualifies"
        )

    def test_a_sibling_category_does_not_qualify(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        seller: Actor,
    ) -> None:
        """Prefix paths are not descendants: 'toys' does not cover 'toys-old'."""
        slug = unique_slug()
        factory.category(staff, slug=slug)
        sibling = factory.category(staff, slug=f"{slug}-old")
        listing = factory.listing(seller, category=sibling["slug"])
        coupon = factory.coupon(staff, category=slug)

        refused(
            checkout(client, shopper, [listing], coupon["code"]), "no item in the basket qualifies"
        )

    def test_seller_scope(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        seller: Actor,
        other_seller: Actor,
        camera: dict,
    ) -> None:
        theirs = factory.listing(other_seller, title="Other seller's lens", price_minor=4_000)
        coupon = factory.coupon(staff, percent_off=50, seller_id=str(seller.id))

        order = placed(checkout(client, shopper, [camera, theirs], coupon["code"]))

        assert item_for(order, camera)["discount_minor"] == 5_000
        assert item_for(order, theirs)["discount_minor"] == 0
        groups = {group["seller_id"]: group for group in order["groups"]}
        assert groups[str(seller.id)]["discount_minor"] == 5_000
        assert groups[str(other_seller.id)]["discount_minor"] == 0
        assert_adds_up(order)

    def test_minimum_basket(
        self, client: TestClient, factory: Factory, staff: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, min_basket_minor=20_000)

        refused(
            checkout(client, factory.user("shopper"), [camera], coupon["code"]),
            "the qualifying items must total at least 20000",
        )
        order = placed(
            checkout(client, factory.user("shopper"), [camera], coupon["code"], quantity=2)
        )
        assert order["discount_minor"] == 2_000

    def test_not_valid_yet(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        starts = datetime.now(UTC) + timedelta(hours=1)
        coupon = factory.coupon(staff, starts_at=iso(starts))

        refused(checkout(client, shopper, [camera], coupon["code"]), "not valid yet")

    def test_expired(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        ends = datetime.now(UTC) - timedelta(seconds=1)
        coupon = factory.coupon(staff, starts_at=iso(ends - timedelta(days=7)), ends_at=iso(ends))
        assert coupon["state"] == "expired"

        refused(checkout(client, shopper, [camera], coupon["code"]), "expired")

    def test_within_its_window(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        now = datetime.now(UTC)
        coupon = factory.coupon(
            staff, starts_at=iso(now - timedelta(minutes=1)), ends_at=iso(now + timedelta(hours=1))
        )

        assert (
            placed(checkout(client, shopper, [camera], coupon["code"]))["discount_minor"] == 1_000
        )

    def test_global_usage_limit(
        self, client: TestClient, factory: Factory, staff: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, max_redemptions=2)
        for _ in range(2):
            placed(checkout(client, factory.user("shopper"), [camera], coupon["code"]))

        refused(
            checkout(client, factory.user("shopper"), [camera], coupon["code"]),
            "no redemptions left",
        )
        exhausted = read(client, staff, coupon["code"])
        assert (exhausted["redemptions_count"], exhausted["state"]) == (2, "exhausted")

    def test_per_user_limit(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, max_redemptions_per_user=1)
        placed(checkout(client, shopper, [camera], coupon["code"]))

        refused(
            checkout(client, shopper, [camera], coupon["code"]),
            "already used the maximum number of times",
        )
        placed(checkout(client, factory.user("shopper"), [camera], coupon["code"]))
        assert read(client, staff, coupon["code"])["redemptions_count"] == 2

    def test_discount_is_allocated_exactly_and_snapshotted(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        seller: Actor,
        other_seller: Actor,
        db: Session,
    ) -> None:
        prices = (999, 1_333, 2_001)
        listings = [
            factory.listing(owner, title=f"Item {price}", price_minor=price)
            for owner, price in zip((seller, seller, other_seller), prices, strict=True)
        ]
        coupon = factory.coupon(staff, percent_off=15)

        order = placed(checkout(client, shopper, listings, coupon["code"]))

        assert order["discount_minor"] == sum(prices) * 15 // 100 == 649
        discounts = [item_for(order, listing)["discount_minor"] for listing in listings]
        assert sum(discounts) == 649
        for price, discount in zip(prices, discounts, strict=True):
            exact = price * 649 / sum(prices)
            assert int(exact) <= discount <= int(exact) + 1
        assert_adds_up(order)
        redemption = db.scalar(
            select(CouponRedemption).where(CouponRedemption.order_id == uuid.UUID(order["id"]))
        )
        assert redemption is not None
        assert redemption.amount_minor == 649
        assert redemption.user_id == shopper.id

        # Later changes to the coupon do not touch the order.
        assert patch(client, staff, coupon["code"], active=False).status_code == 200
        again = client.get(f"/orders/{order['id']}", headers=shopper.headers).json()
        assert (again["discount_minor"], again["coupon_code"]) == (649, coupon["code"])
        assert [item["discount_minor"] for item in again["items"]] == [
            item["discount_minor"] for item in order["items"]
        ]

    def test_cancelled_order_releases_its_redemption(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        camera: dict,
        db: Session,
    ) -> None:
        coupon = factory.coupon(staff, max_redemptions=1, max_redemptions_per_user=1)
        first = placed(checkout(client, shopper, [camera], coupon["code"]))
        other = factory.user("shopper")
        refused(checkout(client, other, [camera], coupon["code"]), "no redemptions left")

        cancelled = client.post(f"/orders/{first['id']}/cancel", headers=shopper.headers)

        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["discount_minor"] == 1_000  # the order keeps its snapshot
        assert read(client, staff, coupon["code"])["redemptions_count"] == 0
        redemption = db.scalar(
            select(CouponRedemption).where(CouponRedemption.order_id == uuid.UUID(first["id"]))
        )
        assert redemption is not None and redemption.released_at is not None
        # The cart still holds the camera from the refused attempt.
        retried = client.post(
            "/checkout",
            json={"shipping_address": ADDRESS, "coupon_code": coupon["code"]},
            headers={**other.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert placed(retried)["discount_minor"] == 1_000
        assert read(client, staff, coupon["code"])["redemptions_count"] == 1

    def test_a_replayed_checkout_redeems_once(
        self, client: TestClient, factory: Factory, staff: Actor, shopper: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff)
        key = uuid.uuid4().hex
        order = placed(checkout(client, shopper, [camera], coupon["code"], key=key))

        replay = client.post(
            "/checkout",
            json={"shipping_address": ADDRESS, "coupon_code": coupon["code"]},
            headers={**shopper.headers, "Idempotency-Key": key},
        )

        assert replay.status_code == 200, replay.text
        assert replay.json()["id"] == order["id"]
        assert read(client, staff, coupon["code"])["redemptions_count"] == 1

    @pytest.mark.parametrize("code", ["NOSUCHCOUPON", "  nosuchcoupon "])
    def test_unknown_coupon(
        self, client: TestClient, shopper: Actor, camera: dict, code: str
    ) -> None:
        response = checkout(client, shopper, [camera], code)

        refused(response, "unknown or inactive coupon")
        assert "NOSUCHCOUPON" in response.json()["error"]["message"]
        # Nothing was held: the whole stock is still on sale.
        assert client.get(f"/listings/{camera['id']}").json()["stock"] == 50


class TestConcurrentRedemptions:
    """Limits hold when checkouts race (threads; each request has its own session)."""

    @staticmethod
    def race(client: TestClient, attempts: list[tuple[Actor, str]]) -> list[int]:
        barrier = threading.Barrier(len(attempts))
        statuses: list[int] = []

        def send(buyer: Actor, code: str) -> None:
            barrier.wait()
            response = client.post(
                "/checkout",
                json={"shipping_address": ADDRESS, "coupon_code": code},
                headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=send, args=attempt) for attempt in attempts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses

    def test_global_limit(
        self, client: TestClient, factory: Factory, staff: Actor, camera: dict
    ) -> None:
        coupon = factory.coupon(staff, max_redemptions=1)
        buyers = [factory.user("shopper") for _ in range(3)]
        for buyer in buyers:
            added = client.post(
                "/cart/items", json={"listing_id": camera["id"]}, headers=buyer.headers
            )
            assert added.status_code == 201, added.text

        statuses = self.race(client, [(buyer, coupon["code"]) for buyer in buyers])

        assert statuses.count(201) == 1, statuses
        assert set(statuses) <= {201, 409, 422}, statuses
        assert read(client, staff, coupon["code"])["redemptions_count"] == 1
        assert client.get(f"/listings/{camera['id']}").json()["stock"] == 49

    def test_per_user_limit(
        self,
        client: TestClient,
        factory: Factory,
        staff: Actor,
        shopper: Actor,
        camera: dict,
        db: Session,
    ) -> None:
        coupon = factory.coupon(staff, max_redemptions_per_user=1)
        added = client.post(
            "/cart/items", json={"listing_id": camera["id"]}, headers=shopper.headers
        )
        assert added.status_code == 201, added.text

        statuses = self.race(client, [(shopper, coupon["code"])] * 3)

        assert statuses.count(201) == 1, statuses
        redemptions = db.scalars(
            select(CouponRedemption).where(CouponRedemption.user_id == shopper.id)
        ).all()
        assert len(redemptions) == 1
