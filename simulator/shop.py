"""The two ways the simulator reaches the shop: in-process, or over HTTP.

``InProcessShop`` builds the real app (``create_app``) on a ``FrozenClock`` the simulator
moves, and calls it through httpx's ASGI transport on an event loop of its own: the same
requests, headers and status codes as over the network, without sockets or threads.
Background work (sandbox payments and parcels, webhooks, reservation expiry) runs only
when the simulator says so (``settle``), at simulated time.

``HttpShop`` talks to a running server (``mercado serve``). That server keeps its own
clock and background jobs: server-side facts carry real time while the simulator's
clickstream carries simulated time, and ``settle`` just waits for the server's jobs.
"""

from __future__ import annotations

import asyncio
import contextvars
import json as _json
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httpx

from simulator.behaviour import Reply

SIMULATION_SETTINGS: dict[str, Any] = {
    # A simulation: cheap password hashing, and nothing runs behind the simulator's back.
    "argon2_time_cost": 1,
    "argon2_memory_kib": 1024,
    "background_jobs": False,
    "sandbox_processing_seconds": 0,
    "sandbox_carrier_step_seconds": 10**9,  # parcels move when the simulator's carrier says
    "access_token_minutes": 60 * 24 * 30,  # "remember me": shoppers rarely sign in again
    "log_level": "WARNING",
    "access_log": False,
    # The simulator's batches mix thousands of browsers: per-client rate limits do not apply.
    "collect_rate_events_per_second": 1e12,
    "collect_burst_events": 10**9,
    # Recommender models are loaded when the simulator says (load_recommender), not when a
    # wall-clock timer and a loading thread happen to.
    "recs_reload_seconds": 10**9,
}


_INLINE = contextvars.ContextVar("mercado_simulator_inline", default=False)


async def _inline(coroutine: Any) -> Any:
    """Run ``coroutine`` with sync endpoints and dependencies called inline."""
    _INLINE.set(True)  # this task's own context: nothing outside the simulator sees it
    return await coroutine


def _install_inline_threadpool() -> None:
    """Let the in-process shop call its sync endpoints inline.

    FastAPI runs every sync endpoint and dependency in a worker thread
    (``anyio.to_thread.run_sync``): right for a server with concurrent clients, but the
    simulator is the only client and waits for each answer, so each request would pay
    several thread handoffs for nothing. Inside the simulator's requests (and only
    there, by a context variable) they run inline on the event loop.
    """
    import anyio.to_thread

    original = anyio.to_thread.run_sync
    if getattr(original, "mercado_inline", False):
        return

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        if _INLINE.get():
            return func(*args)
        return await original(func, *args, **kwargs)

    run_sync.mercado_inline = True  # type: ignore[attr-defined]
    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


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

    def load_recommender(self) -> bool | None: ...

    def flush_events(self) -> None: ...

    def close(self) -> None: ...


def _reply(response: httpx.Response) -> Reply:
    body: Any = None
    if response.content:
        if response.headers.get("content-type", "").startswith("application/json"):
            body = _json.loads(response.content)
        else:
            body = response.text
    return Reply(response.status_code, body, dict(response.headers))


class InProcessShop:
    in_process = True

    def __init__(
        self,
        home: Path,
        start: datetime,
        database_url: str | None = None,
        *,
        prepare: bool = True,
    ) -> None:
        """The shop on ``home``; ``prepare`` migrates its database and seeds categories."""
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
        if prepare:
            upgrade_to_head(self.settings.sqlalchemy_url)
        self.clock = FrozenClock(start)
        self.app = create_app(self.settings, clock=self.clock)
        if prepare:
            with self.app.state.database.sessions() as session:
                seed_category_tree(session, self.clock, DEFAULT_CATEGORY_TREE)
        self._loop = asyncio.new_event_loop()
        self._host = urlsplit(self.settings.public_url).netloc.encode()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=self.settings.public_url
        )
        _install_inline_threadpool()
        # Enter the app's lifespan, as a server would (it starts the clickstream writer).
        self._lifespan = self.app.router.lifespan_context(self.app)
        self._run(self._lifespan.__aenter__())

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(_inline(coroutine))

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
        if files is not None:  # multipart bodies (image uploads) are left to httpx
            response = self._run(
                self._client.request(method, path, data=data, files=files, headers=headers)
            )
            return _reply(response)
        raw = [(b"host", self._host)]
        if json is not None:
            content = _json.dumps(json, separators=(",", ":")).encode()
            raw.append((b"content-type", b"application/json"))
        elif data is not None:
            content = urlencode(data).encode()
            raw.append((b"content-type", b"application/x-www-form-urlencoded"))
        body = content or b""
        raw.append((b"content-length", str(len(body)).encode()))
        for name, value in (headers or {}).items():
            raw.append((name.lower().encode(), value.encode()))
        return self._run(self._asgi(method, path, body, raw))

    async def _asgi(
        self, method: str, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> Reply:
        """One HTTP request straight through the ASGI interface (what a server does with
        the bytes it reads), without an HTTP client library in between."""
        path, _, query = path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        finished = asyncio.Event()
        delivered = False
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        await self.app(scope, receive, send)
        finished.set()
        content = b"".join(chunks)
        names = {name.decode("latin-1").lower(): value.decode("latin-1")
                 for name, value in response_headers}  # fmt: skip
        payload: Any = None
        if content:
            if names.get("content-type", "").startswith("application/json"):
                payload = _json.loads(content)
            else:
                payload = content.decode("utf-8", "replace")
        return Reply(status, payload, names)

    def set_time(self, moment: datetime) -> None:
        self.clock.set(moment)

    def _post_webhook(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self.request("POST", urlsplit(url).path, content=body, headers=headers).status

    def settle(self) -> None:
        from shop_api.jobs import run_until_quiet

        run_until_quiet(self.app.state, self._post_webhook)

    def load_recommender(self) -> bool:
        """Load the recommender models published by now (at simulated midnight, inline,
        so a day's answers depend on what was published, not on a loading thread's
        timing); True when one serves."""
        return self.app.state.recommender.refresh().champion is not None

    def flush_events(self) -> None:
        """The shop's own events so far on disk (its writer would take up to a second)."""
        self.app.state.tracking.sink.flush()

    def close(self) -> None:
        self._run(self._client.aclose())
        self._run(self._lifespan.__aexit__(None, None, None))  # flushes queued events
        self._loop.close()


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

    def load_recommender(self) -> None:
        """The server follows its models itself: only asking it tells whether one serves."""
        return None

    def flush_events(self) -> None:
        """The server writes its events on its own."""

    def close(self) -> None:
        self._client.close()
