"""``tag.js``: how it is served, and what it does in a real browser.

The browser tests start the API in a child process and headless Chromium (Debian's
``chromium``, which ``make test`` installs), and drive Chromium through the DevTools
protocol over a websocket: open ``/tracking/demo``, click, reload, and fake collector
failures with the ``Fetch`` domain. They then read what reached the landing zone
(``lake/events/dt=*/part-*.jsonl``). Without a Chromium binary they skip, saying so;
``MERCADO_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mercado_cli.server import running_api
from shop_api.api import include_routers
from shop_api.core.migrations import upgrade_to_head
from shop_api.tracking.events import validate_event
from shop_api.tracking.tagjs import SOURCE, strip_comments
from tests import browser
from tests.browser import DevTools, devtools_session, running_chromium
from tests.tracking.conftest import make_event

# ---------------------------------------------------------------------------------------
# Serving


@pytest.fixture(scope="module")
def tag_client() -> Iterator[TestClient]:
    # The shop's real router list, without the rest of the app (these routes need no state).
    app = FastAPI()
    include_routers(app)
    with TestClient(app) as client:
        yield client


def test_tag_js_is_registered_in_the_api() -> None:
    app = FastAPI()
    include_routers(app)
    assert app.url_path_for("tag_js") == "/tag.js"
    assert app.url_path_for("tracking_demo") == "/tracking/demo"


def test_tag_js_is_small_javascript_with_cache_headers(tag_client: TestClient) -> None:
    plain = tag_client.get("/tag.js", headers={"Accept-Encoding": "identity"})

    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("application/javascript")
    assert plain.headers["cache-control"] == "public, max-age=300"
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert re.fullmatch(r'"[0-9a-f]{20}"', plain.headers["etag"])
    assert "window.mercado" in plain.text or "w.mercado" in plain.text
    # 9 KB since the click capture of marked-up lists (recommendations); gzip, what
    # browsers fetch, stays under 4 KB.
    assert len(plain.content) < 9 * 1024, f"tag.js grew to {len(plain.content)} bytes"

    zipped = tag_client.get("/tag.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["etag"] != plain.headers["etag"]
    assert zipped.content == plain.content  # httpx decoded it
    assert int(zipped.headers["content-length"]) < 4 * 1024


def test_tag_js_revalidates_with_its_etag(tag_client: TestClient) -> None:
    etag = tag_client.get("/tag.js").headers["etag"]

    again = tag_client.get("/tag.js", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert tag_client.get("/tag.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_demo_page_loads_the_tag_from_the_same_origin(tag_client: TestClient) -> None:
    page = tag_client.get("/tracking/demo")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script async src="/tag.js"></script>' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN


def test_demo_page_items_have_ids_the_event_contract_accepts(tag_client: TestClient) -> None:
    """Opening the demo page must never land an event the warehouse's id tests reject."""
    page = tag_client.get("/tracking/demo").text
    item_ids = re.findall(r"item_id: '([^']*)'", page)

    assert len(item_ids) == 2
    for item_id in item_ids:
        _, reasons = validate_event(make_event("add_to_cart", items=[{"item_id": item_id}]))
        assert reasons == [], item_id


def test_the_source_is_es2017_and_the_served_script_parses(tmp_path: Path) -> None:
    source = SOURCE.read_text(encoding="utf-8")
    # ES2018+ syntax that slips in easily: optional chaining, nullish coalescing, optional
    # catch binding. (Object spread is avoided too: the tag uses Object.assign.)
    for pattern in (r"\?\.[A-Za-z_(\[]", r"\?\?", r"catch\s*\{"):
        assert not re.search(pattern, source), f"ES2018+ syntax in tag.js: {pattern}"
    # The server strips indentation, which is only safe without multi-line strings.
    assert all(line.count("`") % 2 == 0 for line in source.splitlines())
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot syntax-check tag.js")
    served = tmp_path / "served.js"
    served.write_text(strip_comments(source), encoding="utf-8")
    for path in (SOURCE, served):
        result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_strip_comments_keeps_code_and_notices() -> None:
    source = "/*! keep */\n/*\n * gone\n */\n  // gone\n  const a = 'b'; // stays\n\n"
    assert strip_comments(source) == "/*! keep */\nconst a = 'b'; // stays\n"


# ---------------------------------------------------------------------------------------
# In Chromium


TAG_LOADED = "window.mercado && window.mercado.loaded === true"


class Tab(browser.Tab):
    """A page in its own browser context, ready once the tag has loaded."""

    def open(self, url: str, ready: str | None = TAG_LOADED) -> None:
        super().open(url, ready)

    def reload(self, ready: str | None = TAG_LOADED) -> None:
        super().reload(ready)


@pytest.fixture(scope="module")
def browser_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Headless Chromium with the DevTools protocol on a free port (skips without it)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with running_chromium(profile) as process:
        yield process, profile


@pytest.fixture(scope="module")
def api(
    browser_process: tuple[subprocess.Popen, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """The real API (with the real /collect) on loopback, and its MERCADO_HOME. It starts
    while Chromium does."""
    home = tmp_path_factory.mktemp("home")
    database_url = f"sqlite:///{home / 'shop.db'}"
    upgrade_to_head(database_url)
    env = {
        "MERCADO_HOME": str(home),
        "MERCADO_DATABASE_URL": database_url,
        "MERCADO_BACKGROUND_JOBS": "false",
        "MERCADO_ACCESS_LOG": "false",
        "MERCADO_ARGON2_TIME_COST": "1",
        "MERCADO_ARGON2_MEMORY_KIB": "1024",
    }
    log = home / "api.log"
    try:
        with running_api(env, log_path=log, timeout=60) as base_url:
            yield base_url, home
    except RuntimeError as exc:  # did not start: show why
        pytest.fail(f"{exc}\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def chromium(
    browser_process: tuple[subprocess.Popen, Path], api: tuple[str, Path]
) -> Iterator[DevTools]:
    with devtools_session(*browser_process) as devtools:
        yield devtools


def landed(home: Path, client_id: str | None = None) -> list[dict[str, Any]]:
    events = [
        json.loads(line)
        for path in sorted(home.glob("lake/events/dt=*/part-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [e for e in events if client_id is None or e["client_id"] == client_id]


def wait_for_events(
    devtools: DevTools,
    home: Path,
    client_id: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        events = landed(home, client_id)
        if done(events):
            return events
        if time.monotonic() > deadline:
            api_log = (home / "api.log").read_text(errors="replace")[-3000:]
            bad = [str(p) for p in home.glob("lake/events_bad/dt=*/*.jsonl")]
            pytest.fail(
                f"events did not land in {timeout} s; landed: "
                f"{[e['event_name'] for e in events]}\nbad files: {bad}\n"
                "browser console:\n" + "\n".join(devtools.console[-40:]) + f"\nAPI log:\n{api_log}"
            )
        devtools.pump(0.1)


def names(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["event_name"] for e in events)


def client_id_cookie(tab: Tab) -> str:
    return tab.evaluate("document.cookie.match(/(?:^|; )mercado_cid=([^;]*)/)[1]")


def pending_in_storage(tab: Tab) -> int:
    return tab.evaluate("Object.keys(localStorage).filter(k => k.startsWith('mercado:e:')).length")


@pytest.mark.slow
def test_page_view_and_clicks_reach_the_landing_zone(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        tab.open(f"{base_url}/tracking/demo?debug=1&utm_source=news&utm_campaign=summer")
        client_id = client_id_cookie(tab)
        assert tab.evaluate("new Promise(r => mercado('get', 'client_id', r))") == client_id
        promo_id = tab.evaluate("mercado('event', 'select_promotion', {promotion_id: 'p1'})")
        tab.evaluate("document.querySelector('.add').click()")

        expected = ["add_to_cart", "page_view", "select_promotion", "view_item_list"]
        events = wait_for_events(chromium, home, client_id, lambda e: names(e) == expected)

        assert {e["session_id"] for e in events} != {None}
        assert len({e["session_id"] for e in events}) == 1
        assert len({e["event_id"] for e in events}) == len(events)
        by_name = {e["event_name"]: e for e in events}
        assert by_name["select_promotion"]["event_id"] == promo_id
        view = by_name["page_view"]
        assert view["page"]["url"].startswith(f"{base_url}/tracking/demo?")
        assert view["page"]["title"] == "Mercado demo shop"
        assert view["context"]["utm_source"] == "news"
        assert view["context"]["utm_campaign"] == "summer"
        assert "Chrome" in view["context"]["user_agent"]
        assert view["context"]["locale"]
        assert view["user_id"] is None
        assert view["schema_version"] == 1 and view["received_at"]
        cart = by_name["add_to_cart"]
        assert cart["items"][0]["item_id"] == "demo:film-camera"
        assert cart["params"] == {"currency": "EUR", "value": 120.0}
        assert len(by_name["view_item_list"]["items"]) == 2
        assert not list(home.glob("lake/events_bad/dt=*/*.jsonl"))
        tab.wait_until("!Object.keys(localStorage).some(k => k.startsWith('mercado:e:'))")

        # A reload is a new page view by the same client, in the same session.
        tab.reload()
        events = wait_for_events(
            chromium, home, client_id, lambda e: names(e).count("page_view") == 2
        )
        assert len({e["session_id"] for e in events}) == 1
        assert len({e["event_id"] for e in events}) == len(events)
        assert client_id_cookie(tab) == client_id
    finally:
        tab.close()


@pytest.mark.slow
def test_a_click_on_a_recommended_item_carries_the_lists_model_version(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        tab.open(f"{base_url}/tracking/demo")
        client_id = client_id_cookie(tab)
        # The demo's shelf is marked up as a page renders a /recommendations response.
        tab.evaluate("document.querySelector('[data-mercado-item-id] span').click()")

        events = wait_for_events(chromium, home, client_id, lambda e: "select_item" in names(e))

        [click] = [e for e in events if e["event_name"] == "select_item"]
        assert click["params"] == {"list_id": "recs:demo-model", "list_name": "recommendations"}
        assert click["items"] == [
            {"item_id": "demo:tripod", "item_name": "Tripod", "item_category": "cameras",
             "price": 35.5, "quantity": None, "index": 0, "seller_id": "demo:seller"}
        ]  # fmt: skip
    finally:
        tab.close()


@pytest.mark.slow
def test_a_signed_in_shopper_is_named_with_their_access_token(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    email, password = f"tag-{time.time_ns()}@example.com", "correct horse battery"
    signup = httpx.post(
        f"{base_url}/auth/signup",
        json={"email": email, "password": password, "display_name": "Tag tester"},
    )
    assert signup.status_code == 201, signup.text
    token = httpx.post(
        f"{base_url}/auth/token", data={"username": email, "password": password}
    ).json()["access_token"]
    user_id = signup.json()["id"]
    tab = Tab(chromium)
    try:
        # What a shop page does for a signed-in shopper: configure before the tag loads.
        config = json.dumps({"user_id": user_id, "access_token": token})
        stub = "window.mercado = function () { (mercado.q = mercado.q || []).push(arguments); };"
        tab.call(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": f"{stub} mercado('config', {config});"},
        )
        tab.open(f"{base_url}/tracking/demo")
        client_id = client_id_cookie(tab)

        events = wait_for_events(
            chromium, home, client_id, lambda e: names(e) == ["page_view", "view_item_list"]
        )

        assert {e["user_id"] for e in events} == {user_id}
    finally:
        tab.close()


@pytest.mark.slow
def test_a_new_session_starts_after_30_minutes_without_events_and_ids_are_uuid4(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        # And ids from the fallback, as on plain http where crypto.randomUUID is missing.
        tab.call(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": "delete Crypto.prototype.randomUUID;"},
        )
        tab.open(f"{base_url}/tracking/demo")
        assert tab.evaluate("typeof crypto.randomUUID") == "undefined"
        client_id = client_id_cookie(tab)
        first = tab.evaluate("document.cookie.match(/mercado_sid=([^.;]*)/)[1]")
        # The last event was 31 minutes ago, as far as the session cookie can tell.
        tab.evaluate(
            f"document.cookie = 'mercado_sid={first}.' + (Date.now() - 31 * 60000) + '; path=/'"
        )
        late = tab.evaluate("mercado('event', 'select_promotion', {promotion_id: 'late'})")
        soon = tab.evaluate("mercado('event', 'select_promotion', {promotion_id: 'soon'})")

        events = wait_for_events(chromium, home, client_id, lambda e: len(e) == 4)

        session_of = {e["event_id"]: e["session_id"] for e in events}
        assert {e["session_id"] for e in events if e["event_name"] != "select_promotion"} == {first}
        assert session_of[late] != first
        assert session_of[soon] == session_of[late]
        v4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
        ids = [client_id, first, session_of[late], *session_of]
        assert all(v4.fullmatch(value) for value in ids), ids
    finally:
        tab.close()


@pytest.mark.slow
def test_global_privacy_control_means_no_cookie_and_no_events(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        tab.call(
            "Page.addScriptToEvaluateOnNewDocument",
            {
                "source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
                "{ get: () => true });"
            },
        )
        before = len(landed(home))
        tab.open(f"{base_url}/tracking/demo")
        tab.evaluate("document.getElementById('promo').click()")
        tab.evaluate("mercado('flush')")
        chromium.pump(1.5)

        assert "mercado_" not in tab.evaluate("document.cookie")
        assert pending_in_storage(tab) == 0
        assert len(landed(home)) == before
    finally:
        tab.close()


class FlakyCollector:
    """Answers /collect requests from a script of fake responses, then lets them through."""

    def __init__(self, tab: Tab, responses: list[tuple[int, dict[str, str]] | None]) -> None:
        self.tab = tab
        self.responses = responses
        self.seen: list[float] = []
        tab.devtools.handlers["Fetch.requestPaused"] = self.paused
        tab.call("Fetch.enable", {"patterns": [{"urlPattern": "*/collect*"}]})

    def paused(self, message: dict[str, Any]) -> None:
        request_id = message["params"]["requestId"]
        self.seen.append(time.monotonic())
        fake = self.responses.pop(0) if self.responses else None
        if fake is None:
            self.tab.devtools.post(
                "Fetch.continueRequest", {"requestId": request_id}, message["sessionId"]
            )
            return
        status, headers = fake
        self.tab.devtools.post(
            "Fetch.fulfillRequest",
            {
                "requestId": request_id,
                "responseCode": status,
                "responseHeaders": [{"name": k, "value": v} for k, v in headers.items()],
                "body": "",
            },
            message["sessionId"],
        )

    def stop(self) -> None:
        self.tab.call("Fetch.disable")
        self.tab.devtools.handlers.pop("Fetch.requestPaused", None)


@pytest.mark.slow
def test_failed_sends_are_retried_with_backoff_and_retry_after(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        collector = FlakyCollector(tab, [(503, {}), (429, {"Retry-After": "3"})])
        tab.open(f"{base_url}/tracking/demo")
        client_id = client_id_cookie(tab)

        events = wait_for_events(
            chromium, home, client_id, lambda e: names(e) == ["page_view", "view_item_list"]
        )

        assert len(collector.seen) >= 3
        # Backoff alone would wait 1-2 s before the third try; Retry-After asked for 3.
        assert collector.seen[2] - collector.seen[1] >= 2.5
        assert len({e["event_id"] for e in events}) == 2
        collector.stop()
    finally:
        tab.close()


@pytest.mark.slow
def test_unsent_events_survive_a_reload(chromium: DevTools, api: tuple[str, Path]) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        # The collector is down for a long while: the events wait in localStorage.
        collector = FlakyCollector(tab, [(503, {"Retry-After": "600"})] * 5)
        tab.open(f"{base_url}/tracking/demo")
        client_id = client_id_cookie(tab)
        deadline = time.monotonic() + 10
        while not collector.seen and time.monotonic() < deadline:
            chromium.pump(0.1)
        assert pending_in_storage(tab) == 2
        first_ids = set(
            tab.evaluate(
                "Object.keys(localStorage).filter(k => k.startsWith('mercado:e:'))"
                ".map(k => k.slice(10))"
            )
        )

        # Back up; the next page sends what the last one could not, and its own events.
        collector.stop()
        tab.reload()
        events = wait_for_events(chromium, home, client_id, lambda e: len(e) == 4)

        assert first_ids <= {e["event_id"] for e in events}
        assert names(events) == ["page_view", "page_view", "view_item_list", "view_item_list"]
        assert len({e["event_id"] for e in events}) == 4
        tab.wait_until("!Object.keys(localStorage).some(k => k.startsWith('mercado:e:'))")
    finally:
        tab.close()


BEACON_SPY = """
window.mercado = function () { (mercado.q = mercado.q || []).push(arguments); };
mercado('config', { flush_ms: 60000 });
const sendBeacon = navigator.sendBeacon.bind(navigator);
navigator.sendBeacon = (url, data) => {
  const queued = sendBeacon(url, data);
  localStorage.setItem('test:beacon', String(queued));
  return queued;
};
"""


@pytest.mark.slow
def test_leaving_the_page_sends_the_queue_with_a_beacon(
    chromium: DevTools, api: tuple[str, Path]
) -> None:
    base_url, home = api
    tab = Tab(chromium)
    try:
        # A page that batches for a minute, so only leaving it can send its events; and a
        # note in localStorage of what sendBeacon answered.
        tab.call("Page.addScriptToEvaluateOnNewDocument", {"source": BEACON_SPY})
        tab.open(f"{base_url}/tracking/demo")
        client_id = client_id_cookie(tab)
        chromium.pump(0.5)
        assert landed(home, client_id) == []

        tab.call("Page.navigate", {"url": f"{base_url}/healthz"})
        events = wait_for_events(
            chromium, home, client_id, lambda e: names(e) == ["page_view", "view_item_list"]
        )

        assert len({e["event_id"] for e in events}) == 2
        assert tab.evaluate("localStorage.getItem('test:beacon')") == "true"
        assert pending_in_storage(tab) == 0
    finally:
        tab.close()
