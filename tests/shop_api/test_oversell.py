"""No overselling under real concurrency: a real server with two worker processes, fifty
buyers checking out the last ten units at the same moment, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercado_cli.server import running_api
from shop_api.core.config import Settings
from shop_api.models.orders import OrderItem
from tests.factories import ADDRESS, Actor, Factory

BUYERS = 50
STOCK = 10


def checkout_all_at_once(base_url: str, buyers: list[Actor]) -> list[httpx.Response]:
    """Every buyer posts /checkout from their own thread, released together."""
    start = threading.Barrier(len(buyers))

    def checkout(buyer: Actor) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=60.0) as http:
            start.wait()
            return http.post(
                "/checkout",
                json={"shipping_address": ADDRESS},
                headers={**buyer.headers, "Idempotency-Key": uuid.uuid4().hex},
            )

    with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
        return list(pool.map(checkout, buyers))


@pytest.mark.slow
def test_fifty_buyers_for_the_last_ten_units(
    client: TestClient, factory: Factory, settings: Settings, database_url: str,
    db: Session, tmp_path: Path,
) -> None:  # fmt: skip
    seller = factory.user("seller")
    listing = factory.listing(seller, title="Last ten", price_minor=2_000, stock=STOCK)
    buyers = [factory.user("shopper") for _ in range(BUYERS)]
    for buyer in buyers:
        added = client.post(
            "/cart/items", json={"listing_id": listing["id"], "quantity": 1}, headers=buyer.headers
        )
        assert added.status_code == 201, added.text
    env = {
        "MERCADO_DATABASE_URL": database_url,
        "MERCADO_HOME": str(tmp_path / "home"),
        "MERCADO_SECRET_KEY": settings.secret_key.get_secret_value(),
        "MERCADO_BACKGROUND_JOBS": "false",
        "MERCADO_ARGON2_MEMORY_KIB": "1024",
        "MERCADO_ARGON2_TIME_COST": "1",
        "MERCADO_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"

    with running_api(env=env, workers=2, log_path=log, timeout=120) as base_url:
        responses = checkout_all_at_once(base_url, buyers)

    statuses = sorted(response.status_code for response in responses)
    server_log = log.read_text(errors="replace")[-4_000:]
    assert statuses == [201] * STOCK + [409] * (BUYERS - STOCK), server_log
    refusals: list[dict[str, Any]] = [r.json()["error"] for r in responses if r.status_code == 409]
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
