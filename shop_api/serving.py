"""Serve the API from several worker processes, each on its own listening socket.

uvicorn's ``--workers`` shares one listening socket between its workers, and whichever
worker wakes first accepts every connection waiting (uvloop accepts until the queue is
empty). A burst of keep-alive connections (a load balancer's or a client's pool opening
at once) then lands on one worker while the others idle for as long as the connections
live: measured with 32 clients on two workers, all 32 on one worker in most runs. Here
every worker binds its own socket with ``SO_REUSEPORT`` and the kernel spreads new
connections over them by a hash of their addresses.

    python -m shop_api.serving --port 8000 --workers 2     (or ``mercado serve``)

The background jobs (``shop_api.jobs``) run once, in a process of their own, not in a
thread of every worker: in each worker they polled the same queues as many times over,
and every pass (4-12 ms of CPU, a dozen queries) took the worker's GIL from its event
loop. With them in the workers, a search bench's p99 was about 7 ms higher.

The parent only supervises: it forwards SIGINT/SIGTERM to its processes, and when one
dies it stops the others and exits with an error, for the process manager to restart.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.importer import import_from_string

from shop_api.core.config import get_settings
from shop_api.jobs import BackgroundJobs

APP = "shop_api.main:create_app"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
LISTEN_URL_VARIABLE = "MERCADO_LISTEN_URL"  # Settings.listen_url


def listen_url(host: str, port: int) -> str:
    """Where a client on this machine reaches a server bound to (host, port)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def record_listen_address(host: str, port: int) -> None:
    """Tell this process, and the processes it starts, where the server listens
    (``Settings.listen_url``): the sandbox providers deliver their webhooks there unless
    ``MERCADO_SANDBOX_WEBHOOK_BASE_URL`` says otherwise, whatever ``MERCADO_PUBLIC_URL``
    says."""
    os.environ[LISTEN_URL_VARIABLE] = listen_url(host, port)
    get_settings.cache_clear()  # settings read before now lack it


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) that other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) for one server process, as uvicorn binds its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _config(host: str, port: int, log_level: str, access_log: bool) -> uvicorn.Config:
    # proxy_headers=False: the app alone decides which X-Forwarded-For hops to believe
    # (MERCADO_TRUSTED_PROXIES, shop_api.core.client_address).
    return uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,
    )


def _die_with_parent() -> None:
    """Linux: the kernel sends this worker SIGTERM when the supervisor dies, even by
    SIGKILL, so no orphan keeps serving on the port."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop still works
        return
    if os.getppid() == 1:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(host: str, port: int, log_level: str, access_log: bool) -> None:
    _die_with_parent()
    os.environ["MERCADO_BACKGROUND_JOBS"] = "false"  # the jobs process runs them (_jobs)
    sock = reuse_port_socket(host, port)
    uvicorn.Server(_config(host, port, log_level, access_log)).run(sockets=[sock])


def _jobs() -> None:
    """The background jobs of a multi-worker server, with the app's own wiring, until
    SIGTERM or SIGINT."""
    _die_with_parent()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    state = import_from_string(APP)().state
    jobs = BackgroundJobs(state, state.settings.background_interval_seconds)
    state.tracking.start()
    jobs.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        jobs.stop()
        state.tracking.stop()  # flushes the events the jobs dispatched
        state.database.dispose()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = False,
) -> int:
    """Run until SIGINT/SIGTERM; the exit status is non-zero when a worker failed."""
    if workers <= 1:
        sock = _listening_socket(host, port)  # bound here to know the port 0 stands for
        record_listen_address(host, sock.getsockname()[1])
        uvicorn.Server(_config(host, port, log_level, access_log)).run(sockets=[sock])
        return 0
    if port == 0:
        raise ValueError("several workers need a fixed port (each binds it itself)")
    reuse_port_socket(host, port).close()  # fail here, not in every worker, if it is taken
    record_listen_address(host, port)  # before the processes start: they inherit it
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(
            target=_worker,
            args=(host, port, log_level, access_log),
            name=f"worker-{index}",
        )
        for index in range(workers)
    ]
    if get_settings().background_jobs:
        processes.append(context.Process(target=_jobs, name="jobs"))
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)  # each worker shuts down gracefully

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for process in processes:
        process.start()
    failed = False
    # Wait for the first worker to end: a stop we asked for, or a crash.
    multiprocessing.connection.wait([process.sentinel for process in processes])
    if not stopping:
        failed = True
        for process in processes:
            if process.is_alive():
                process.terminate()
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
        failed = failed or (process.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    return serve(
        args.host,
        args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
    )


if __name__ == "__main__":
    sys.exit(main())
