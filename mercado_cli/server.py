"""Run the shop API in a child process, for the demo and end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_api(
    env: dict[str, str],
    *,
    port: int = 0,
    workers: int = 1,
    log_path: Path | None = None,
    timeout: float = 90.0,
) -> Iterator[str]:
    """Start the API on loopback, wait until every worker answers /readyz, yield the base URL."""
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    # The shop's launcher: with several workers each listens on its own socket, so the
    # connections of a burst of clients reach all of them (see shop_api.serving).
    command = [
        sys.executable, "-m", "shop_api.serving",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        command,
        env={**os.environ, **env, "MERCADO_PUBLIC_URL": base_url},
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(base_url, workers=workers, timeout=timeout, process=process)
        yield base_url
    finally:
        stop_process(process, timeout=10)
        if log_path:
            log_file.close()  # type: ignore[union-attr]


def stop_process(process: subprocess.Popen, *, timeout: float) -> None:
    """SIGTERM (the API shuts down gracefully), then SIGKILL after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_serving(
    base_url: str,
    *,
    workers: int = 1,
    timeout: float = 90.0,
    process: subprocess.Popen | None = None,
) -> None:
    """Until ``workers`` distinct worker processes have answered ``GET /readyz`` 200.

    Each poll is a new connection, taken by whichever worker accepts it. Traffic sent as
    soon as the first worker answers would give it every keep-alive connection while the
    others still start.
    """
    deadline = time.monotonic() + timeout
    ready: set[int] = set()
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the API exited with code {process.returncode} while starting")
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=2.0)
            if response.status_code == 200:
                ready.add(response.json()["process"])
                if len(ready) >= workers:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.05 if ready else 0.2)
    raise RuntimeError(f"{len(ready)} of {workers} API workers ready after {timeout:.0f} s")
