"""Reviews: written by the buyer after delivery, once per order item, aggregated on the
listing and the seller, and kept (without the person) after the reviewer's erasure."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.accounts.erasure import ERASED_DISPLAY_NAME, REDACTED_TEXT
from shop_api.models import ErasureRecord, Listing, OutboxEvent, Review
from shop_api.reviews import service as review_service
from tests.factories import Actor, Factory, assert_error


def post_review(
    client: TestClient, actor: Actor | None, order: dict, item_index: int = 0, **body: Any
) -> Any:
    payload = {"order_item_id": order["items"][item_index]["id"], "rating": 4, **body}
    return client.post(
        f"/orders/{order['id']}/reviews", json=payload, headers=actor.headers if actor else {}
    )


def reviews_of(client: TestClient, listing_id: str, actor: Actor | None = None, **params: Any):
    return client.get(
        f"/listings/{listing_id}/reviews", params=params, headers=actor.headers if actor else {}
    )


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, title="Reviewed camera", stock=20, price_minor=10_000)


@pytest.fixture
def delivered(factory: Factory, shopper: Actor, seller: Actor, listing: dict) -> dict[str, Any]:
    return factory.delivered_order(shopper, seller, [listing])


class TestWriteReview:
    def test_anonymous(self, client: TestClient, delivered: dict) -> None:
        assert_error(post_review(client, None, delivered), 401, "unauthorized")

    def test_not_existing(self, client: TestClient, shopper: Actor, delivered: dict) -> None:
        response = post_review(client, shopper, {**delivered, "id": str(uuid.uuid4())})
        assert_error(response, 404, "not_found")

    def test_someone_elses_order_is_not_found(
        self, client: TestClient, factory: Factory, other_seller: Actor, delivered: dict
    ) -> None:
        for stranger in (factory.user("shopper"), other_seller):
            assert_error(post_review(client, stranger, delivered), 404, "not_found")

    def test_only_the_buyer(
        self, client: TestClient, seller: Actor, staff: Actor, delivered: dict
    ) -> None:
        """The order's seller and staff can see the order, but reviewing is the buyer's."""
        for onlooker in (seller, staff):
            assert_error(post_review(client, onlooker, delivered), 403, "forbidden")

    @pytest.mark.parametrize(
        "body",
        [
            {"rating": 0},
            {"rating": 6},
            {"rating": "five"},
            {"rating": 4.5},
            {"rating": None},
            {"title": "x" * 121},
            {"body": "x" * 5001},
            {"order_item_id": "not-a-uuid"},
            {"helpful": True},
        ],
        ids=lambda body: ",".join(body),
    )
    def test_validation(self, client: TestClient, shopper: Actor, body: dict) -> None:
        """Bodies are checked before any order is looked at, so any order id will do."""
        order = {"id": str(uuid.uuid4()), "items": [{"id": str(uuid.uuid4())}]}
        assert_error(post_review(client, shopper, order, **body), 422, "validation_error")

    def test_missing_rating(self, client: TestClient, shopper: Actor, delivered: dict) -> None:
        response = client.post(
            f"/orders/{delivered['id']}/reviews",
            json={"order_item_id": delivered["items"][0]["id"], "title": "No stars"},
            headers=shopper.headers,
        )
        assert_error(response, 422, "validation_error")

    def test_item_of_another_order(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor, listing: dict
    ) -> None:
        first = factory.delivered_order(shopper, seller, [listing])
        second = factory.order(shopper, [listing])
        response = post_review(client, shopper, second, order_item_id=first["items"][0]["id"])
        error = assert_error(response, 422, "validation_error")
        assert error["details"][0]["loc"] == ["body", "order_item_id"]

    def test_gated_on_delivery(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor, listing: dict
    ) -> None:
        order = factory.order(shopper, [listing])
        error = assert_error(post_review(client, shopper, order), 409, "conflict")
        assert error["details"] == {"fulfilment_status": "awaiting_payment"}

        factory.pay(shopper, order["id"])
        error = assert_error(post_review(client, shopper, order), 409, "conflict")
        assert error["details"] == {"fulfilment_status": "awaiting_shipment"}

        tracking_number = factory.ship_order(seller, order["id"])["tracking_number"]
        error = assert_error(post_review(client, shopper, order), 409, "conflict")
        assert error["details"] == {"fulfilment_status": "label_created"}
        advance = f"/sandbox/carrier/v1/shipments/{tracking_number}/advance"
        assert client.post(advance).status_code == 200
        factory.settle()
        error = assert_error(post_review(client, shopper, order), 409, "conflict")
        assert error["details"] == {"fulfilment_status": "in_transit"}

        for _ in range(2):
            assert client.post(advance).status_code == 200
            factory.settle()
        response = post_review(client, shopper, order, rating=5)
        assert response.status_code == 201, response.text

    def test_cancelled_order(
        self, client: TestClient, factory: Factory, shopper: Actor, listing: dict
    ) -> None:
        order = factory.order(shopper, [listing])
        cancelled = client.post(f"/orders/{order['id']}/cancel", headers=shopper.headers)
        assert cancelled.status_code == 200, cancelled.text
        error = assert_error(post_review(client, shopper, order), 409, "conflict")
        assert error["details"] == {"fulfilment_status": "cancelled"}

    def test_valid(
        self, client: TestClient, shopper: Actor, delivered: dict, listing: dict, db: Session
    ) -> None:
        response = post_review(
            client, shopper, delivered, rating=4, title="  Sharp lens  ", body="Works well."
        )

        assert response.status_code == 201, response.text
        review = response.json()
        assert review["listing_id"] == listing["id"]
        assert review["rating"] == 4
        assert review["title"] == "Sharp lens"
        assert review["body"] == "Works well."
        assert review["reviewer_name"] == "Test shopper"
        assert "buyer_id" not in review
        stored = db.get(Review, uuid.UUID(review["id"]))
        assert stored is not None
        assert str(stored.order_item_id) == delivered["items"][0]["id"]
        assert str(stored.seller_id) == listing["seller_id"]

    def test_rating_without_words(
        self, client: TestClient, shopper: Actor, delivered: dict
    ) -> None:
        response = post_review(client, shopper, delivered, rating=3)

        assert response.status_code == 201, response.text
        assert (response.json()["title"], response.json()["body"]) == ("", "")

    def test_write_review_event_is_in_the_outbox(
        self, client: TestClient, shopper: Actor, delivered: dict, listing: dict, db: Session
    ) -> None:
        review = post_review(client, shopper, delivered, rating=2).json()

        [event] = db.scalars(
            select(OutboxEvent).where(
                OutboxEvent.event_name == "write_review",
                OutboxEvent.user_id == shopper.id,
            )
        ).all()
        payload = event.payload
        assert payload["event_name"] == "write_review"
        assert payload["user_id"] == str(shopper.id)
        assert payload["params"]["rating"] == 2
        assert payload["params"]["review_id"] == review["id"]
        assert payload["params"]["transaction_id"] == delivered["id"]
        [item] = payload["items"]
        assert item["item_id"] == listing["id"]
        assert item["seller_id"] == listing["seller_id"]
        assert item["quantity"] == 1


class TestOnePerItem:
    def test_second_review_of_an_item(
        self, client: TestClient, factory: Factory, shopper: Actor, seller: Actor
    ) -> None:
        first = factory.listing(seller, title="Camera body")
        second = factory.listing(seller, title="Camera lens")
        order = factory.delivered_order(shopper, seller, [first, second])
        created = factory.review(shopper, order, 0, rating=5)

        error = assert_error(post_review(client, shopper, order, 0, rating=1), 409, "conflict")

        assert error["details"] == {"review_id": created["id"]}
        assert post_review(client, shopper, order, 1, rating=3).status_code == 201
        detail = client.get(f"/listings/{order['items'][0]['listing_id']}").json()
        assert (detail["rating_count"], detail["rating_average"]) == (1, 5.0)

    def test_a_duplicate_past_the_early_check_is_a_409(
        self,
        client: TestClient,
        shopper: Actor,
        delivered: dict,
        listing: dict,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """What a concurrent duplicate meets: the unique constraint, answered as a 409."""
        assert post_review(client, shopper, delivered, rating=5).status_code == 201
        real = review_service._existing_review
        calls: list[int] = []

        def blind_first_time(session: Session, order_item_id: uuid.UUID) -> uuid.UUID | None:
            calls.append(1)
            return None if len(calls) == 1 else real(session, order_item_id)

        monkeypatch.setattr(review_service, "_existing_review", blind_first_time)

        assert_error(post_review(client, shopper, delivered, rating=1), 409, "conflict")
        assert len(calls) == 2
        detail = client.get(f"/listings/{listing['id']}").json()
        assert (detail["rating_count"], detail["rating_average"]) == (1, 5.0)

    def test_concurrent_duplicates(
        self, client: TestClient, shopper: Actor, delivered: dict, listing: dict, db: Session
    ) -> None:
        barrier = threading.Barrier(4)
        statuses: list[int] = []

        def send(rating: int) -> None:
            barrier.wait()
            statuses.append(post_review(client, shopper, delivered, rating=rating).status_code)

        threads = [threading.Thread(target=send, args=(rating,)) for rating in (1, 2, 3, 4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(statuses) == [201, 409, 409, 409]
        row = db.get(Listing, uuid.UUID(listing["id"]))
        assert row is not None
        db.refresh(row)
        stored = db.scalar(select(Review).where(Review.listing_id == row.id))
        assert stored is not None
        assert (row.rating_count, row.rating_sum) == (1, stored.rating)


class TestAggregates:
    def test_listing_and_seller(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        body = factory.listing(seller, title="Body", stock=10)
        lens = factory.listing(seller, title="Lens", stock=10)
        unrated = factory.listing(seller, title="Strap", stock=10)
        ana, bea, caio = (factory.user("shopper") for _ in range(3))
        both = factory.delivered_order(ana, seller, [body, lens])
        factory.review(ana, both, 0, rating=5)
        factory.review(ana, both, 1, rating=3)
        factory.review(bea, factory.delivered_order(bea, seller, [body]), rating=4)
        factory.review(caio, factory.delivered_order(caio, seller, [body]), rating=2)
        factory.paid_order(factory.user("shopper"), [unrated])  # a sale, not delivered

        body_detail = client.get(f"/listings/{body['id']}").json()
        assert (body_detail["rating_count"], body_detail["rating_average"]) == (3, 3.67)
        lens_detail = client.get(f"/listings/{lens['id']}").json()
        assert (lens_detail["rating_count"], lens_detail["rating_average"]) == (1, 3.0)
        unrated_detail = client.get(f"/listings/{unrated['id']}").json()
        assert (unrated_detail["rating_count"], unrated_detail["rating_average"]) == (0, None)

        rating = client.get(f"/sellers/{seller.id}/rating")
        assert rating.status_code == 200, rating.text
        assert rating.json() == {
            "seller_id": str(seller.id),
            "rating_count": 4,
            "rating_average": 3.5,
            "rating_distribution": {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1},
            "sales_count": 3,
        }

    def test_seller_without_reviews(
        self, client: TestClient, other_seller: Actor, shopper: Actor
    ) -> None:
        response = client.get(f"/sellers/{other_seller.id}/rating", headers=shopper.headers)

        assert response.status_code == 200, response.text
        assert response.json() == {
            "seller_id": str(other_seller.id),
            "rating_count": 0,
            "rating_average": None,
            "rating_distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
            "sales_count": 0,
        }

    def test_unknown_seller(self, client: TestClient, shopper: Actor, staff: Actor) -> None:
        for not_a_seller in (str(uuid.uuid4()), str(shopper.id), str(staff.id)):
            response = client.get(f"/sellers/{not_a_seller}/rating")
            assert_error(response, 404, "not_found")
        assert_error(client.get("/sellers/nope/rating"), 422, "validation_error")


class TestListReviews:
    @pytest.fixture
    def reviewed(self, factory: Factory, seller: Actor, listing: dict) -> list[tuple[Actor, dict]]:
        """Three buyers' reviews of ``listing``, oldest first: 5, 1, 4 stars."""
        written = []
        for rating, name in ((5, "Ana"), (1, "Bea"), (4, "Caio")):
            buyer = factory.user("shopper")
            renamed = factory.client.patch(
                "/me", json={"display_name": name}, headers=buyer.headers
            )
            assert renamed.status_code == 200, renamed.text
            order = factory.delivered_order(buyer, seller, [listing])
            written.append(
                (buyer, factory.review(buyer, order, rating=rating, title=f"{rating} stars"))
            )
        return written

    def test_newest_first_with_pages(
        self, client: TestClient, listing: dict, reviewed: list
    ) -> None:
        first = reviews_of(client, listing["id"], page_size=2)

        assert first.status_code == 200, first.text
        page = first.json()
        assert (page["count"], page["page"], page["page_size"]) == (3, 1, 2)
        assert [review["reviewer_name"] for review in page["data"]] == ["Caio", "Bea"]
        assert [review["rating"] for review in page["data"]] == [4, 1]
        assert set(page["data"][0]) == {
            "id", "listing_id", "rating", "title", "body", "reviewer_name", "created_at",
        }  # fmt: skip
        second = reviews_of(client, listing["id"], page_size=2, page=2).json()
        assert [review["reviewer_name"] for review in second["data"]] == ["Ana"]
        assert second["data"][0]["title"] == "5 stars"
        beyond = reviews_of(client, listing["id"], page_size=2, page=3).json()
        assert (beyond["data"], beyond["count"]) == ([], 3)

    def test_filter_by_stars(self, client: TestClient, listing: dict, reviewed: list) -> None:
        page = reviews_of(client, listing["id"], rating=1).json()

        assert page["count"] == 1
        assert page["data"][0]["reviewer_name"] == "Bea"
        assert_error(reviews_of(client, listing["id"], rating=6), 422, "validation_error")

    def test_listing_without_reviews(self, client: TestClient, listing: dict) -> None:
        page = reviews_of(client, listing["id"]).json()

        assert (page["data"], page["count"]) == ([], 0)

    def test_not_existing(self, client: TestClient) -> None:
        assert_error(reviews_of(client, str(uuid.uuid4())), 404, "not_found")

    def test_unpublished_listing(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        draft = factory.listing(seller, status="draft")

        assert_error(reviews_of(client, draft["id"]), 404, "not_found")
        assert_error(reviews_of(client, draft["id"], shopper), 404, "not_found")
        assert reviews_of(client, draft["id"], seller).status_code == 200


class TestErasure:
    def test_review_stays_without_the_person(
        self,
        client: TestClient,
        factory: Factory,
        shopper: Actor,
        delivered: dict,
        listing: dict,
        db: Session,
    ) -> None:
        factory.review(shopper, delivered, rating=2, title="Scratched", body="Ana, Curitiba")

        erased = client.delete("/me", headers=shopper.headers)
        assert erased.status_code == 204, erased.text

        [review] = reviews_of(client, listing["id"]).json()["data"]
        assert review["reviewer_name"] == ERASED_DISPLAY_NAME
        assert review["rating"] == 2
        assert (review["title"], review["body"]) == ("", REDACTED_TEXT)
        detail = client.get(f"/listings/{listing['id']}").json()
        assert (detail["rating_count"], detail["rating_average"]) == (1, 2.0)
        seller_rating = client.get(f"/sellers/{listing['seller_id']}/rating").json()
        assert seller_rating["rating_count"] == 1
        record = db.scalar(select(ErasureRecord).where(ErasureRecord.user_id == shopper.id))
        assert record is not None
        assert record.steps["reviews"] == {"reviews_redacted": 1}
