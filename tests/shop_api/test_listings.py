"""Listings: creating, reading, editing (with the status machine) and a seller's own list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shop_api.main import create_app
from tests.factories import Actor, Factory, assert_error


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Mechanical keyboard",
        "description": "Brown switches, full size.",
        "category": "computer-accessories",
        "price_minor": 8_900,
        "currency": "EUR",
        "stock": 2,
        "condition": "new",
        "attributes": {"layout": "ISO", "backlit": True, "keys": 105},
    }
    body.update(overrides)
    return body


class TestCreateListing:
    def test_anonymous(self, client: TestClient) -> None:
        assert_error(client.post("/listings", json=valid_body()), 401, "unauthorized")

    @pytest.mark.parametrize("role", ["shopper", "staff"])
    def test_only_sellers_publish(self, client: TestClient, factory: Factory, role: str) -> None:
        actor = factory.user(role)
        assert_error(client.post("/listings", json=valid_body(), headers=actor.headers), 403)

    def test_valid_is_a_draft_by_default(self, client: TestClient, seller: Actor) -> None:
        response = client.post("/listings", json=valid_body(), headers=seller.headers)

        assert response.status_code == 201, response.text
        listing = response.json()
        assert listing["status"] == "draft"
        assert listing["published_at"] is None
        assert listing["seller_id"] == str(seller.id)
        assert listing["title"] == "Mechanical keyboard"
        assert listing["price_minor"] == 8_900
        assert listing["currency"] == "EUR"
        assert listing["stock"] == 2
        assert listing["condition"] == "new"
        assert listing["attributes"] == {"layout": "ISO", "backlit": True, "keys": 105}
        assert listing["images"] == []
        category = client.get("/categories/computer-accessories").json()
        assert listing["category_id"] == category["id"]

    def test_active_publishes_at_once(self, client: TestClient, seller: Actor) -> None:
        before = datetime.now(UTC)
        response = client.post(
            "/listings", json=valid_body(status="active"), headers=seller.headers
        )
        after = datetime.now(UTC)

        assert response.status_code == 201, response.text
        listing = response.json()
        assert listing["status"] == "active"
        assert before <= parse_time(listing["published_at"]) <= after

    def test_publishing_without_stock_is_a_conflict(
        self, client: TestClient, seller: Actor
    ) -> None:
        response = client.post(
            "/listings", json=valid_body(status="active", stock=0), headers=seller.headers
        )
        assert_error(response, 409, "conflict")

    def test_category_by_id(self, client: TestClient, seller: Actor) -> None:
        category = client.get("/categories/laptops").json()
        response = client.post(
            "/listings", json=valid_body(category=category["id"]), headers=seller.headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["category_id"] == category["id"]

    def test_title_is_trimmed(self, client: TestClient, seller: Actor) -> None:
        response = client.post(
            "/listings", json=valid_body(title="  Desk lamp  "), headers=seller.headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["title"] == "Desk lamp"

    def test_currency_defaults_to_the_settings(
        self, app: Any, client: TestClient, seller: Actor
    ) -> None:
        body = valid_body()
        del body["currency"]
        response = client.post("/listings", json=body, headers=seller.headers)
        assert response.status_code == 201, response.text
        assert response.json()["currency"] == app.state.settings.default_currency

        euro_app = create_app(app.state.settings.model_copy(update={"default_currency": "EUR"}))
        try:
            response = TestClient(euro_app).post("/listings", json=body, headers=seller.headers)
        finally:
            euro_app.state.database.dispose()
        assert response.status_code == 201, response.text
        assert response.json()["currency"] == "EUR"

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            pytest.param({"title": "ab"}, "title", id="short-title"),
            pytest.param({"title": "      "}, "title", id="blank-title"),
            pytest.param({"title": " a  "}, "title", id="short-after-trimming"),
            pytest.param({"title": "x" * 201}, "title", id="long-title"),
            pytest.param({"price_minor": 0}, "price_minor", id="zero-price"),
            pytest.param({"price_minor": -100}, "price_minor", id="negative-price"),
            pytest.param({"price_minor": 12.5}, "price_minor", id="fractional-price"),
            pytest.param({"currency": "usd"}, "currency", id="lowercase-currency"),
            pytest.param({"currency": "EURO"}, "currency", id="long-currency"),
            pytest.param({"currency": "E1"}, "currency", id="bad-currency"),
            pytest.param({"stock": -1}, "stock", id="negative-stock"),
            pytest.param({"condition": "broken"}, "condition", id="unknown-condition"),
            pytest.param({"category": "no-such-category"}, "category", id="unknown-category"),
            pytest.param({"category": str(uuid.uuid4())}, "category", id="unknown-category-id"),
            pytest.param(
                {"attributes": {f"k{i}": i for i in range(31)}}, "attributes", id="31-attributes"
            ),
            pytest.param({"attributes": {"": "x"}}, "attributes", id="empty-attribute-name"),
            pytest.param({"attributes": {"a": {"nested": 1}}}, "attributes", id="nested-value"),
            pytest.param({"status": "paused"}, "status", id="created-paused"),
            pytest.param({"status": "sold_out"}, "status", id="created-sold-out"),
            pytest.param({"seller_id": str(uuid.uuid4())}, "seller_id", id="extra-field"),
            pytest.param({"published_at": "2020-01-01T00:00:00Z"}, "published_at", id="extra-ts"),
        ],
    )
    def test_validation(
        self, client: TestClient, seller: Actor, overrides: dict[str, Any], field: str
    ) -> None:
        response = client.post("/listings", json=valid_body(**overrides), headers=seller.headers)

        error = assert_error(response, 422, "validation_error")
        assert any(field in detail["loc"] for detail in error["details"]), error

    def test_missing_required_fields(self, client: TestClient, seller: Actor) -> None:
        error = assert_error(client.post("/listings", json={}, headers=seller.headers), 422)
        missing = {detail["loc"][-1] for detail in error["details"]}
        assert {"title", "category", "price_minor"} <= missing

    def test_non_finite_attribute_values_are_refused(
        self, client: TestClient, seller: Actor
    ) -> None:
        # Python's JSON parser accepts NaN and Infinity; they must not reach the database.
        for literal in ("NaN", "Infinity"):
            content = '{"title": "Odd gauge", "category": "auto", "price_minor": 100, '
            content += f'"attributes": {{"reading": {literal}}}}}'
            response = client.post(
                "/listings",
                content=content,
                headers={**seller.headers, "Content-Type": "application/json"},
            )
            assert_error(response, 422, "validation_error")


class TestReadListing:
    def test_not_existing(self, client: TestClient) -> None:
        assert_error(client.get(f"/listings/{uuid.uuid4()}"), 404, "not_found")

    def test_published_is_public(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        listing = factory.listing(seller)
        response = client.get(f"/listings/{listing['id']}")
        assert response.status_code == 200, response.text
        assert response.json() == listing

    @pytest.mark.parametrize("hidden_status", ["draft", "paused"])
    def test_unpublished_is_visible_only_to_seller_and_staff(
        self,
        client: TestClient,
        factory: Factory,
        seller: Actor,
        other_seller: Actor,
        shopper: Actor,
        staff: Actor,
        hidden_status: str,
    ) -> None:
        listing = factory.listing(seller, status="draft")
        if hidden_status == "paused":
            for status in ("active", "paused"):
                response = client.patch(
                    f"/listings/{listing['id']}", json={"status": status}, headers=seller.headers
                )
                assert response.status_code == 200, response.text
        url = f"/listings/{listing['id']}"

        assert_error(client.get(url), 404)
        assert_error(client.get(url, headers=shopper.headers), 404)
        assert_error(client.get(url, headers=other_seller.headers), 404)
        for viewer in (seller, staff):
            response = client.get(url, headers=viewer.headers)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == hidden_status

    def test_sold_out_stays_visible(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)
        client.patch(f"/listings/{listing['id']}", json={"stock": 0}, headers=seller.headers)

        response = client.get(f"/listings/{listing['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "sold_out"

    def test_invalid_id(self, client: TestClient) -> None:
        assert_error(client.get("/listings/not-a-uuid"), 422, "validation_error")

    def test_bad_token_is_not_anonymous(self, client: TestClient) -> None:
        response = client.get(
            f"/listings/{uuid.uuid4()}", headers={"Authorization": "Bearer nonsense"}
        )
        assert_error(response, 401, "unauthorized")


def patch(client: TestClient, actor: Actor, listing: dict, body: dict[str, Any]) -> Any:
    return client.patch(f"/listings/{listing['id']}", json=body, headers=actor.headers)


class TestUpdateListing:
    def test_anonymous(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        listing = factory.listing(seller)
        response = client.patch(f"/listings/{listing['id']}", json={"price_minor": 1})
        assert_error(response, 401)

    def test_not_existing(self, client: TestClient, seller: Actor) -> None:
        response = client.patch(
            f"/listings/{uuid.uuid4()}", json={"price_minor": 1}, headers=seller.headers
        )
        assert_error(response, 404, "not_found")

    def test_not_owner(
        self, client: TestClient, factory: Factory, seller: Actor, other_seller: Actor
    ) -> None:
        published = factory.listing(seller)
        draft = factory.listing(seller, status="draft")

        # A published listing can be seen but not changed; a draft cannot even be seen.
        assert_error(patch(client, other_seller, published, {"price_minor": 1}), 403, "forbidden")
        assert_error(patch(client, other_seller, draft, {"price_minor": 1}), 404)
        assert client.get(f"/listings/{published['id']}").json()["price_minor"] == 12_500

    def test_staff_may_moderate(
        self, client: TestClient, factory: Factory, seller: Actor, staff: Actor
    ) -> None:
        listing = factory.listing(seller)
        response = patch(client, staff, listing, {"status": "paused"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "paused"

    def test_valid_changes_only_what_is_sent(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)

        response = patch(client, seller, listing, {"price_minor": 9_999})

        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["price_minor"] == 9_999
        unchanged = {"price_minor", "modified_at"}
        assert {k: v for k, v in updated.items() if k not in unchanged} == {
            k: v for k, v in listing.items() if k not in unchanged
        }
        assert parse_time(updated["modified_at"]) > parse_time(listing["modified_at"])

    def test_valid_every_field(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        listing = factory.listing(seller)
        body = {
            "title": "Rangefinder camera",
            "description": "",
            "category": "electronics",
            "price_minor": 30_000,
            "currency": "GBP",
            "stock": 7,
            "condition": "refurbished",
            "attributes": {},
        }

        response = patch(client, seller, listing, body)

        assert response.status_code == 200, response.text
        updated = response.json()
        del body["category"]
        assert {key: updated[key] for key in body} == body
        assert updated["category_id"] == client.get("/categories/electronics").json()["id"]
        assert client.get(f"/listings/{listing['id']}").json() == updated

    def test_empty_patch_changes_nothing(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)
        response = patch(client, seller, listing, {})
        assert response.status_code == 200, response.text
        assert {**response.json(), "modified_at": None} == {**listing, "modified_at": None}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            pytest.param({"title": "ab"}, "title", id="short-title"),
            pytest.param({"title": "    "}, "title", id="blank-title"),
            pytest.param({"price_minor": 0}, "price_minor", id="zero-price"),
            pytest.param({"price_minor": -1}, "price_minor", id="negative-price"),
            pytest.param({"currency": "dollars"}, "currency", id="bad-currency"),
            pytest.param({"stock": -5}, "stock", id="negative-stock"),
            pytest.param({"category": "no-such-category"}, "category", id="unknown-category"),
            pytest.param(
                {"attributes": {str(i): i for i in range(31)}}, "attributes", id="31-attributes"
            ),
            pytest.param({"status": "draft"}, "status", id="back-to-draft"),
            pytest.param({"status": "sold_out"}, "status", id="sold-out-by-hand"),
            pytest.param({"seller_id": str(uuid.uuid4())}, "seller_id", id="extra-field"),
        ],
    )
    def test_validation(
        self,
        client: TestClient,
        factory: Factory,
        seller: Actor,
        body: dict[str, Any],
        field: str,
    ) -> None:
        listing = factory.listing(seller)

        error = assert_error(patch(client, seller, listing, body), 422, "validation_error")

        assert any(field in detail["loc"] for detail in error["details"]), error
        assert client.get(f"/listings/{listing['id']}").json() == listing


class TestStatusMachine:
    def test_draft_becomes_active_and_is_published(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, status="draft")
        before = datetime.now(UTC)

        response = patch(client, seller, listing, {"status": "active"})

        assert response.status_code == 200, response.text
        assert response.json()["status"] == "active"
        assert before <= parse_time(response.json()["published_at"]) <= datetime.now(UTC)

    def test_active_and_paused_toggle_keeping_first_publication(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)

        paused = patch(client, seller, listing, {"status": "paused"}).json()
        active = patch(client, seller, listing, {"status": "active"}).json()

        assert paused["status"] == "paused"
        assert active["status"] == "active"
        assert paused["published_at"] == active["published_at"] == listing["published_at"]

    def test_same_status_is_a_no_op(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller)
        response = patch(client, seller, listing, {"status": "active"})
        assert response.status_code == 200, response.text
        assert response.json()["published_at"] == listing["published_at"]

    def test_a_draft_cannot_be_paused(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, status="draft")
        error = assert_error(patch(client, seller, listing, {"status": "paused"}), 409, "conflict")
        assert error["details"] == {"from": "draft", "to": "paused"}

    def test_activating_without_stock_is_a_conflict(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, status="draft", stock=0)

        assert_error(patch(client, seller, listing, {"status": "active"}), 409, "conflict")
        assert client.get(f"/listings/{listing['id']}", headers=seller.headers).json() == listing

    def test_stock_running_out_sells_out_and_restock_reactivates(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)

        sold_out = patch(client, seller, listing, {"stock": 0}).json()
        restocked = patch(client, seller, listing, {"stock": 4}).json()

        assert sold_out["status"] == "sold_out"
        assert restocked["status"] == "active"
        assert restocked["stock"] == 4
        assert restocked["published_at"] == listing["published_at"]

    def test_sold_out_cannot_be_activated_by_hand(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)
        patch(client, seller, listing, {"stock": 0})

        assert_error(patch(client, seller, listing, {"status": "active"}), 409)

    def test_restock_with_active_status_in_one_request(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)
        patch(client, seller, listing, {"stock": 0})

        response = patch(client, seller, listing, {"stock": 3, "status": "active"})

        assert response.status_code == 200, response.text
        assert response.json()["status"] == "active"

    def test_asking_for_active_while_emptying_stock_is_a_conflict(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)

        assert_error(patch(client, seller, listing, {"stock": 0, "status": "active"}), 409)
        assert client.get(f"/listings/{listing['id']}").json() == listing

    def test_pausing_while_emptying_stock(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)
        response = patch(client, seller, listing, {"stock": 0, "status": "paused"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "paused"

    def test_sold_out_may_be_paused_and_stays_paused_when_restocked(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        listing = factory.listing(seller, stock=1)
        patch(client, seller, listing, {"stock": 0})

        paused = patch(client, seller, listing, {"status": "paused"})
        restocked = patch(client, seller, listing, {"stock": 2})

        assert paused.status_code == 200, paused.text
        assert paused.json()["status"] == "paused"
        assert restocked.json()["status"] == "paused"

    def test_stock_changes_leave_drafts_and_paused_alone(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        draft = factory.listing(seller, status="draft")
        paused = factory.listing(seller)
        patch(client, seller, paused, {"status": "paused"})

        assert patch(client, seller, draft, {"stock": 0}).json()["status"] == "draft"
        assert patch(client, seller, paused, {"stock": 0}).json()["status"] == "paused"
        assert_error(patch(client, seller, paused, {"status": "active"}), 409)


class TestMyListings:
    def test_anonymous(self, client: TestClient) -> None:
        assert_error(client.get("/me/listings"), 401)

    def test_shopper(self, client: TestClient, shopper: Actor) -> None:
        assert_error(client.get("/me/listings", headers=shopper.headers), 403, "forbidden")

    def test_every_status_newest_first_and_only_mine(
        self, client: TestClient, factory: Factory, seller: Actor, other_seller: Actor
    ) -> None:
        factory.listing(other_seller)
        draft = factory.listing(seller, status="draft", title="First draft")
        active = factory.listing(seller, title="Second active")
        paused = factory.listing(seller, title="Third paused")
        patch(client, seller, paused, {"status": "paused"})

        response = client.get("/me/listings", headers=seller.headers)

        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == 3
        assert [item["id"] for item in page["data"]] == [paused["id"], active["id"], draft["id"]]
        assert [item["status"] for item in page["data"]] == ["paused", "active", "draft"]

    @pytest.mark.parametrize("status", ["draft", "active", "paused", "sold_out"])
    def test_status_filter(
        self, client: TestClient, factory: Factory, seller: Actor, status: str
    ) -> None:
        listings = {
            "draft": factory.listing(seller, status="draft"),
            "active": factory.listing(seller),
            "paused": factory.listing(seller),
            "sold_out": factory.listing(seller, stock=1),
        }
        patch(client, seller, listings["paused"], {"status": "paused"})
        patch(client, seller, listings["sold_out"], {"stock": 0})

        response = client.get("/me/listings", params={"status": status}, headers=seller.headers)

        assert response.status_code == 200, response.text
        assert response.json()["count"] == 1
        assert [item["id"] for item in response.json()["data"]] == [listings[status]["id"]]

    def test_unknown_status(self, client: TestClient, seller: Actor) -> None:
        response = client.get("/me/listings", params={"status": "gone"}, headers=seller.headers)
        assert_error(response, 422)

    def test_pagination(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        ids = [factory.listing(seller, status="draft")["id"] for _ in range(3)]

        first = client.get("/me/listings", params={"page_size": 2}, headers=seller.headers)
        second = client.get(
            "/me/listings", params={"page_size": 2, "page": 2}, headers=seller.headers
        )

        assert first.json()["count"] == second.json()["count"] == 3
        seen = [item["id"] for item in first.json()["data"] + second.json()["data"]]
        assert seen == ids[::-1]
