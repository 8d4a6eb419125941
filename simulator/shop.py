"""The two ways the simulator reaches the shop: in-process, or over HTTP.

``InProcessShop`` builds the real app (``create_app``) on a ``FrozenClock`` the simulator
moves, runs it on an event loop in a helper thread and calls it through httpx's ASGI
transport: the same requests, headers and status codes as over the network, without
sockets. Background work (sandbox payments and parcels, webhooks, reservation expiry)
runs only when the simulator says so (``settle``), at simulated time.

``HttpShop`` talks to a running server (``mercado serve``). That server keeps its own
clock and background jobs: server-side facts carry real time while the simulator's
clickstream carries simulated time, and ``settle`` just waits for the server's jobs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from simulator.behaviour import Reply

SIMULATION_SETTINGS: dict[str, Any] = {
    # A simulation: cheap password hashing, and nothing runs behind the simulator's back.
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "background_jobs": False,
    "sandbox_processing_seconds": 0,
    "sandbox_carrier_step_seconds": 10**9,  # parcels move when the simulator's carrier says
    "log_level": "WARNING",
    "access_log": False,
    # The simulator's batches mix thousands of browsers: per-client rate limits do not apply.
    "collect_rate_events_per_second": 1e12,
    "collect_burst_events": 10**9,
}


class Shop(Protocol):
    in_process: bool

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply: ...

    def set_time(self, moment: datetime) -> None: ...

    def settle(self) -> None: ...

    def close(self) -> None: ...


def _reply(response: httpx.Response) -> Reply:
    body: Any = None
    if response.content:
        if response.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(response.content)
        else:
            body = response.text
    return Reply(response.status_code, body, dict(response.headers))


class InProcessShop:
    in_process = True

    def __init__(self, home: Path, start: datetime, database_url: str | None = None) -> None:
        from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
        from shop_api.catalog.service import seed_category_tree
        from shop_api.core.clock import FrozenClock
        from shop_api.core.config import Settings
        from shop_api.core.migrations import upgrade_to_head
        from shop_api.main import create_app

        home.mkdir(parents=True, exist_ok=True)
        overrides = dict(SIMULATION_SETTINGS)
        if database_url:
            overrides["database_url"] = database_url
        self.settings = Settings(home=home, **overrides)
        upgrade_to_head(self.settings.sqlalchemy_url)
        self.clock = FrozenClock(start)
        self.app = create_app(self.settings, clock=self.clock)
        with self.app.state.session_factory() as session:
            seed_category_tree(session, self.clock, DEFAULT_CATEGORY_TREE)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, name="shop-asgi", daemon=True)
        self._thread.start()
        self._ready.wait()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=self.settings.public_url
        )

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        # One long-lived root task, so the thread pool behind sync endpoints is reused
        # rather than made anew for every request; inside the app's lifespan, as a server
        # would run it (it starts the clickstream writer, and flushes it at the end).
        self._stop = asyncio.Event()
        async with self.app.router.lifespan_context(self.app):
            self._ready.set()
            await self._stop.wait()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        call = self._client.request(
            method, path, json=json, data=data, files=files, content=content, headers=headers
        )
        response = asyncio.run_coroutine_threadsafe(call, self._loop).result()
        return _reply(response)

    def set_time(self, moment: datetime) -> None:
        self.clock.set(moment)

    def _post_webhook(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self.request("POST", urlsplit(url).path, content=body, headers=headers).status

    def settle(self) -> None:
        from shop_api.jobs import run_until_quiet

        run_until_quiet(self.app.state, self._post_webhook)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        self._loop.close()
        self.app.state.engine.dispose()


class HttpShop:
    in_process = False

    def __init__(self, base_url: str, settle_seconds: float = 1.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.settle_seconds = settle_seconds
        self._client = httpx.Client(base_url=self.base_url, timeout=60.0)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if path.startswith(self.base_url):
            path = path[len(self.base_url) :]
        response = self._client.request(
            method, path, json=json, data=data, files=files, content=content, headers=headers
        )
        return _reply(response)

    def set_time(self, moment: datetime) -> None:
        """The server keeps its own clock."""

    def settle(self) -> None:
        time.sleep(self.settle_seconds)  # the server's background jobs do the work

    def close(self) -> None:
        self._client.close()
