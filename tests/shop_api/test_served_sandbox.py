"""``mercado serve`` on a port other than the public URL's: the sandbox gateway's webhooks
still reach the server, so a sandbox payment completes. They used to go to
``MERCADO_PUBLIC_URL`` (port 8000 by default) and the payment never completed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mercado_cli.server import free_port, stop_process, wait_until_serving
from shop_api.auth.service import create_user
from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings, normalise_database_url
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.security import PasswordHasher, create_access_token
from shop_api.models import UserRole
from shop_api.providers.sandbox.models import SandboxWebhookDelivery
from tests.conftest import create_postgres_database, postgres_unavailable_reason
from tests.factories import ADDRESS, SUCCESS_CARD

pytestmark = pytest.mark.slow

# Where nothing listens: the public address as the server itself cannot reach it.
UNREACHABLE_PUBLIC_URL = "http://127.0.0.1:9"
PAYMENT_DEADLINE_SECONDS = 60


@pytest.fixture
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A home and an empty database of its own (the server's jobs must not meet other
    tests' webhooks), on the backend the test names."""
    if request.param == "sqlite":
        yield tmp_path, f"sqlite:///{tmp_path / 'shop.db'}"
        return
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    url, drop = create_postgres_database()
    try:
        yield tmp_path, normalise_database_url(url)
    finally:
        drop()  # type: ignore[operator]


def headers_of(settings: Settings, role: UserRole) -> dict[str, str]:
    engine = create_db_engine(settings.sqlalchemy_url, pool_size=1)
    with create_session_factory(engine)() as session:
        user = create_user(
            session, PasswordHasher(settings), SystemClock(),
            email=f"{role.value}-{uuid.uuid4().hex[:8]}@example.com",
            password="correct horse battery", display_name=role.value, role=role,
        )  # fmt: skip
        token = create_access_token(settings, user.id, user.token_version, SystemClock().now())
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("home", "workers"),
    [("sqlite", 1), pytest.param("postgresql", 2, marks=pytest.mark.postgres)],
    indirect=["home"],
    ids=["sqlite-one_process", "postgresql-two_workers_and_jobs"],
)
def test_a_sandbox_payment_completes_on_a_port_of_its_own(
    home: tuple[Path, str], workers: int
) -> None:
    directory, database_url = home
    settings = Settings(
        home=directory, database_url=database_url, argon2_time_cost=1, argon2_memory_kib=1024
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MERCADO_")},
        "MERCADO_HOME": str(directory), "MERCADO_DATABASE_URL": database_url,
        "MERCADO_PUBLIC_URL": UNREACHABLE_PUBLIC_URL, "MERCADO_LOG_LEVEL": "WARNING",
        "MERCADO_ARGON2_TIME_COST": "1", "MERCADO_ARGON2_MEMORY_KIB": "1024",
        "MERCADO_SANDBOX_PROCESSING_SECONDS": "0", "MERCADO_BACKGROUND_INTERVAL_SECONDS": "0.1",
        "MERCADO_SECRET_KEY": settings.secret_key.get_secret_value(),
    }  # fmt: skip
    log_path = directory / "server.log"
    command = [
        sys.executable, "-m", "mercado_cli.main", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(base_url, workers=workers, timeout=120, process=server)
        seller, buyer = (
            headers_of(settings, UserRole.seller),
            headers_of(settings, UserRole.shopper),
        )
        with httpx.Client(base_url=base_url, timeout=30.0) as http:
            listing = http.post(
                "/listings",
                json={"title": "Film camera", "description": "Works.", "category": "cameras",
                      "price_minor": 9_900, "currency": "USD", "stock": 2, "condition": "used",
                      "status": "active"},
                headers=seller,
            )  # fmt: skip
            assert listing.status_code == 201, listing.text
            added = http.post(
                "/cart/items", json={"listing_id": listing.json()["id"], "quantity": 1},
                headers=buyer,
            )  # fmt: skip
            assert added.status_code == 201, added.text
            order = http.post(
                "/checkout", json={"shipping_address": ADDRESS},
                headers={**buyer, "Idempotency-Key": uuid.uuid4().hex},
            ).json()  # fmt: skip
            started = http.post(f"/orders/{order['id']}/payments", headers=buyer).json()
            confirmed = http.post(
                started["confirm_url"],
                json={"client_secret": started["client_secret"], "card": SUCCESS_CARD},
            )
            assert confirmed.status_code == 200, confirmed.text

            status = wait_for_payment(http, buyer, order["id"])
    finally:
        stop_process(server, timeout=10)

    assert status == "paid", log_path.read_text()[-4_000:]
    engine = create_db_engine(settings.sqlalchemy_url, pool_size=1)
    with create_session_factory(engine)() as session:
        targets = set(session.scalars(select(SandboxWebhookDelivery.url)))
    engine.dispose()
    assert targets == {f"{base_url}/webhooks/payments"}


def wait_for_payment(http: httpx.Client, buyer: dict[str, str], order_id: str) -> str:
    """The order's status once it is no longer waiting for payment (the server's own jobs
    settle the payment and deliver the webhooks), or still waiting after the deadline."""
    deadline = time.monotonic() + PAYMENT_DEADLINE_SECONDS
    while True:
        status = http.get(f"/orders/{order_id}", headers=buyer).json()["status"]
        if status != "pending_payment" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)
