"""What the shop accepts as money, currency and text, the same on SQLite and PostgreSQL:
amounts are whole numbers within 64 bits, currencies are ISO 4217 codes, and no text
holds a NUL character. Bad input is a 422 that names the field, never a 500 and never a
value one database stores and the other refuses."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.models.orders import Order
from tests.factories import ADDRESS, Actor, Factory, assert_error

INT64_MAX = 2**63 - 1


def refused_field(response: Any, *loc: str) -> None:
    """A 422 whose details name the field at ``loc``."""
    error = assert_error(response, 422, "validation_error")
    assert isinstance(error["details"], list), error
    assert list(loc) in [detail["loc"][: len(loc)] for detail in error["details"]], error


def listing_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Medium format camera",
        "category": "cameras",
        "price_minor": 10_000,
        "currency": "EUR",
        "status": "active",
    }
    body.update(overrides)
    return body


class TestSearchBounds:
    @pytest.mark.parametrize(
        "query",
        [
            {"min_price": str(INT64_MAX + 1)},
            {"max_price": str(INT64_MAX + 1)},
            {"min_price": "1" + "0" * 40},
            {"max_price": "1e30"},
            {"min_price": "-1"},
        ],
    )
    def test_price_filters_out_of_range(self, client: TestClient, query: dict[str, str]) -> None:
        refused_field(client.get("/listings", params=query), "query", next(iter(query)))

    def test_widest_price_filters_are_answered(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, price_minor=1_000_000_000)
        query = {"seller_id": str(seller.id), "min_price": "0", "max_price": str(INT64_MAX)}

        page = client.get("/listings", params=query)
        assert page.status_code == 200, page.text
        assert [found["id"] for found in page.json()["data"]] == [listing["id"]]
        words = client.get("/listings", params={**query, "q": "camera"})
        assert words.status_code == 200, words.text
        assert [found["id"] for found in words.json()["data"]] == [listing["id"]]
        above = client.get("/listings", params={**query, "min_price": str(INT64_MAX)})
        assert above.status_code == 200, above.text
        assert above.json()["count"] == 0


class TestCurrencies:
    @pytest.mark.parametrize("currency", ["ZZZ", "XTS", "XAU", "usd", "EURO"])
    def test_listing_needs_an_iso_4217_currency(
        self, client: TestClient, seller: Actor, currency: str
    ) -> None:
        response = client.post(
            "/listings", json=listing_body(currency=currency), headers=seller.headers
        )
        refused_field(response, "body", "currency")

    def test_listing_update_needs_an_iso_4217_currency(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)
        response = client.patch(
            f"/listings/{listing['id']}", json={"currency": "ZZZ"}, headers=seller.headers
        )
        refused_field(response, "body", "currency")
        assert client.get(f"/listings/{listing['id']}").json()["currency"] == listing["currency"]

    def test_coupon_needs_an_iso_4217_currency(self, client: TestClient, staff: Actor) -> None:
        body = {"code": f"Z{uuid.uuid4().hex[:8]}", "kind": "fixed", "amount_off_minor": 100}
        response = client.post(
            "/promotions/coupons", json={**body, "currency": "ZZZ"}, headers=staff.headers
        )
        refused_field(response, "body", "currency")

    @pytest.mark.parametrize("currency", ["EUR", "JPY", "BRL", "KWD"])
    def test_real_currencies_are_accepted(
        self, client: TestClient, seller: Actor, currency: str
    ) -> None:
        response = client.post(
            "/listings", json=listing_body(currency=currency), headers=seller.headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["currency"] == currency

    def test_openapi_lists_the_codes(self, client: TestClient) -> None:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        currency = schemas["ListingCreate"]["properties"]["currency"]["anyOf"][0]
        assert {"EUR", "USD", "JPY"} <= set(currency["enum"])
        assert "ZZZ" not in currency["enum"]


class TestMoneyIsAWholeNumber:
    @pytest.mark.parametrize("value", ["100", True, 100.0, "1e2", 2**63])
    def test_listing_price(self, client: TestClient, seller: Actor, value: Any) -> None:
        response = client.post(
            "/listings", json=listing_body(price_minor=value), headers=seller.headers
        )
        refused_field(response, "body", "price_minor")

    @pytest.mark.parametrize("value", ["100", True])
    def test_listing_price_update(
        self, client: TestClient, factory: Factory, seller: Actor, value: Any
    ) -> None:
        listing = factory.listing(seller)
        response = client.patch(
            f"/listings/{listing['id']}", json={"price_minor": value}, headers=seller.headers
        )
        refused_field(response, "body", "price_minor")

    @pytest.mark.parametrize("field", ["amount_off_minor", "min_basket_minor"])
    def test_coupon_amounts(self, client: TestClient, staff: Actor, field: str) -> None:
        body = {"code": f"M{uuid.uuid4().hex[:8]}", "kind": "fixed", "amount_off_minor": 100}
        response = client.post(
            "/promotions/coupons", json={**body, field: "100"}, headers=staff.headers
        )
        refused_field(response, "body", field)

    def test_refund_amount(self, client: TestClient, factory: Factory, shopper: Actor) -> None:
        staff = factory.user("staff")
        listing = factory.listing(factory.user("seller"))
        order = factory.paid_order(shopper, [listing])
        for value in ("100", True, INT64_MAX + 1):
            response = client.post(
                f"/orders/{order['id']}/refunds",
                json={"amount_minor": value},
                headers=staff.headers,
            )
            refused_field(response, "body", "amount_minor")


class TestNoNulCharacters:
    """PostgreSQL cannot store a NUL in text and SQLite can: the shop refuses it on both,
    as a validation error naming the field."""

    def test_listing_text(self, client: TestClient, seller: Actor) -> None:
        for field, value in [
            ("title", "Camera\x00"),
            ("description", "a\x00b"),
            ("category", "cam\x00eras"),
            ("attributes", {"brand": "Pen\x00tax"}),
            ("attributes", {"br\x00and": "Pentax"}),
        ]:
            response = client.post(
                "/listings", json=listing_body(**{field: value}), headers=seller.headers
            )
            refused_field(response, "body", field)

    def test_listing_update(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        listing = factory.listing(seller)
        response = client.patch(
            f"/listings/{listing['id']}", json={"description": "\x00"}, headers=seller.headers
        )
        refused_field(response, "body", "description")

    @pytest.mark.parametrize("name", ["q", "category"])
    def test_search_parameters(self, client: TestClient, name: str) -> None:
        refused_field(client.get("/listings", params={name: "cam\x00era"}), "query", name)

    def test_questions_and_answers(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        listing = factory.listing(seller)
        asked = client.post(
            f"/listings/{listing['id']}/questions",
            json={"body": "Is it \x00 working?"},
            headers=shopper.headers,
        )
        refused_field(asked, "body", "body")
        question = factory.question(shopper, listing["id"])
        answered = client.post(
            f"/questions/{question['id']}/answer", json={"body": "Yes\x00"}, headers=seller.headers
        )
        refused_field(answered, "body", "body")

    def test_checkout_address_and_cancel_reason(
        self, client: TestClient, factory: Factory, shopper: Actor
    ) -> None:
        listing = factory.listing(factory.user("seller"))
        added = client.post(
            "/cart/items", json={"listing_id": listing["id"]}, headers=shopper.headers
        )
        assert added.status_code == 201, added.text
        response = client.post(
            "/checkout",
            json={"shipping_address": {**ADDRESS, "line1": "Rua\x00 12"}},
            headers={**shopper.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        refused_field(response, "body", "shipping_address", "line1")
        order = factory.order(shopper, [])
        cancelled = client.post(
            f"/orders/{order['id']}/cancel", json={"reason": "\x00"}, headers=shopper.headers
        )
        refused_field(cancelled, "body", "reason")

    def test_account_and_catalog_text(
        self, client: TestClient, shopper: Actor, staff: Actor
    ) -> None:
        renamed = client.patch("/me", json={"display_name": "Ana\x00"}, headers=shopper.headers)
        refused_field(renamed, "body", "display_name")
        category = client.post(
            "/categories", json={"slug": "nul-test", "name": "N\x00"}, headers=staff.headers
        )
        refused_field(category, "body", "name")
        coupon = client.post(
            "/promotions/coupons",
            json={"code": "NULTEST", "kind": "percent", "percent_off": 5, "description": "\x00"},
            headers=staff.headers,
        )
        refused_field(coupon, "body", "description")

    @pytest.mark.parametrize("path", ["/categories/cam%00eras", "/promotions/coupons/AB%00C"])
    def test_path_parameters(self, client: TestClient, staff: Actor, path: str) -> None:
        response = client.get(path, headers=staff.headers)
        error = assert_error(response, 422, "validation_error")
        assert error["details"][0]["loc"][0] == "path", error


class TestLargeAmounts:
    def test_an_order_over_two_billion_minor_units(
        self, client: TestClient, factory: Factory, shopper: Actor, db: Session
    ) -> None:
        """Three items at the highest price: 3 x 10^9 minor units does not fit 32 bits."""
        seller = factory.user("seller")
        listings = [factory.listing(seller, price_minor=1_000_000_000) for _ in range(3)]

        order = factory.order(shopper, listings)

        assert order["subtotal_minor"] == 3_000_000_000
        assert order["total_minor"] >= 3_000_000_000
        stored = db.scalar(select(Order.total_minor).where(Order.id == uuid.UUID(order["id"])))
        assert stored == order["total_minor"]
        paid = factory.pay(shopper, order["id"])
        assert paid["status"] == "paid", paid
