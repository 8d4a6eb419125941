"""Login and password-reset throttling, and bounded password hashing.

* Failed logins are counted per account and per client address in one place that every
  worker shares (the database, or Redis when ``MERCADO_REDIS_URL`` is set): over a limit,
  ``POST /auth/token`` answers 429 with ``Retry-After`` and ``RateLimit-*`` headers, even
  for the right password, until the window has passed. A successful login clears its
  account's count.
* Password-reset requests are counted the same way, in budgets of their own, every request
  (known address or not): over a limit, ``POST /auth/password-reset`` answers 429 with the
  same headers, identically whether or not the account exists.
* Argon2 runs at most ``max_concurrent_hashes`` at a time per process, and never while
  the login holds the SQLite write gate or a database transaction.

Each test runs its own app (a frozen clock; the proxy at 127.0.0.1 trusted, so a test
names its client's address with ``X-Forwarded-For``) over the session's database, with
accounts and addresses no other test uses.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, text

from shop_api.auth.throttle import Budget, charge_in_database, prune_in_database
from shop_api.core.clock import FrozenClock
from shop_api.core.config import Settings
from shop_api.main import create_app
from shop_api.models import LoginThrottleCounter, PasswordResetToken
from tests.factories import Actor, Factory, assert_error

PROXY = ("127.0.0.1", 40000)
WRONG = "not the password"
REDIS_URL = os.environ.get("MERCADO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SAFETY_SECONDS = 60  # only ever reached when the behaviour under test is broken


def redis_unavailable_reason() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


def unique_address() -> str:
    """An address in a /64 of its own (IPv6 clients are counted per /64)."""
    network = (0x2001_0DB8 << 96) | (uuid.uuid4().int & 0xFFFF_FFFF) << 64
    return str(ipaddress.IPv6Address(network | 0x1))


def eventually(predicate: Callable[[], bool]) -> bool:
    """Wait for a state the code under test reaches on its own; False only if it never
    does (a broken build), so nothing here depends on how fast the machine is."""
    deadline = time.monotonic() + SAFETY_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.005)
    return True


@dataclass
class Shop:
    app: FastAPI
    client: TestClient
    clock: FrozenClock

    def user(self) -> Actor:
        return Factory(self.app, self.client).user()

    def login(
        self, email: str, password: str, address: str, headers: dict[str, str] | None = None
    ) -> Any:
        return self.client.post(
            "/auth/token",
            data={"username": email, "password": password},
            headers={"X-Forwarded-For": address, **(headers or {})},
        )

    def ask_reset(self, email: str, address: str) -> Any:
        return self.client.post(
            "/auth/password-reset", json={"email": email}, headers={"X-Forwarded-For": address}
        )


OpenShop = Callable[..., Shop]


@pytest.fixture(params=["database", pytest.param("redis", id="redis")])
def counters(request: pytest.FixtureRequest) -> str | None:
    """Where failures are counted: the shop's database, or Redis."""
    if request.param == "database":
        return None
    reason = redis_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def open_shop(
    app: FastAPI, settings: Settings, tmp_path: Path, counters: str | None
) -> Iterator[OpenShop]:
    """Starts apps on the session's database (each one like a worker of its own; the
    session's app has seeded the categories)."""
    with ExitStack() as stack:

        def open_one(clock: FrozenClock | None = None, **overrides: Any) -> Shop:
            clock = clock or FrozenClock(datetime.now(UTC).replace(microsecond=0))
            values = settings.model_dump() | {
                "home": tmp_path / uuid.uuid4().hex[:8],
                "trusted_proxies": "127.0.0.1",
                "redis_url": counters,
                **overrides,
            }
            app = create_app(Settings(**values), clock=clock)
            client = stack.enter_context(TestClient(app, client=PROXY))
            return Shop(app, client, clock)

        yield open_one


def statuses(responses: list[Any]) -> list[int]:
    return [response.status_code for response in responses]


class TestAccountLimit:
    def test_sixty_wrong_passwords_then_the_right_one_is_refused(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        address = unique_address()

        wrong = [shop.login(user.email, WRONG, address) for _ in range(60)]
        right = shop.login(user.email, user.password, address)

        assert statuses(wrong) == [401] * 10 + [429] * 50
        assert_error(right, 429, "rate_limited")
        assert right.headers["Retry-After"] == "900"
        assert right.headers["RateLimit-Limit"] == "10"
        assert right.headers["RateLimit-Remaining"] == "0"
        assert right.headers["RateLimit-Reset"] == "900"

    def test_the_account_opens_again_when_the_window_has_passed(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        address = unique_address()
        for _ in range(10):
            shop.login(user.email, WRONG, address)

        shop.clock.advance(timedelta(seconds=899))
        still_locked = shop.login(user.email, user.password, address)
        shop.clock.advance(timedelta(seconds=1))
        opened = shop.login(user.email, user.password, address)

        assert_error(still_locked, 429, "rate_limited")
        assert still_locked.headers["Retry-After"] == "1"
        assert opened.status_code == 200, opened.text

    def test_failures_count_down_in_the_rate_limit_headers(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        address = unique_address()

        first = shop.login(user.email, WRONG, address)
        shop.clock.advance(timedelta(seconds=100))
        second = shop.login(user.email, WRONG, address)

        assert_error(first, 401, "unauthorized")
        assert first.headers["WWW-Authenticate"] == "Bearer"
        assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == (
            "10",
            "9",
        )
        assert first.headers["RateLimit-Reset"] == "900"
        assert second.headers["RateLimit-Remaining"] == "8"
        assert second.headers["RateLimit-Reset"] == "800"

    def test_a_successful_login_clears_the_accounts_failures(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        address = unique_address()

        before = [shop.login(user.email, WRONG, address) for _ in range(9)]
        success = shop.login(user.email, user.password, address)
        after = [shop.login(user.email, WRONG, address) for _ in range(11)]

        assert statuses(before) == [401] * 9
        assert success.status_code == 200, success.text
        assert statuses(after) == [401] * 10 + [429]

    def test_each_account_has_its_own_count(self, open_shop: OpenShop):
        shop = open_shop()
        locked, other = shop.user(), shop.user()
        address = unique_address()
        for _ in range(10):
            shop.login(locked.email, WRONG, address)

        response = shop.login(other.email, other.password, address)

        assert response.status_code == 200, response.text

    def test_unknown_accounts_are_counted_like_real_ones(self, open_shop: OpenShop):
        shop = open_shop()
        address = unique_address()
        email = f"nobody-{uuid.uuid4().hex[:12]}@example.com"

        answers = [shop.login(email, WRONG, address) for _ in range(11)]

        assert statuses(answers) == [401] * 10 + [429]

    def test_the_account_is_counted_by_its_normalised_email(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        address = unique_address()
        for index in range(10):
            shop.login(user.email.upper() if index % 2 else f"  {user.email}", WRONG, address)

        assert_error(shop.login(user.email, user.password, address), 429, "rate_limited")

    def test_a_refused_attempt_computes_no_hash(self, open_shop: OpenShop, probe: ArgonProbe):
        shop = open_shop()
        user = shop.user()
        address = unique_address()
        for _ in range(10):
            shop.login(user.email, WRONG, address)
        computed = probe.calls

        refused = [shop.login(user.email, WRONG, address) for _ in range(20)]

        assert statuses(refused) == [429] * 20
        assert probe.calls == computed


class TestAddressLimit:
    def test_failures_from_one_address_across_accounts_are_limited(self, open_shop: OpenShop):
        shop = open_shop(login_max_failures_per_address=20)
        address = unique_address()
        victims = [f"victim-{uuid.uuid4().hex[:12]}@example.com" for _ in range(20)]
        user = shop.user()

        guesses = [shop.login(email, WRONG, address) for email in victims]
        from_there = shop.login(user.email, user.password, address)
        from_elsewhere = shop.login(user.email, user.password, unique_address())

        assert statuses(guesses) == [401] * 20
        assert_error(from_there, 429, "rate_limited")
        assert from_there.headers["RateLimit-Limit"] == "20"
        assert from_elsewhere.status_code == 200, from_elsewhere.text

    def test_successful_logins_are_not_counted(self, open_shop: OpenShop):
        shop = open_shop(login_max_failures_per_address=3)
        address = unique_address()
        user = shop.user()

        answers = [shop.login(user.email, WRONG, address) for _ in range(2)]
        answers += [shop.login(user.email, user.password, address) for _ in range(5)]
        answers += [shop.login(user.email, WRONG, address) for _ in range(2)]

        assert statuses(answers) == [401, 401] + [200] * 5 + [401, 429]

    def test_without_trusted_proxies_the_forwarded_header_is_ignored(self, open_shop: OpenShop):
        shop = open_shop(login_max_failures_per_address=3, trusted_proxies="")
        user = shop.user()
        for _ in range(3):
            shop.login(f"x-{uuid.uuid4().hex}@example.com", WRONG, unique_address())

        response = shop.login(user.email, user.password, unique_address())

        assert_error(response, 429, "rate_limited")  # all of them came from 127.0.0.1


class TestSharedCounters:
    def test_two_app_instances_share_one_count(self, open_shop: OpenShop):
        clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        first, second = open_shop(clock), open_shop(clock)
        user = first.user()
        address = unique_address()

        on_first = [first.login(user.email, WRONG, address) for _ in range(5)]
        on_second = [second.login(user.email, WRONG, address) for _ in range(5)]
        right = first.login(user.email, user.password, address)

        assert statuses(on_first + on_second) == [401] * 10
        assert_error(right, 429, "rate_limited")

    def test_concurrent_attempts_admit_exactly_the_limit(self, open_shop: OpenShop):
        clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        shops = [open_shop(clock), open_shop(clock)]
        user = shops[0].user()
        address = unique_address()
        start = threading.Barrier(16)

        def attempt(index: int) -> int:
            start.wait()
            return shops[index % 2].login(user.email, WRONG, address).status_code

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(attempt, range(16)))

        assert sorted(answers) == [401] * 10 + [429] * 6


class TestPasswordResetLimit:
    def test_requests_for_one_account_are_limited_from_any_address(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()

        asked = [shop.ask_reset(user.email, unique_address()) for _ in range(6)]

        assert statuses(asked) == [202] * 5 + [429]
        assert_error(asked[-1], 429, "rate_limited")
        assert asked[-1].headers["Retry-After"] == "3600"
        assert asked[-1].headers["RateLimit-Limit"] == "5"
        assert asked[-1].headers["RateLimit-Remaining"] == "0"
        assert asked[-1].headers["RateLimit-Reset"] == "3600"
        assert (asked[0].headers["RateLimit-Limit"], asked[0].headers["RateLimit-Remaining"]) == (
            "5",
            "4",
        )
        with shop.app.state.database.sessions() as session:
            tokens = session.scalars(
                select(PasswordResetToken.id).where(PasswordResetToken.user_id == user.id)
            ).all()
        assert len(tokens) == 5  # the refused request sent nothing

    def test_requests_from_one_address_across_accounts_are_limited(self, open_shop: OpenShop):
        shop = open_shop(password_reset_max_per_address=3)
        address = unique_address()
        emails = [f"reset-{uuid.uuid4().hex[:12]}@example.com" for _ in range(4)]

        from_there = [shop.ask_reset(email, address) for email in emails]
        from_elsewhere = shop.ask_reset(emails[-1], unique_address())

        assert statuses(from_there) == [202] * 3 + [429]
        assert from_there[-1].headers["RateLimit-Limit"] == "3"
        assert from_elsewhere.status_code == 202, from_elsewhere.text

    def test_an_unknown_address_is_answered_like_a_real_account(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        unknown = f"nobody-{uuid.uuid4().hex[:12]}@example.com"

        def answers(email: str) -> list[tuple[int, dict[str, str]]]:
            limited = ("retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
            return [
                (response.status_code, {h: response.headers.get(h, "") for h in limited})
                for response in (shop.ask_reset(email, unique_address()) for _ in range(6))
            ]

        assert answers(user.email) == answers(unknown)

    def test_the_account_opens_again_when_the_window_has_passed(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        for _ in range(5):
            shop.ask_reset(user.email, unique_address())

        shop.clock.advance(timedelta(seconds=3599))
        still_limited = shop.ask_reset(user.email, unique_address())
        shop.clock.advance(timedelta(seconds=1))
        opened = shop.ask_reset(user.email, unique_address())

        assert_error(still_limited, 429, "rate_limited")
        assert still_limited.headers["Retry-After"] == "1"
        assert opened.status_code == 202, opened.text

    def test_reset_requests_and_failed_logins_have_separate_budgets(self, open_shop: OpenShop):
        shop = open_shop()
        user = shop.user()
        address = unique_address()
        for _ in range(5):
            shop.ask_reset(user.email, address)

        login = shop.login(user.email, WRONG, address)

        assert login.status_code == 401
        assert login.headers["RateLimit-Remaining"] == "9"


def test_password_reset_documents_429(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "429" in paths["/auth/password-reset"]["post"]["responses"]


class ArgonProbe:
    """Counts Argon2 computations in progress. pwdlib's hasher is instrumented in place:
    the real computation still runs; ``on_enter`` runs first, in the hashing thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0
        self.most = 0
        self.calls = 0
        self.on_enter: Callable[[], None] = lambda: None

    @contextmanager
    def computing(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.calls += 1
            self.most = max(self.most, self.active)
        try:
            self.on_enter()
            yield
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> ArgonProbe:
    probe = ArgonProbe()
    verify, hash_ = Argon2Hasher.verify, Argon2Hasher.hash

    def counted_verify(self: Argon2Hasher, password: Any, hash: Any) -> bool:
        with probe.computing():
            return verify(self, password, hash)

    def counted_hash(self: Argon2Hasher, password: Any, **kwargs: Any) -> str:
        with probe.computing():
            return hash_(self, password, **kwargs)

    monkeypatch.setattr(Argon2Hasher, "verify", counted_verify)
    monkeypatch.setattr(Argon2Hasher, "hash", counted_hash)
    return probe


def nothing_written_is_held(app: FastAPI) -> bool:
    """No write gate is taken and another connection could write right now."""
    if any(gate.locked() for gate in app.state.database.write_gates()):
        return False
    engine = app.state.database.engine
    if engine.dialect.name == "sqlite":
        connection = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # database is locked
            return False
        finally:
            connection.close()
    with engine.connect() as connection:
        held = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
        connection.rollback()
    return held == 0


class TestHashing:
    def test_at_most_max_concurrent_hashes_run_at_once(
        self, open_shop: OpenShop, probe: ArgonProbe
    ):
        shop = open_shop(max_concurrent_hashes=2)
        users = [shop.user() for _ in range(8)]
        hasher = shop.app.state.password_hasher
        release = threading.Event()
        probe.on_enter = lambda: release.wait(SAFETY_SECONDS)

        with ThreadPoolExecutor(len(users)) as pool:
            logins = [
                pool.submit(shop.login, user.email, user.password, unique_address())
                for user in users
            ]
            # Every login is either hashing or queued for a slot (or the bound is broken).
            arrived = eventually(
                lambda: probe.active + hasher.waiting == len(users) or probe.active > 2
            )
            release.set()
            answers = [login.result() for login in logins]

        assert arrived
        assert statuses(answers) == [200] * len(users)
        assert probe.most == 2

    def test_no_write_gate_or_transaction_is_held_while_hashing(
        self, open_shop: OpenShop, probe: ArgonProbe
    ):
        shop = open_shop()
        user = shop.user()
        observed: list[bool] = []
        probe.on_enter = lambda: observed.append(nothing_written_is_held(shop.app))

        wrong = shop.login(user.email, WRONG, unique_address())
        right = shop.login(user.email, user.password, unique_address())

        assert (wrong.status_code, right.status_code) == (401, 200)
        assert observed == [True, True]

    def test_a_password_change_holds_nothing_while_hashing(
        self, open_shop: OpenShop, probe: ArgonProbe
    ):
        shop = open_shop()
        user = shop.user()
        observed: list[bool] = []
        probe.on_enter = lambda: observed.append(nothing_written_is_held(shop.app))
        new_password = f"Quiet harbour {uuid.uuid4().hex[:6]} lanterns"

        changed = shop.client.patch(
            "/me",
            json={"current_password": user.password, "new_password": new_password},
            headers=user.headers,
        )

        assert changed.status_code == 200, changed.text
        assert observed == [True, True]  # the current password's check, the new one's hash
        assert shop.login(user.email, new_password, unique_address()).status_code == 200

    def test_a_cart_add_proceeds_while_a_password_is_hashed(
        self, open_shop: OpenShop, probe: ArgonProbe
    ):
        shop = open_shop()
        factory = Factory(shop.app, shop.client)
        listing = factory.listing(factory.user("seller"))
        user = shop.user()
        hashing, cart_added = threading.Event(), threading.Event()
        proceeded: list[bool] = []

        def hold() -> None:
            hashing.set()
            proceeded.append(cart_added.wait(SAFETY_SECONDS))

        probe.on_enter = hold
        with ThreadPoolExecutor(1) as pool:
            login = pool.submit(shop.login, user.email, user.password, unique_address())
            assert hashing.wait(SAFETY_SECONDS)
            added = shop.client.post(
                "/cart/items",
                json={"listing_id": listing["id"], "quantity": 1},
                headers={"X-Client-Id": f"device-{uuid.uuid4().hex}"},
            )
            cart_added.set()
            signed_in = login.result()

        assert added.status_code == 201, added.text
        assert signed_in.status_code == 200, signed_in.text
        assert proceeded == [True], "the cart add waited for the password hash"


def test_ended_windows_are_pruned(app: FastAPI) -> None:
    now, window = datetime.now(UTC), timedelta(minutes=15)
    ended, current = f"account:ended-{uuid.uuid4().hex}", f"account:open-{uuid.uuid4().hex}"
    with app.state.database.sessions() as session:
        charge_in_database(session, [Budget(ended, 10)], now - timedelta(days=1), window)
        charge_in_database(session, [Budget(current, 10)], now, window)

        prune_in_database(session, now)

        kept = session.scalars(
            select(LoginThrottleCounter.key).where(LoginThrottleCounter.key.in_([ended, current]))
        ).all()
    assert kept == [current]


def test_an_unreachable_redis_answers_503(settings: Settings, tmp_path: Path) -> None:
    values = settings.model_dump() | {"home": tmp_path, "redis_url": "redis://127.0.0.1:1/0"}
    with TestClient(create_app(Settings(**values))) as client:
        response = client.post("/auth/token", data={"username": "a@example.com", "password": "x"})

    assert_error(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "5"


def test_login_documents_429(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/auth/token"]["post"]["responses"]
    assert "429" in responses
