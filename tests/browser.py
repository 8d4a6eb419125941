"""Headless Chromium driven through the DevTools protocol over one websocket, for the
browser tests (``tracking/test_tag_js.py``, ``dashboards/test_pages_in_chromium.py``).

Debian's ``chromium`` (``make test`` installs it when it can) or ``MERCADO_CHROMIUM``;
without a binary the fixtures skip, saying so.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

NO_CHROMIUM = (
    "no Chromium binary (/usr/bin/chromium): `make test` installs Debian's chromium "
    "when it can (root or sudo); or set MERCADO_CHROMIUM"
)


def chromium_binary() -> str | None:
    candidates = [os.environ.get("MERCADO_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


class DevTools:
    """A minimal, synchronous Chrome DevTools protocol client over one websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.last_id = 0
        self.pending: list[dict[str, Any]] = []
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.console: list[str] = []
        self.errors: list[str] = []  # console.error, uncaught exceptions, failed loads

    def post(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        return self.last_id

    def call(
        self, method: str, params: dict | None = None, session: str | None = None, timeout=15.0
    ) -> dict[str, Any]:
        call_id = self.post(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline - time.monotonic())
            if message is None:
                raise TimeoutError(f"no answer to {method} within {timeout} s")
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_for(self, method: str, session: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for message in self.pending:
                if message.get("method") == method and message.get("sessionId") == session:
                    self.pending.remove(message)
                    return message["params"]
            message = self._receive(deadline - time.monotonic())
            if message is None:
                raise TimeoutError(f"no {method} within {timeout} s")

    def pump(self, seconds: float) -> None:
        """Handle events (console, paused requests) for a while."""
        deadline = time.monotonic() + seconds
        while self._receive(deadline - time.monotonic()) is not None:
            pass

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        if timeout <= 0:
            return None
        try:
            message = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        method = message.get("method")
        if method == "Runtime.consoleAPICalled":
            args = message["params"]["args"]
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in args)
            self.console.append(text)
            if message["params"]["type"] in ("error", "assert"):
                self.errors.append(text)
        elif method == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description", details["text"]))
        elif method == "Log.entryAdded" and message["params"]["entry"]["level"] == "error":
            entry = message["params"]["entry"]
            self.errors.append(f"{entry['text']} {entry.get('url', '')}".strip())
        elif method in self.handlers:
            self.handlers[method](message)
        elif method:
            self.pending.append(message)
            del self.pending[:-200]
        return message


class Tab:
    """A page in a browser context of its own: its own cookies and localStorage."""

    def __init__(self, devtools: DevTools) -> None:
        self.devtools = devtools
        self.context = devtools.call("Target.createBrowserContext")["browserContextId"]
        target = devtools.call(
            "Target.createTarget", {"url": "about:blank", "browserContextId": self.context}
        )["targetId"]
        self.session = devtools.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")

    def call(self, method: str, params: dict | None = None) -> dict[str, Any]:
        return self.devtools.call(method, params, self.session)

    def open(self, url: str, ready: str | None = None) -> None:
        """Navigate and wait for the load event, then for ``ready`` to be true."""
        self.call("Page.navigate", {"url": url})
        self.devtools.wait_for("Page.loadEventFired", self.session)
        if ready:
            self.wait_until(ready)

    def reload(self, ready: str | None = None) -> None:
        self.call("Page.reload")
        self.devtools.wait_for("Page.loadEventFired", self.session)
        if ready:
            self.wait_until(ready)

    def viewport(self, width: int, height: int) -> None:
        """The window size pages lay out for (set it before opening a page)."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, path: Path) -> None:
        """A PNG of the whole page, as laid out for the current viewport's width."""
        width, height = self.evaluate(
            "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
        )
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression} still false after {timeout} s")
            self.devtools.pump(0.05)

    def close(self) -> None:
        self.devtools.call("Target.disposeBrowserContext", {"browserContextId": self.context})


@contextlib.contextmanager
def running_chromium(profile: Path) -> Iterator[subprocess.Popen]:
    """Headless Chromium with the DevTools protocol on a free port (skips without it);
    its output goes to ``chromium.log`` beside ``profile``."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip(NO_CHROMIUM)
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--no-default-browser-check",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--remote-debugging-port=0", f"--user-data-dir={profile}",
        "about:blank",
    ]  # fmt: skip
    with (profile.parent / "chromium.log").open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.contextmanager
def devtools_session(process: subprocess.Popen, profile: Path) -> Iterator[DevTools]:
    """The browser's DevTools websocket, once Chromium has written its port; the browser
    is closed at the end."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not (port_file.exists() and len(port_file.read_text().split()) == 2):
        if process.poll() is not None or time.monotonic() > deadline:
            log = (profile.parent / "chromium.log").read_text(errors="replace")
            pytest.fail(f"Chromium did not start:\n{log[-3000:]}")
        time.sleep(0.1)
    port, path = port_file.read_text().split()
    with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10) as ws:
        devtools = DevTools(ws)
        yield devtools
        # Chromium may close the socket before it answers.
        with contextlib.suppress(Exception):
            devtools.call("Browser.close", timeout=5)
