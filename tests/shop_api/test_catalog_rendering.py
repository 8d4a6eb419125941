"""The search and listing pages are written straight from rows (shop_api.listings.rendering):
their JSON must be exactly what the documented response models serialise."""

from __future__ import annotations

import uuid

from asyncpg.pgproto.pgproto import UUID as AsyncpgUUID
from fastapi.testclient import TestClient
from pydantic_core import to_json

from shop_api.listings.rendering import uuid_json
from shop_api.listings.schemas import ListingPage, ListingPublic
from tests.factories import Actor, Factory, unique_word


def test_search_page_is_the_model_serialised(
    client: TestClient, factory: Factory, seller: Actor
) -> None:
    word = unique_word()
    pictured = factory.listing(seller, title=f"{word} lamp", attributes={"watts": 40})
    factory.image(seller, pictured["id"])
    factory.listing(seller, title=f"{word} {word} shade", description="Linen.")

    for params in ({"q": word}, {"q": word, "sort": "price_desc"}):
        response = client.get("/listings", params=params)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        page = ListingPage.model_validate_json(response.content)
        assert response.content == page.model_dump_json().encode()
        assert page.count == 2
        covers = [summary.cover_image_url for summary in page.data]
        assert sum(cover is not None for cover in covers) == 1


def test_listing_page_is_the_model_serialised(
    client: TestClient, factory: Factory, seller: Actor
) -> None:
    listing = factory.listing(
        seller, title="Rendered lamp", attributes={"watts": 40, "dimmable": True, "ratio": 0.5}
    )
    for _ in range(2):
        factory.image(seller, listing["id"])

    response = client.get(f"/listings/{listing['id']}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    page = ListingPublic.model_validate_json(response.content)
    assert response.content == page.model_dump_json().encode()
    assert [image.position for image in page.images] == [0, 1]
    assert page.attributes == {"watts": 40, "dimmable": True, "ratio": 0.5}


def test_uuids_from_any_driver_serialise_alike() -> None:
    """asyncpg (the hot reads on PostgreSQL) returns its own ``uuid.UUID`` subclass."""
    value = uuid.uuid4()
    from_asyncpg = AsyncpgUUID(value.bytes)
    assert isinstance(from_asyncpg, uuid.UUID) and type(from_asyncpg) is not uuid.UUID

    assert to_json([uuid_json(from_asyncpg)]) == to_json([uuid_json(value)]) == to_json([value])
    assert to_json([uuid_json(value)]) == f'["{value}"]'.encode()
