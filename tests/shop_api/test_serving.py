"""The multi-worker launcher: every worker serves, connections are spread over them, the
background jobs run once beside them, and a SIGTERM stops them all cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from mercado_cli.server import free_port, stop_process, wait_until_serving
from shop_api.core.migrations import upgrade_to_head
from shop_api.tracking.outbox import record_event

pytestmark = pytest.mark.slow

WORKERS = 2
CONNECTIONS = 32


def request_readyz(sock: socket.socket) -> tuple[int, bool]:
    """GET /readyz on a kept-alive connection: the answering worker, and whether it keeps
    the connection open."""
    sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return json.loads(body)["process"], b"connection: close" not in lines


def start_server(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen, int]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_to_head(url)
    port = free_port()
    env = {**os.environ, "MERCADO_DATABASE_URL": url, "MERCADO_HOME": str(tmp_path), **settings}
    process = subprocess.Popen(
        [sys.executable, "-m", "shop_api.serving", "--port", str(port),
         "--workers", str(WORKERS), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return process, port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    process, port = start_server(tmp_path, MERCADO_BACKGROUND_JOBS="false")
    try:
        yield process, port
    finally:
        stop_process(process, timeout=30)


def test_workers_die_with_a_killed_supervisor(server: tuple[subprocess.Popen, int]) -> None:
    process, port = server
    wait_until_serving(f"http://127.0.0.1:{port}", workers=WORKERS, process=process)

    process.kill()
    process.wait()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return  # nobody listens any more
        time.sleep(0.2)
    pytest.fail("a worker kept serving after its supervisor was killed")


def test_connections_opened_at_once_reach_every_worker(
    server: tuple[subprocess.Popen, int],
) -> None:
    process, port = server
    wait_until_serving(f"http://127.0.0.1:{port}", workers=WORKERS, process=process)

    # A burst of keep-alive connections, as a client pool opens them.
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
    try:
        answered_by = [request_readyz(sock)[0] for sock in connections]
    finally:
        for sock in connections:
            sock.close()

    per_worker = {pid: answered_by.count(pid) for pid in set(answered_by)}
    assert len(per_worker) == WORKERS, per_worker
    assert min(per_worker.values()) >= 4, per_worker  # hashing, not one worker taking all


def test_sigterm_stops_every_worker(server: tuple[subprocess.Popen, int]) -> None:
    process, port = server
    wait_until_serving(f"http://127.0.0.1:{port}", workers=WORKERS, process=process)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def child_processes(pid: int) -> dict[int, str]:
    """The direct children of ``pid`` (Linux) and their command lines."""
    children: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            children[int(child)] = command.decode(errors="replace")
    return children


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_background_jobs_run_once_beside_the_workers(tmp_path: Path) -> None:
    process, port = start_server(
        tmp_path, MERCADO_BACKGROUND_JOBS="true", MERCADO_BACKGROUND_INTERVAL_SECONDS="0.2"
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", workers=WORKERS, process=process)
        workers = {worker for worker, _kept in map(request_readyz, connect_many(port, 16))}
        others = {
            pid: command
            for pid, command in child_processes(process.pid).items()
            if pid not in workers and "resource_tracker" not in command
        }
        # An event in the outbox reaches the lake: some process runs the jobs.
        engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
        with Session(engine) as session, session.begin():
            event = record_event(
                session,
                event_name="sign_up",
                at=datetime.now(UTC),
                user_id=None,
                params={"method": "password"},
            )
            event_id = str(event.id)
        engine.dispose()
        deadline = time.monotonic() + 20
        while event_id not in lake_text(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)

        assert len(workers) == WORKERS
        assert len(others) == 1, others  # one jobs process, not a jobs thread per worker
        assert event_id in lake_text(tmp_path)
    finally:
        stop_process(process, timeout=30)
    assert process.returncode == 0


def connect_many(port: int, count: int) -> Iterator[socket.socket]:
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            yield sock


def lake_text(home: Path) -> str:
    return "".join(path.read_text() for path in (home / "lake" / "events").rglob("*.jsonl"))
