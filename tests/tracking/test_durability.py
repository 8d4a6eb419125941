"""Acknowledged means on disk: ``kill -9`` right after acknowledgements loses nothing.

A real uvicorn process takes batches from several threads; the moment enough have been
acknowledged it is killed with SIGKILL (no shutdown, no flush), and every acknowledged
event_id must be in the landing zone, in whole files.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from mercado_cli.server import running_api
from shop_api.core.migrations import upgrade_to_head
from shop_api.tracking.lake import LandingZone
from tests.tracking.conftest import make_event

SENDERS = 6
BATCH = 50


def server_pid(port: int) -> int:
    """The API child of this process serving ``port`` (one worker: the server itself)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        ours = parent == os.getpid() and b"shop_api.serving" in command
        if ours and str(port).encode() in command:
            return int(entry.name)
    raise AssertionError(f"no API child on port {port}")


@pytest.mark.slow
def test_kill_9_after_acknowledgements_loses_nothing(tmp_path: Path):
    upgrade_to_head(f"sqlite:///{tmp_path / 'shop.db'}")
    env = {
        "MERCADO_HOME": str(tmp_path),
        "MERCADO_BACKGROUND_JOBS": "false",
        "MERCADO_ACCESS_LOG": "false",
        "MERCADO_LOG_LEVEL": "WARNING",
    }
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    with running_api(env, log_path=tmp_path / "api.log", timeout=90) as base_url:
        pid = server_pid(int(base_url.rsplit(":", 1)[1]))

        def sender() -> None:
            with httpx.Client(base_url=base_url, timeout=10) as http:
                while not stop.is_set():
                    device = f"dev-{uuid.uuid4().hex[:12]}"
                    batch = [make_event("page_view", client_id=device) for _ in range(BATCH)]
                    try:
                        response = http.post("/collect", json={"events": batch})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 200:
                        with lock:
                            acknowledged.extend(response.json()["accepted"])

        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 3_000 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(pid, signal.SIGKILL)  # right after acknowledgements, mid-traffic
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        with lock:
            acked = set(acknowledged)

    assert len(acked) >= 3_000
    stored = {record["event_id"] for record in LandingZone(tmp_path / "lake").read()}
    missing = acked - stored
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events lost"
