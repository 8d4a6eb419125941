"""No overselling under real concurrency: a real server with two worker processes, fifty
buyers checking out the last ten units at the same moment, on SQLite and on PostgreSQL;
and a checkout retried in parallel with one Idempotency-Key places one order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop_api.core.config import Settings
from shop_api.models.orders import Order, OrderItem
from tests.factories import ADDRESS, Actor, Factory
from tests.racing import real_server

pytestmark = pytest.mark.slow

BUYERS = 50
STOCK = 10


@pytest.fixture(scope="module")
def server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A real uvicorn with two worker processes on this backend's test database; yields its
    base URL and log file."""
    home = tmp_path_factory.mktemp("server")
    with real_server(settings, home) as base_url:
        yield base_url, home / "server.log"


def all_at_once(base_url: str, requests: list[tuple[Actor, str]]) -> list[httpx.Response]:
    """POST /checkout for each (buyer, Idempotency-Key), each from its own thread, all
    released together."""
    start = threading.Barrier(len(requests))

    def checkout(request: tuple[Actor, str]) -> httpx.Response:
        buyer, key = request
        with httpx.Client(base_url=base_url, timeout=60.0) as http:
            start.wait()
            return http.post(
                "/checkout",
                json={"shipping_address": ADDRESS},
                headers={**buyer.headers, "Idempotency-Key": key},
            )

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(checkout, requests))


def fill_cart(client: TestClient, buyer: Actor, listing: dict[str, Any]) -> None:
    added = client.post(
        "/cart/items", json={"listing_id": listing["id"], "quantity": 1}, headers=buyer.headers
    )
    assert added.status_code == 201, added.text


def test_fifty_buyers_for_the_last_ten_units(
    server: tuple[str, Path], client: TestClient, factory: Factory, db: Session
) -> None:
    base_url, log = server
    listing = factory.listing(factory.user("seller"), title="Last ten", stock=STOCK)
    buyers = [factory.user("shopper") for _ in range(BUYERS)]
    for buyer in buyers:
        fill_cart(client, buyer, listing)

    responses = all_at_once(base_url, [(buyer, uuid.uuid4().hex) for buyer in buyers])

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * STOCK + [409] * (BUYERS - STOCK), log.read_text()[-4_000:]
    refusals = [r.json()["error"] for r in responses if r.status_code == 409]
    # Refused while units were being taken, or once the listing showed as sold out.
    out_of_stock = ({"listing_id": listing["id"]}, {"unavailable_listings": [listing["id"]]})
    assert all(error["details"] in out_of_stock for error in refusals), refusals
    orders = [r.json() for r in responses if r.status_code == 201]
    assert len({order["buyer_id"] for order in orders}) == STOCK
    assert all(order["items"][0]["quantity"] == 1 for order in orders)
    after = client.get(f"/listings/{listing['id']}").json()
    assert (after["stock"], after["status"]) == (0, "sold_out")
    ordered = db.scalar(
        select(func.sum(OrderItem.quantity)).where(OrderItem.listing_id == uuid.UUID(listing["id"]))
    )
    assert ordered == STOCK


def assert_one_order_placed(
    client: TestClient, db: Session, listing: dict[str, Any], buyer: Actor
) -> None:
    """The buyer has exactly one order, and the listing's stock went down by one unit."""
    assert client.get(f"/listings/{listing['id']}").json()["stock"] == STOCK - 1
    placed = db.scalar(select(func.count()).select_from(Order).where(Order.buyer_id == buyer.id))
    assert placed == 1


def test_a_checkout_retried_in_parallel_places_one_order(
    server: tuple[str, Path], client: TestClient, factory: Factory, db: Session
) -> None:
    base_url, log = server
    listing = factory.listing(factory.user("seller"), title="Retried", stock=STOCK)
    buyer = factory.user("shopper")
    fill_cart(client, buyer, listing)
    key = uuid.uuid4().hex

    responses = all_at_once(base_url, [(buyer, key)] * 8)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 7 + [201], log.read_text()[-4_000:]
    assert len({response.json()["id"] for response in responses}) == 1
    replays = [response for response in responses if response.status_code == 200]
    assert all(response.headers["Idempotent-Replayed"] == "true" for response in replays)
    assert_one_order_placed(client, db, listing, buyer)


def test_one_cart_checked_out_in_parallel_with_different_keys_places_one_order(
    server: tuple[str, Path], client: TestClient, factory: Factory, db: Session
) -> None:
    base_url, log = server
    listing = factory.listing(factory.user("seller"), title="Double click", stock=STOCK)
    buyer = factory.user("shopper")
    fill_cart(client, buyer, listing)

    responses = all_at_once(base_url, [(buyer, uuid.uuid4().hex) for _ in range(8)])

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 7, log.read_text()[-4_000:]
    assert_one_order_placed(client, db, listing, buyer)
    assert client.get("/cart", headers=buyer.headers).json()["items"] == []
