"""Searching listings: relevance, filters, visibility, sorting, pagination and index sync.

The database is shared by the whole session, so every test searches for made-up words
of its own (``unique_word``) or inside a category subtree it created itself.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Actor, Factory, assert_error, unique_word


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/listings", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


@pytest.fixture
def category(factory: Factory, staff: Actor) -> str:
    """The slug of a fresh, empty root category."""
    return factory.category(staff)["slug"]


class TestRelevance:
    def test_title_match_ranks_above_description_match(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        in_title = factory.listing(seller, title=f"{word} desk lamp", description="Brass.")
        # Newer, so only relevance can put it second.
        in_description = factory.listing(
            seller, title="Desk lamp", description=f"Made by {word} in 1970."
        )

        page = search(client, q=word)

        assert ids(page) == [in_title["id"], in_description["id"]]
        assert page["data"][0]["score"] > page["data"][1]["score"] > 0

    def test_more_matching_ranks_higher(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        # Same length, so only the number of matches differs.
        more = factory.listing(seller, title=f"{word} lamp", description=f"{word} shines bright")
        fewer = factory.listing(seller, title=f"{word} lamp", description="lamp shines bright")

        page = search(client, q=word)

        assert ids(page) == [more["id"], fewer["id"]]
        assert page["data"][0]["score"] > page["data"][1]["score"]

    def test_every_word_must_match(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        first, second = unique_word(), unique_word()
        both = factory.listing(seller, title=f"{first} {second} lamp")
        only_first = factory.listing(seller, title=f"{first} lamp")

        assert ids(search(client, q=f"{first} {second}")) == [both["id"]]
        assert set(ids(search(client, q=first))) == {both["id"], only_first["id"]}
        assert search(client, q=f"{first} {second} {unique_word()}")["count"] == 0

    def test_words_match_in_any_order_and_in_any_field(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        first, second = unique_word(), unique_word()
        listing = factory.listing(seller, title=f"{first} lamp", description=f"By {second}.")
        assert ids(search(client, q=f"{second} {first}")) == [listing["id"]]

    @pytest.mark.parametrize(
        ("title", "query"),
        [
            ("{word} camera", "{word} cameras"),
            ("{word} cameras", "{word} camera"),
            ("{word} running shoes", "{word} run shoe"),
        ],
    )
    def test_stemming(
        self, client: TestClient, factory: Factory, seller: Actor, title: str, query: str
    ) -> None:
        word = unique_word()
        listing = factory.listing(seller, title=title.format(word=word))
        assert ids(search(client, q=query.format(word=word))) == [listing["id"]]

    def test_case_insensitive(self, client: TestClient, factory: Factory, seller: Actor) -> None:
        word = unique_word()
        listing = factory.listing(seller, title=f"{word.upper()} Camera")
        assert ids(search(client, q=f"{word.capitalize()} cAMERA")) == [listing["id"]]

    def test_common_words_are_ignored_on_every_backend(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        # Shoppers type "case for the phone"; "for" and "the" must not have to appear.
        word = unique_word()
        listing = factory.listing(seller, title=f"{word} case", description="Leather.")
        assert ids(search(client, q=f"a case for the {word}")) == [listing["id"]]

    @pytest.mark.parametrize(
        "template",
        [
            '"{word}',
            '"{word}"',
            "{word}*",
            "{word} OR camera",
            "{word} AND camera",
            "{word} NOT camera",
            "NEAR({word} camera)",
            "NEAR({word}",
            "-{word}",
            "{word} -camera",
            "title:{word}",
            "description:{word}",
            "{word}:*",
            "^{word}",
            "{word} & camera | !camera",
            "({word}) <-> camera",
            "{word}'s camera",
            "{word}%_\\",
            "{word};--",
        ],
    )
    def test_operators_in_the_query_are_just_words(
        self, client: TestClient, factory: Factory, seller: Actor, template: str
    ) -> None:
        word = unique_word()
        listing = factory.listing(
            seller, title=f"{word} camera", description="Title and description: near or not."
        )
        page = search(client, q=template.format(word=word))
        assert ids(page) == [listing["id"]]

    @pytest.mark.parametrize(
        "query",
        ['"', '""', "*", "-", ":", "()", "(", "^", "'", "%", "_", "!!! ???", "the", "OR"],
    )
    def test_a_query_without_words_finds_nothing(self, client: TestClient, query: str) -> None:
        page = search(client, q=query)
        assert page["count"] == 0
        assert page["data"] == []

    def test_a_blank_query_is_no_query(
        self, client: TestClient, factory: Factory, seller: Actor, category: str
    ) -> None:
        listing = factory.listing(seller, category=category)
        for blank in ("", "   "):
            assert ids(search(client, q=blank, category=category)) == [listing["id"]]

    def test_query_too_long(self, client: TestClient) -> None:
        assert_error(client.get("/listings", params={"q": "a" * 201}), 422, "validation_error")

    def test_score_only_with_a_query(
        self, client: TestClient, factory: Factory, seller: Actor, category: str
    ) -> None:
        word = unique_word()
        factory.listing(seller, title=f"{word} camera", category=category)
        assert search(client, category=category)["data"][0]["score"] is None
        assert search(client, q=word)["data"][0]["score"] > 0


class TestFilters:
    def test_category_includes_descendants(
        self, client: TestClient, factory: Factory, seller: Actor, staff: Actor
    ) -> None:
        root = factory.category(staff)
        child = factory.category(staff, parent=root["slug"])
        grandchild = factory.category(staff, parent=child["id"])
        sibling = factory.category(staff)
        in_root = factory.listing(seller, category=root["slug"])
        in_child = factory.listing(seller, category=child["slug"])
        in_grandchild = factory.listing(seller, category=grandchild["slug"])
        in_sibling = factory.listing(seller, category=sibling["slug"])

        assert set(ids(search(client, category=root["slug"]))) == {
            in_root["id"],
            in_child["id"],
            in_grandchild["id"],
        }
        assert set(ids(search(client, category=child["id"]))) == {
            in_child["id"],
            in_grandchild["id"],
        }
        assert ids(search(client, category=grandchild["slug"])) == [in_grandchild["id"]]
        assert ids(search(client, category=sibling["slug"])) == [in_sibling["id"]]

    def test_category_prefix_is_not_a_parent(
        self, client: TestClient, factory: Factory, seller: Actor, staff: Actor
    ) -> None:
        root = factory.category(staff)
        look_alike = factory.category(staff, slug=f"{root['slug']}-2")
        factory.listing(seller, category=look_alike["slug"])
        assert search(client, category=root["slug"])["count"] == 0

    def test_category_combines_with_query(
        self, client: TestClient, factory: Factory, seller: Actor, staff: Actor
    ) -> None:
        word = unique_word()
        inside, outside = factory.category(staff), factory.category(staff)
        wanted = factory.listing(seller, title=f"{word} lamp", category=inside["slug"])
        factory.listing(seller, title=f"{word} lamp", category=outside["slug"])
        assert ids(search(client, q=word, category=inside["slug"])) == [wanted["id"]]

    @pytest.mark.parametrize("unknown", ["no-such-category", str(uuid.uuid4())], ids=["slug", "id"])
    def test_unknown_category(self, client: TestClient, unknown: str) -> None:
        error = assert_error(client.get("/listings", params={"category": unknown}), 422)
        assert error["details"][0]["loc"] == ["query", "category"]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"min_price": 2_000}, [2_000, 3_000]),
            ({"max_price": 2_000}, [1_000, 2_000]),
            ({"min_price": 2_000, "max_price": 2_000}, [2_000]),
            ({"min_price": 1_001, "max_price": 2_999}, [2_000]),
            ({"min_price": 0}, [1_000, 2_000, 3_000]),
            ({"min_price": 3_001}, []),
        ],
    )
    def test_price_range_is_inclusive(
        self,
        client: TestClient,
        factory: Factory,
        seller: Actor,
        category: str,
        params: dict[str, int],
        expected: list[int],
    ) -> None:
        for price in (3_000, 1_000, 2_000):
            factory.listing(seller, category=category, price_minor=price)

        page = search(client, category=category, sort="price_asc", **params)

        assert [item["price_minor"] for item in page["data"]] == expected
        assert page["count"] == len(expected)

    @pytest.mark.parametrize(
        "params",
        [
            {"min_price": 2_001, "max_price": 2_000},
            {"min_price": -1},
            {"max_price": -1},
            {"min_price": "cheap"},
            {"condition": "broken"},
            {"seller_id": "not-a-uuid"},
            {"sort": "popularity"},
        ],
    )
    def test_invalid_filters(self, client: TestClient, params: dict[str, Any]) -> None:
        assert_error(client.get("/listings", params=params), 422, "validation_error")

    @pytest.mark.parametrize("condition", ["new", "used", "refurbished"])
    def test_condition(
        self, client: TestClient, factory: Factory, seller: Actor, category: str, condition: str
    ) -> None:
        listings = {
            value: factory.listing(seller, category=category, condition=value)
            for value in ("new", "used", "refurbished")
        }
        page = search(client, category=category, condition=condition)
        assert ids(page) == [listings[condition]["id"]]

    def test_seller(
        self,
        client: TestClient,
        factory: Factory,
        seller: Actor,
        other_seller: Actor,
        category: str,
    ) -> None:
        mine = factory.listing(seller, category=category)
        factory.listing(other_seller, category=category)

        assert ids(search(client, seller_id=str(seller.id))) == [mine["id"]]
        assert ids(search(client, category=category, seller_id=str(seller.id))) == [mine["id"]]
        assert search(client, seller_id=str(uuid.uuid4()))["count"] == 0


class TestVisibility:
    def test_only_active_listings_are_found(
        self, client: TestClient, factory: Factory, seller: Actor, category: str
    ) -> None:
        word = unique_word()
        common = {"title": f"{word} lamp", "category": category}
        active = factory.listing(seller, **common)
        factory.listing(seller, status="draft", **common)
        paused = factory.listing(seller, **common)
        sold_out = factory.listing(seller, stock=1, **common)
        client.patch(f"/listings/{paused['id']}", json={"status": "paused"}, headers=seller.headers)
        client.patch(f"/listings/{sold_out['id']}", json={"stock": 0}, headers=seller.headers)

        assert ids(search(client, q=word)) == [active["id"]]
        assert ids(search(client, category=category)) == [active["id"]]
        # Not even the seller sees unpublished listings in search.
        response = client.get("/listings", params={"q": word}, headers=seller.headers)
        assert ids(response.json()) == [active["id"]]

    def test_reactivated_listings_are_found_again(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        listing = factory.listing(seller, title=f"{word} lamp", stock=1)
        url = f"/listings/{listing['id']}"

        client.patch(url, json={"status": "paused"}, headers=seller.headers)
        assert search(client, q=word)["count"] == 0
        client.patch(url, json={"status": "active"}, headers=seller.headers)
        assert ids(search(client, q=word)) == [listing["id"]]
        client.patch(url, json={"stock": 0}, headers=seller.headers)
        assert search(client, q=word)["count"] == 0
        client.patch(url, json={"stock": 1}, headers=seller.headers)
        assert ids(search(client, q=word)) == [listing["id"]]

    def test_published_drafts_are_found(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        listing = factory.listing(seller, title=f"{word} lamp", status="draft")
        assert search(client, q=word)["count"] == 0
        client.patch(
            f"/listings/{listing['id']}", json={"status": "active"}, headers=seller.headers
        )
        assert ids(search(client, q=word)) == [listing["id"]]


class TestIndexSync:
    def test_title_edit_is_searchable_at_once(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        old, new = unique_word(), unique_word()
        listing = factory.listing(seller, title=f"{old} lamp")

        response = client.patch(
            f"/listings/{listing['id']}", json={"title": f"{new} lamp"}, headers=seller.headers
        )

        assert response.status_code == 200, response.text
        assert search(client, q=old)["count"] == 0
        page = search(client, q=new)
        assert ids(page) == [listing["id"]]
        assert page["data"][0]["title"] == f"{new} lamp"

    def test_description_edit_is_searchable_at_once(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        old, new = unique_word(), unique_word()
        listing = factory.listing(seller, description=f"Made by {old}.")

        client.patch(
            f"/listings/{listing['id']}",
            json={"description": f"Made by {new}."},
            headers=seller.headers,
        )

        assert search(client, q=old)["count"] == 0
        assert ids(search(client, q=new)) == [listing["id"]]

    def test_other_edits_keep_the_listing_findable(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        listing = factory.listing(seller, title=f"{word} lamp")
        client.patch(
            f"/listings/{listing['id']}",
            json={"price_minor": 1, "attributes": {"colour": "red"}},
            headers=seller.headers,
        )
        page = search(client, q=word)
        assert ids(page) == [listing["id"]]
        assert page["data"][0]["price_minor"] == 1

    def test_filters_follow_edits_of_price_condition_and_category(
        self, client: TestClient, factory: Factory, seller: Actor, staff: Actor
    ) -> None:
        word = unique_word()
        moved_to = factory.category(staff)["slug"]
        listing = factory.listing(seller, title=f"{word} lamp", price_minor=5_000)

        client.patch(
            f"/listings/{listing['id']}",
            json={"price_minor": 900, "condition": "new", "category": moved_to},
            headers=seller.headers,
        )

        assert ids(search(client, q=word, max_price=1_000)) == [listing["id"]]
        assert search(client, q=word, min_price=1_000)["count"] == 0
        assert ids(search(client, q=word, condition="new")) == [listing["id"]]
        assert search(client, q=word, condition="used")["count"] == 0
        assert ids(search(client, q=word, category=moved_to)) == [listing["id"]]
        assert search(client, q=word, category="cameras")["count"] == 0

    def test_a_listing_sold_out_by_stock_edit_leaves_search(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        listing = factory.listing(seller, title=f"{word} lamp", stock=1)

        response = client.patch(
            f"/listings/{listing['id']}", json={"stock": 0}, headers=seller.headers
        )

        assert response.json()["status"] == "sold_out"
        assert search(client, q=word)["count"] == 0


class TestSorting:
    @pytest.fixture
    def listings(self, factory: Factory, seller: Actor, category: str) -> list[dict[str, Any]]:
        """Created oldest first; two share a price so the tie-break shows."""
        return [
            factory.listing(seller, category=category, price_minor=price)
            for price in (2_000, 1_000, 3_000, 2_000)
        ]

    def test_price_ascending(self, client: TestClient, category: str, listings: list) -> None:
        page = search(client, category=category, sort="price_asc")
        assert ids(page) == [listings[i]["id"] for i in (1, 3, 0, 2)]

    def test_price_descending(self, client: TestClient, category: str, listings: list) -> None:
        page = search(client, category=category, sort="price_desc")
        assert ids(page) == [listings[i]["id"] for i in (2, 3, 0, 1)]

    def test_newest(self, client: TestClient, category: str, listings: list) -> None:
        page = search(client, category=category, sort="newest")
        assert ids(page) == [listing["id"] for listing in reversed(listings)]

    def test_relevance_without_query_is_newest(
        self, client: TestClient, category: str, listings: list
    ) -> None:
        assert ids(search(client, category=category)) == ids(
            search(client, category=category, sort="newest")
        )
        assert ids(search(client, category=category, sort="relevance")) == [
            listing["id"] for listing in reversed(listings)
        ]

    def test_sort_applies_to_query_results(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        cheap = factory.listing(seller, title=f"{word} {word} lamp", price_minor=100)
        dear = factory.listing(seller, title=f"{word} lamp", price_minor=900)
        assert ids(search(client, q=word, sort="price_desc")) == [dear["id"], cheap["id"]]
        assert ids(search(client, q=word, sort="price_asc")) == [cheap["id"], dear["id"]]


class TestPagination:
    @pytest.fixture
    def listings(self, factory: Factory, seller: Actor, category: str) -> list[str]:
        return [factory.listing(seller, category=category)["id"] for _ in range(5)]

    def test_pages_cover_everything_once(
        self, client: TestClient, category: str, listings: list[str]
    ) -> None:
        pages = [search(client, category=category, page=n, page_size=2) for n in (1, 2, 3)]

        assert [page["count"] for page in pages] == [5, 5, 5]
        assert [len(page["data"]) for page in pages] == [2, 2, 1]
        assert [(page["page"], page["page_size"]) for page in pages] == [(1, 2), (2, 2), (3, 2)]
        seen = [listing_id for page in pages for listing_id in ids(page)]
        assert seen == listings[::-1]

    def test_page_beyond_the_end(
        self, client: TestClient, category: str, listings: list[str]
    ) -> None:
        page = search(client, category=category, page=4, page_size=2)
        assert page["data"] == []
        assert page["count"] == 5

    def test_pages_of_query_results(
        self, client: TestClient, factory: Factory, seller: Actor
    ) -> None:
        word = unique_word()
        created = [factory.listing(seller, title=f"{word} lamp")["id"] for _ in range(3)]
        pages = [search(client, q=word, page=n, page_size=2) for n in (1, 2, 3)]
        assert [page["count"] for page in pages] == [3, 3, 3]
        seen = [listing_id for page in pages for listing_id in ids(page)]
        assert sorted(seen) == sorted(created)
        assert pages[2]["data"] == []

    def test_defaults(self, client: TestClient, category: str, listings: list[str]) -> None:
        page = search(client, category=category)
        assert (page["page"], page["page_size"]) == (1, 20)

    def test_largest_page(self, client: TestClient, category: str, listings: list[str]) -> None:
        assert len(search(client, category=category, page_size=100)["data"]) == 5

    @pytest.mark.parametrize(
        "params",
        [
            {"page": 0},
            {"page": -1},
            {"page": "first"},
            {"page": 10_001},
            {"page_size": 0},
            {"page_size": 101},
        ],
    )
    def test_validation(self, client: TestClient, params: dict[str, Any]) -> None:
        error = assert_error(client.get("/listings", params=params), 422, "validation_error")
        assert error["details"][0]["loc"] == ["query", next(iter(params))]
