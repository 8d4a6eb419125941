"""Questions on listings, their answers, and the notifications both sides receive."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Actor, Factory, assert_error


def ask(client: TestClient, actor: Actor | None, listing_id: str, body: Any) -> Any:
    return client.post(
        f"/listings/{listing_id}/questions",
        json={"body": body},
        headers=actor.headers if actor else {},
    )


def answer(client: TestClient, actor: Actor | None, question_id: str, body: Any) -> Any:
    return client.post(
        f"/questions/{question_id}/answer",
        json={"body": body},
        headers=actor.headers if actor else {},
    )


def notifications(client: TestClient, actor: Actor, **params: Any) -> dict[str, Any]:
    response = client.get("/me/notifications", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


def set_status(client: TestClient, seller: Actor, listing: dict, **body: Any) -> None:
    response = client.patch(f"/listings/{listing['id']}", json=body, headers=seller.headers)
    assert response.status_code == 200, response.text


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller, title="Vintage film camera")


class TestAsk:
    def test_anonymous(self, client: TestClient, listing: dict) -> None:
        assert_error(ask(client, None, listing["id"], "Is it working?"), 401)

    def test_not_existing(self, client: TestClient, shopper: Actor) -> None:
        assert_error(ask(client, shopper, str(uuid.uuid4()), "Is it working?"), 404, "not_found")

    def test_valid(self, client: TestClient, listing: dict, seller: Actor, shopper: Actor) -> None:
        response = ask(client, shopper, listing["id"], "  Does the lens have fungus?  ")

        assert response.status_code == 201, response.text
        question = response.json()
        assert question["listing_id"] == listing["id"]
        assert question["body"] == "Does the lens have fungus?"
        assert question["answer"] is None
        assert question["answered_at"] is None
        assert "asker_id" not in question  # askers stay anonymous

    def test_seller_is_notified(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        question = factory.question(shopper, listing["id"], "Does the lens have fungus?")

        page = notifications(client, seller)

        assert page["count"] == page["unread_count"] == 1
        [notification] = page["data"]
        assert notification["kind"] == "question_received"
        assert notification["read_at"] is None
        assert notification["data"] == {"listing_id": listing["id"], "question_id": question["id"]}
        assert "Vintage film camera" in notification["message"]
        assert "Does the lens have fungus?" in notification["message"]
        assert notifications(client, shopper)["count"] == 0

    def test_own_listing(self, client: TestClient, listing: dict, seller: Actor) -> None:
        assert_error(ask(client, seller, listing["id"], "Who am I?"), 403, "forbidden")

    @pytest.mark.parametrize("status", ["draft", "paused"])
    def test_unpublished_listing(
        self,
        client: TestClient,
        factory: Factory,
        seller: Actor,
        shopper: Actor,
        staff: Actor,
        status: str,
    ) -> None:
        listing = factory.listing(seller, status="draft")
        if status == "paused":
            set_status(client, seller, listing, status="active")
            set_status(client, seller, listing, status="paused")

        # Shoppers cannot see it at all; staff can, but nobody can ask there.
        assert_error(ask(client, shopper, listing["id"], "Still for sale?"), 404)
        assert_error(ask(client, staff, listing["id"], "Still for sale?"), 409, "conflict")
        assert notifications(client, seller)["count"] == 0

    def test_sold_out_listing(
        self, client: TestClient, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        set_status(client, seller, listing, stock=0)
        response = ask(client, shopper, listing["id"], "Will you restock?")
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"body": "hi"}, id="too-short"),
            pytest.param({"body": "   hi   "}, id="short-after-trimming"),
            pytest.param({"body": "x" * 1001}, id="too-long"),
            pytest.param({"body": 42}, id="not-text"),
            pytest.param({}, id="missing"),
            pytest.param({"body": "Is it working?", "asker_id": str(uuid.uuid4())}, id="extra"),
        ],
    )
    def test_validation(
        self, client: TestClient, listing: dict, seller: Actor, shopper: Actor, body: dict
    ) -> None:
        response = client.post(
            f"/listings/{listing['id']}/questions", json=body, headers=shopper.headers
        )
        assert_error(response, 422, "validation_error")
        assert notifications(client, seller)["count"] == 0


class TestAnswer:
    @pytest.fixture
    def question(self, factory: Factory, listing: dict, shopper: Actor) -> dict[str, Any]:
        return factory.question(shopper, listing["id"], "Does it come with a strap?")

    def test_anonymous(self, client: TestClient, question: dict) -> None:
        assert_error(answer(client, None, question["id"], "Yes"), 401)

    def test_not_existing(self, client: TestClient, seller: Actor) -> None:
        assert_error(answer(client, seller, str(uuid.uuid4()), "Yes"), 404, "not_found")

    def test_only_the_listings_seller(
        self,
        client: TestClient,
        question: dict,
        shopper: Actor,
        other_seller: Actor,
        staff: Actor,
    ) -> None:
        for actor in (shopper, other_seller, staff):
            assert_error(answer(client, actor, question["id"], "Yes"), 403, "forbidden")
        assert notifications(client, shopper)["count"] == 0

    def test_valid(self, client: TestClient, question: dict, listing: dict, seller: Actor) -> None:
        response = answer(client, seller, question["id"], "  Yes, the original one.  ")

        assert response.status_code == 200, response.text
        answered = response.json()
        assert answered["id"] == question["id"]
        assert answered["body"] == question["body"]
        assert answered["answer"] == "Yes, the original one."
        assert answered["answered_at"] is not None
        listed = client.get(f"/listings/{listing['id']}/questions").json()
        assert listed["data"] == [answered]

    def test_asker_is_notified(
        self, client: TestClient, question: dict, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        answer(client, seller, question["id"], "Yes, the original one.")

        page = notifications(client, shopper)

        assert page["count"] == page["unread_count"] == 1
        [notification] = page["data"]
        assert notification["kind"] == "question_answered"
        assert notification["data"] == {"listing_id": listing["id"], "question_id": question["id"]}
        assert "Yes, the original one." in notification["message"]
        # The seller has only the notification about the question itself.
        kinds = [item["kind"] for item in notifications(client, seller)["data"]]
        assert kinds == ["question_received"]

    def test_answering_twice(
        self, client: TestClient, question: dict, listing: dict, seller: Actor, shopper: Actor
    ) -> None:
        answer(client, seller, question["id"], "Yes.")

        assert_error(answer(client, seller, question["id"], "Actually no."), 409, "conflict")
        assert client.get(f"/listings/{listing['id']}/questions").json()["data"][0]["answer"] == (
            "Yes."
        )
        assert notifications(client, shopper)["count"] == 1

    def test_paused_listing_can_still_be_answered(
        self, client: TestClient, question: dict, listing: dict, seller: Actor
    ) -> None:
        set_status(client, seller, listing, status="paused")
        assert answer(client, seller, question["id"], "Yes.").status_code == 200

    @pytest.mark.parametrize(
        "body", [{"body": ""}, {"body": "   "}, {"body": "x" * 2001}, {}, {"body": None}]
    )
    def test_validation(
        self, client: TestClient, question: dict, seller: Actor, body: dict
    ) -> None:
        response = client.post(
            f"/questions/{question['id']}/answer", json=body, headers=seller.headers
        )
        assert_error(response, 422, "validation_error")


class TestListQuestions:
    def test_not_existing(self, client: TestClient) -> None:
        assert_error(client.get(f"/listings/{uuid.uuid4()}/questions"), 404)

    def test_hidden_listing(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor
    ) -> None:
        draft = factory.listing(seller, status="draft")
        assert_error(client.get(f"/listings/{draft['id']}/questions"), 404)
        assert_error(client.get(f"/listings/{draft['id']}/questions", headers=shopper.headers), 404)
        response = client.get(f"/listings/{draft['id']}/questions", headers=seller.headers)
        assert response.status_code == 200, response.text
        assert response.json()["count"] == 0

    def test_newest_first_with_pagination(
        self, client: TestClient, factory: Factory, listing: dict, shopper: Actor, staff: Actor
    ) -> None:
        other_listing = factory.listing(factory.user("seller"))
        factory.question(shopper, other_listing["id"], "Somewhere else?")
        asked = [
            factory.question(asker, listing["id"], f"Question number {n}?")
            for n, asker in enumerate((shopper, factory.user("shopper"), shopper))
        ]

        url = f"/listings/{listing['id']}/questions"
        first = client.get(url, params={"page_size": 2}).json()
        second = client.get(url, params={"page_size": 2, "page": 2}).json()
        beyond = client.get(url, params={"page_size": 2, "page": 3}).json()

        assert first["count"] == second["count"] == beyond["count"] == 3
        assert first["data"] + second["data"] == asked[::-1]
        assert beyond["data"] == []
        assert (second["page"], second["page_size"]) == (2, 2)

    def test_page_size_limit(self, client: TestClient, listing: dict) -> None:
        response = client.get(f"/listings/{listing['id']}/questions", params={"page_size": 101})
        assert_error(response, 422)


class TestNotifications:
    @pytest.fixture
    def received(self, factory: Factory, listing: dict, shopper: Actor) -> list[dict[str, Any]]:
        """Three questions for the seller; returns the questions, oldest first."""
        return [factory.question(shopper, listing["id"], f"Question number {n}?") for n in range(3)]

    def test_anonymous(self, client: TestClient) -> None:
        assert_error(client.get("/me/notifications"), 401)
        assert_error(client.post("/me/notifications/read-all"), 401)
        assert_error(client.post(f"/me/notifications/{uuid.uuid4()}/read"), 401)

    def test_newest_first(self, client: TestClient, seller: Actor, received: list) -> None:
        page = notifications(client, seller)
        question_ids = [item["data"]["question_id"] for item in page["data"]]
        assert question_ids == [question["id"] for question in reversed(received)]

    def test_mark_read_is_idempotent(
        self, client: TestClient, seller: Actor, received: list
    ) -> None:
        newest = notifications(client, seller)["data"][0]
        url = f"/me/notifications/{newest['id']}/read"

        first = client.post(url, headers=seller.headers)
        again = client.post(url, headers=seller.headers)

        assert first.status_code == again.status_code == 200, first.text
        assert first.json()["read_at"] is not None
        assert again.json() == first.json()
        assert notifications(client, seller)["unread_count"] == 2

    def test_unread_filter(self, client: TestClient, seller: Actor, received: list) -> None:
        newest = notifications(client, seller)["data"][0]
        client.post(f"/me/notifications/{newest['id']}/read", headers=seller.headers)

        unread = notifications(client, seller, unread="true")
        read = notifications(client, seller, unread="false")
        everything = notifications(client, seller)

        assert unread["count"] == 2
        assert all(item["read_at"] is None for item in unread["data"])
        assert [item["id"] for item in read["data"]] == [newest["id"]]
        assert read["count"] == 1
        assert everything["count"] == 3
        # The unread count is about all notifications, whatever the filter.
        assert unread["unread_count"] == read["unread_count"] == everything["unread_count"] == 2

    def test_invalid_filter(self, client: TestClient, seller: Actor) -> None:
        response = client.get(
            "/me/notifications", params={"unread": "maybe"}, headers=seller.headers
        )
        assert_error(response, 422)

    def test_pagination(self, client: TestClient, seller: Actor, received: list) -> None:
        first = notifications(client, seller, page_size=2)
        second = notifications(client, seller, page_size=2, page=2)
        assert first["count"] == second["count"] == 3
        assert len(first["data"]) == 2
        assert len(second["data"]) == 1
        assert not {item["id"] for item in first["data"]} & {item["id"] for item in second["data"]}

    def test_read_all(self, client: TestClient, seller: Actor, received: list) -> None:
        one = notifications(client, seller)["data"][0]
        client.post(f"/me/notifications/{one['id']}/read", headers=seller.headers)

        response = client.post("/me/notifications/read-all", headers=seller.headers)
        again = client.post("/me/notifications/read-all", headers=seller.headers)

        assert response.status_code == 200, response.text
        assert response.json() == {"updated": 2}
        assert again.json() == {"updated": 0}
        page = notifications(client, seller)
        assert page["unread_count"] == 0
        assert all(item["read_at"] is not None for item in page["data"])

    def test_read_all_leaves_others_alone(
        self, client: TestClient, seller: Actor, shopper: Actor, listing: dict, received: list
    ) -> None:
        question = received[0]
        client.post(
            f"/questions/{question['id']}/answer", json={"body": "Yes"}, headers=seller.headers
        )
        client.post("/me/notifications/read-all", headers=seller.headers)
        assert notifications(client, shopper)["unread_count"] == 1

    def test_someone_elses_notification(
        self, client: TestClient, seller: Actor, shopper: Actor, received: list
    ) -> None:
        theirs = notifications(client, seller)["data"][0]

        response = client.post(f"/me/notifications/{theirs['id']}/read", headers=shopper.headers)

        assert_error(response, 404, "not_found")
        assert notifications(client, seller)["unread_count"] == 3

    def test_not_existing(self, client: TestClient, seller: Actor) -> None:
        response = client.post(f"/me/notifications/{uuid.uuid4()}/read", headers=seller.headers)
        assert_error(response, 404)
