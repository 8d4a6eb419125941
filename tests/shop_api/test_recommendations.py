"""Recommendations in the shop: what the model ranks, filtered by what is on sale now,
named by model version, logged as impressions, split champion/challenger, and
non-personal for shoppers who opt out."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ml.serving import ModelStore, write_pointer
from shop_api.core.clock import FrozenClock, SystemClock
from shop_api.recommendations.schemas import RecommendationPage
from shop_api.recommendations.service import FALLBACK_VERSION, Arm, ShopPopularity, arm_for
from tests.factories import Actor, Factory, assert_error
from tests.recommender_artifacts import publish, write_version
from tests.tracking.conftest import Lake


@pytest.fixture
def artifacts(app: FastAPI, tmp_path: Path) -> Iterator[Path]:
    """An empty artifact root the app serves from (nothing published yet)."""
    root = tmp_path / "recommender"
    root.mkdir()
    saved = app.state.recommender, app.state.recs_popularity
    app.state.recommender = ModelStore(root, check_seconds=0, background=False)
    app.state.recs_popularity = ShopPopularity(days=30, ttl_seconds=0)
    yield root
    app.state.recommender, app.state.recs_popularity = saved


@pytest.fixture
def shop_clock(app: FastAPI) -> Iterator[FrozenClock]:
    """The app's clock, stopped (it moves when the test says)."""
    running = app.state.clock
    app.state.clock = clock = FrozenClock(SystemClock().now())
    yield clock
    app.state.clock = running


@pytest.fixture
def lake(app: FastAPI) -> Lake:
    return Lake(app.state.tracking)


def ids(response: Any) -> list[str]:
    """The listings of a list, after checking the body is what its documented model says."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert RecommendationPage.model_validate(body).model_dump(mode="json") == body
    return [item["listing_id"] for item in body["data"]]


def version(name: str = "v") -> str:
    return f"20261207T0900{uuid.uuid4().hex[:6]}Z-test-{name}"


class TestForYou:
    def test_the_models_ranking_with_its_version_and_reasons(
        self, client: TestClient, factory: Factory, artifacts: Path, shopper: Actor
    ):
        sellers = [factory.user("seller") for _ in range(3)]
        listings = [factory.listing(seller)["id"] for seller in sellers]
        v = version()
        publish(artifacts, v, users={str(shopper.id): listings})

        response = client.get("/recommendations", params={"k": 3}, headers=shopper.headers)

        assert ids(response) == listings
        body = response.json()
        assert body["model_version"] == v
        assert body["list_id"] == f"recs:{v}"
        assert body["ab_arm"] == "champion"
        assert body["personalised"] is True
        assert [(i["reason"], i["fallback"], i["position"]) for i in body["data"]] == [
            ("for_you", False, 0), ("for_you", False, 1), ("for_you", False, 2)
        ]  # fmt: skip

    def test_listings_sold_out_paused_or_bought_since_training_are_never_shown(
        self, client: TestClient, factory: Factory, artifacts: Path, shopper: Actor
    ):
        seller = factory.user("seller")
        kept, paused, emptied, bought = (factory.listing(seller, stock=5)["id"] for _ in range(4))
        publish(artifacts, version(), users={str(shopper.id): [paused, emptied, bought, kept]})
        client.patch(f"/listings/{paused}", json={"status": "paused"}, headers=seller.headers)
        client.patch(f"/listings/{emptied}", json={"stock": 0}, headers=seller.headers)
        factory.order(shopper, [{"id": bought}])

        response = client.get("/recommendations", params={"k": 10}, headers=shopper.headers)

        shown = ids(response)
        assert shown[0] == kept
        assert not {paused, emptied, bought} & set(shown)
        assert all(item["fallback"] for item in response.json()["data"][1:])

    def test_at_most_a_few_items_per_seller(
        self, client: TestClient, factory: Factory, artifacts: Path, shopper: Actor, app: FastAPI
    ):
        cap = app.state.settings.recs_max_per_seller
        big, small = factory.user("seller"), factory.user("seller")
        many = [factory.listing(big)["id"] for _ in range(cap + 2)]
        other = factory.listing(small)["id"]
        publish(artifacts, version(), users={str(shopper.id): [*many, other]})

        shown = ids(client.get("/recommendations", params={"k": cap + 1}, headers=shopper.headers))

        assert shown == [*many[:cap], other]

    def test_an_anonymous_device_is_recognised_by_its_client_id(
        self, client: TestClient, factory: Factory, artifacts: Path
    ):
        listing = factory.listing(factory.user("seller"))["id"]
        device = f"dev-{uuid.uuid4().hex[:12]}"
        publish(artifacts, version(), users={f"client:{device}": [listing]})

        response = client.get("/recommendations", params={"k": 1}, headers={"X-Client-Id": device})

        assert ids(response) == [listing]
        assert response.json()["data"][0]["reason"] == "for_you"

    def test_a_shopper_the_model_does_not_know_gets_its_popular_items(
        self, client: TestClient, factory: Factory, artifacts: Path, shopper: Actor
    ):
        listing = factory.listing(factory.user("seller"))["id"]
        v = version()
        publish(artifacts, v, users={"someone-else": [listing]}, popular=[listing])

        response = client.get("/recommendations", params={"k": 1}, headers=shopper.headers)

        assert ids(response) == [listing]
        body = response.json()
        assert (body["model_version"], body["personalised"]) == (v, False)
        assert (body["data"][0]["reason"], body["data"][0]["fallback"]) == ("popular", True)


class TestFallbackWithoutAModel:
    def test_popularity_from_the_shops_own_orders(
        self, client: TestClient, factory: Factory, artifacts: Path, shopper: Actor
    ):
        seller = factory.user("seller")
        best = factory.listing(seller, stock=1000)
        for _ in range(2):
            factory.order(factory.user("shopper"), [best], quantity=99)

        response = client.get("/recommendations", params={"k": 50})

        body = response.json()
        assert best["id"] in ids(response)
        assert body["model_version"] == FALLBACK_VERSION
        assert body["list_id"] == f"recs:{FALLBACK_VERSION}"
        assert body["ab_arm"] is None
        assert all(item["fallback"] and item["reason"] == "popular" for item in body["data"])

    def test_similar_falls_back_to_popular_in_the_listings_category(
        self, client: TestClient, factory: Factory, artifacts: Path, staff: Actor
    ):
        category = factory.category(staff)
        seller = factory.user("seller")
        page, other = (factory.listing(seller, category=category["slug"]) for _ in range(2))

        body = client.get(f"/listings/{page['id']}/similar").json()

        assert [item["listing_id"] for item in body["data"]] == [other["id"]]
        assert body["data"][0]["reason"] == f"popular_in:{category['id']}"
        assert body["data"][0]["fallback"] is True

    def test_the_shops_popularity_is_ranked_again_by_the_shops_clock_not_the_wall_clock(
        self, client: TestClient, factory: Factory, artifacts: Path, staff: Actor, app: FastAPI,
        shop_clock: FrozenClock,
    ):  # fmt: skip
        app.state.recs_popularity = ShopPopularity(days=30, ttl_seconds=60)
        category = factory.category(staff)
        seller = factory.user("seller")
        page, first = (factory.listing(seller, category=category["slug"]) for _ in range(2))
        similar = f"/listings/{page['id']}/similar"
        assert ids(client.get(similar)) == [first["id"]]
        later = factory.listing(seller, category=category["slug"])

        before = ids(client.get(similar))  # the ranking is a minute old on no clock yet
        shop_clock.advance(timedelta(seconds=61))
        after = ids(client.get(similar))

        assert before == [first["id"]]
        assert sorted(after) == sorted([first["id"], later["id"]])


class TestListingLists:
    def test_similar_and_bought_together_name_the_listing(
        self, client: TestClient, factory: Factory, artifacts: Path
    ):
        seller = factory.user("seller")
        page, a, b = (factory.listing(seller)["id"] for _ in range(3))
        v = version()
        publish(artifacts, v, similar={page: [page, a, b]}, bought_together={page: [b]})

        similar = client.get(f"/listings/{page}/similar", params={"k": 2})
        together = client.get(f"/listings/{page}/bought-together", params={"k": 1})

        assert ids(similar) == [a, b]  # never the page's own listing
        assert {i["reason"] for i in similar.json()["data"]} == {f"similar_to:{page}"}
        assert ids(together) == [b]
        assert together.json()["data"][0]["reason"] == f"bought_with:{page}"
        assert together.json()["model_version"] == v

    @pytest.mark.parametrize("path", ["similar", "bought-together"])
    @pytest.mark.parametrize("published", [False, True], ids=["no model", "model"])
    def test_unknown_or_hidden_listing_is_404(
        self, client: TestClient, factory: Factory, artifacts: Path, path: str, published: bool
    ):
        seller = factory.user("seller")
        draft, other = factory.listing(seller, status="draft")["id"], factory.listing(seller)["id"]
        unknown = str(uuid.uuid4())
        if published:
            related = {draft: [other], unknown: [other]}
            publish(artifacts, version(), similar=related, bought_together=related)
        for listing_id in (unknown, draft):
            assert_error(client.get(f"/listings/{listing_id}/{path}"), 404, "not_found")

    @pytest.mark.parametrize("path", ["similar", "bought-together"])
    def test_a_seller_sees_the_lists_of_their_own_draft(
        self, client: TestClient, factory: Factory, artifacts: Path, path: str
    ):
        seller = factory.user("seller")
        draft, other = factory.listing(seller, status="draft")["id"], factory.listing(seller)["id"]
        publish(artifacts, version(), similar={draft: [other]}, bought_together={draft: [other]})

        response = client.get(f"/listings/{draft}/{path}", headers=seller.headers)

        assert ids(response)[0] == other
        assert response.json()["data"][0]["fallback"] is False

    @pytest.mark.parametrize("path", ["similar", "bought-together"])
    def test_related_listings_off_sale_since_training_are_skipped(
        self, client: TestClient, factory: Factory, artifacts: Path, path: str
    ):
        page = factory.listing(factory.user("seller"))["id"]
        sellers = [factory.user("seller") for _ in range(12)]
        related = [factory.listing(seller, stock=3)["id"] for seller in sellers]
        # More sold out than the first availability read takes: the rest is read after.
        for seller, listing_id in zip(sellers[:8], related[:8], strict=True):
            client.patch(f"/listings/{listing_id}", json={"stock": 0}, headers=seller.headers)
        publish(artifacts, version(), similar={page: related}, bought_together={page: related})

        response = client.get(f"/listings/{page}/{path}", params={"k": 3})

        assert ids(response) == related[8:11]
        assert not any(item["fallback"] for item in response.json()["data"])

    @pytest.mark.parametrize(
        "url",
        [
            "/recommendations?k=0",
            "/recommendations?k=51",
            "/recommendations?k=ten",
            "/listings/not-a-uuid/similar",
            "/listings/00000000-0000-4000-8000-000000000001/bought-together?k=-1",
        ],
    )
    def test_bad_input_is_422(self, client: TestClient, url: str):
        assert_error(client.get(url), 422)


def test_each_list_served_is_an_impression_with_the_model_version(
    client: TestClient, factory: Factory, artifacts: Path, shopper: Actor, lake: Lake
):
    listings = [factory.listing(factory.user("seller"))["id"] for _ in range(2)]
    v = version()
    publish(artifacts, v, users={str(shopper.id): listings})
    event_id = str(uuid.uuid4())

    response = client.get(
        "/recommendations", params={"k": 2}, headers={**shopper.headers, "X-Event-Id": event_id}
    )

    assert response.status_code == 200
    event = lake.by_id(event_id)
    assert event["event_name"] == "view_item_list"
    assert event["user_id"] == str(shopper.id)
    assert event["params"]["list_id"] == f"recs:{v}"
    assert event["params"]["ab_arm"] == "champion"
    assert [(item["item_id"], item["index"]) for item in event["items"]] == [
        (listings[0], 0), (listings[1], 1)
    ]  # fmt: skip


class TestChampionChallenger:
    def test_assignment_is_stable_and_honours_the_share(self):
        keys = [f"client:{n}" for n in range(4000)]
        arms = [arm_for(key, 0.2) for key in keys]
        assert arms == [arm_for(key, 0.2) for key in keys]
        assert 0.17 < arms.count(Arm.challenger) / len(keys) < 0.23
        assert {arm_for(key, 0.0) for key in keys} == {Arm.champion}
        assert {arm_for(key, 1.0) for key in keys} == {Arm.challenger}

    def test_a_device_in_the_challenger_arm_is_served_by_the_challenger_every_time(
        self, client: TestClient, factory: Factory, artifacts: Path, app: FastAPI
    ):
        share = app.state.settings.recs_challenger_share
        devices = (f"dev-{n}-{uuid.uuid4().hex[:8]}" for n in range(10_000))
        arms = {Arm.challenger: None, Arm.champion: None}
        for device in devices:
            arms[arm_for(f"client:{device}", share)] = (
                arms[arm_for(f"client:{device}", share)] or device
            )
            if all(arms.values()):
                break
        listing = factory.listing(factory.user("seller"))["id"]
        champion, challenger = version("champion"), version("challenger")
        publish(artifacts, champion, popular=[listing])
        publish(artifacts, challenger, "CHALLENGER", popular=[listing])

        for arm, served_by in ((Arm.challenger, challenger), (Arm.champion, champion)):
            for _ in range(3):
                body = client.get("/recommendations", headers={"X-Client-Id": arms[arm]}).json()
                assert (body["ab_arm"], body["model_version"]) == (arm.value, served_by)


class TestOptOut:
    def test_an_opted_out_shopper_gets_non_personal_lists(
        self, client: TestClient, factory: Factory, artifacts: Path, shopper: Actor, db: Any
    ):
        mine, popular = (factory.listing(factory.user("seller"))["id"] for _ in range(2))
        publish(artifacts, version(), users={str(shopper.id): [mine]}, popular=[popular])

        changed = client.patch(
            "/me",
            json={"personalised_recommendations": False, "consent_source": "settings_page"},
            headers=shopper.headers,
        )
        response = client.get("/recommendations", params={"k": 1}, headers=shopper.headers)

        assert changed.status_code == 200
        assert changed.json()["personalised_recommendations"] is False
        assert changed.json()["ad_personalization_consent"] is False  # a purpose of its own
        assert ids(response) == [popular]
        assert response.json()["personalised"] is False
        history = client.get("/me/consents", headers=shopper.headers).json()
        assert [(e["purpose"], e["granted"], e["source"]) for e in history][-1] == (
            "personalisation", False, "settings_page"
        )  # fmt: skip

        client.patch("/me", json={"personalised_recommendations": True}, headers=shopper.headers)
        back = client.get("/recommendations", params={"k": 1}, headers=shopper.headers)
        assert ids(back) == [mine]


class TestErasure:
    def test_an_erased_account_leaves_every_published_version_and_is_never_served(
        self, client: TestClient, factory: Factory, artifacts: Path, app: FastAPI, shopper: Actor
    ):
        first, second = (factory.listing(factory.user("seller"))["id"] for _ in range(2))
        me, other = str(shopper.id), str(uuid.uuid4())
        old, current = version("old"), version("current")
        write_version(artifacts, old, users={me: [first]})
        publish(artifacts, current, users={other: [second, first], me: [first, second]})
        assert app.state.recommender.refresh().champion.knows_user(me)

        assert client.delete("/me", headers=shopper.headers).status_code == 204

        for name, users in ((old, [None]), (current, [other, None])):
            assert json.loads((artifacts / name / "id_maps.json").read_text())["users"] == users
        served = app.state.recommender.served().champion
        assert served.version == current and not served.knows_user(me)
        assert [c.item_id for c in served.for_user(other)] == [second, first]


def test_lists_switch_to_a_new_version_without_a_failed_request(
    client: TestClient, factory: Factory, artifacts: Path, app: FastAPI, shopper: Actor
):
    app.state.recommender = ModelStore(artifacts, check_seconds=0)  # loads off the request path
    listing = factory.listing(factory.user("seller"))["id"]
    old, new = version("old"), version("new")
    publish(artifacts, old, users={str(shopper.id): [listing]})
    write_version(artifacts, new, users={str(shopper.id): [listing]})
    broken = write_version(artifacts, version("broken"), users={str(shopper.id): [listing]})
    (broken / "recommendations.npz").unlink()

    def swap() -> None:
        time.sleep(0.2)
        write_pointer(artifacts, "LATEST", broken.name)  # refused: the old one keeps serving
        time.sleep(0.2)
        write_pointer(artifacts, "LATEST", new)

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while (not seen or seen[-1] != new or swapper.is_alive()) and time.monotonic() < deadline:
        response = client.get("/recommendations", params={"k": 1}, headers=shopper.headers)
        assert response.status_code == 200, response.text
        seen.append(response.json()["model_version"])
    swapper.join()

    assert seen[-1] == new
    assert broken.name not in seen
    switched = [v for n, v in enumerate(seen) if n == 0 or seen[n - 1] != v]
    assert switched in ([old, new], [FALLBACK_VERSION, old, new])
