"""Clickstream collector benchmark: events/s accepted by ``POST /collect``.

The script

1. migrates a fresh SQLite database in a scratch ``MERCADO_HOME`` (under
   ``$MERCADO_HOME/bench/``), whose ``lake/`` receives the events;
2. starts the API with uvicorn as a separate process (``--workers``) on a free port;
3. prepares ``--bodies`` distinct batches of ``--batch`` realistic events (a device's
   session: page views, item lists, item views, searches, cart, checkout, purchases, with
   pages, items, UTM context; about 850 bytes an event) and drives ``POST /collect`` from
   ``--senders`` concurrent keep-alive connections in a closed loop, ``--warmup`` seconds
   then ``--duration`` seconds measured;
4. prints events/s accepted (counted from the responses' ``accepted`` lists), requests/s,
   p50/p99 request latency, errors, the lake files written (group commit: events per
   file) and the CPU used by the server, the client and the machine, against the target
   (>= 20,000 events/s at 16 senders with 100-event batches).

Every 200 means the events were fsync'd and renamed into place before the answer. Bodies
are reused round-robin, so an event_id repeats every ``--bodies`` requests; the warehouse
dedupes on event_id and the collector's cost does not depend on it.

    .venv/bin/python bench/collect.py [--workers 2] [--duration 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_catalog import (
    HOST,
    Server,
    _cpu_seconds,
    _event_loop_factory,
    _process_tree,
    machine_load,
)
from figures import Figure, measured, write_figures

from shop_api.core.migrations import upgrade_to_head

ROOT = Path(__file__).resolve().parents[1]
TARGET_EVENTS_PER_S = 20_000.0

PAGES = ["/", "/c/cameras", "/c/laptops", "/search", "/cart", "/checkout", "/l/"]
TERMS = ["camera", "vintage lens", "laptop 16gb", "usb c cable", "running shoes", "desk lamp"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]
NAMES = (
    ["page_view"] * 30 + ["view_item_list"] * 15 + ["view_item"] * 25 + ["select_item"] * 8
    + ["search"] * 8 + ["add_to_cart"] * 6 + ["view_cart"] * 3 + ["begin_checkout"] * 2
    + ["purchase"] * 1 + ["view_promotion"] * 2
)  # fmt: skip


def _item(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "item_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "item_name": f"{rng.choice(['Vintage', 'New', 'Refurbished'])} {rng.choice(TERMS)}",
        "item_category": rng.choice(["cameras", "laptops", "phone-accessories", "shoes"]),
        "price": round(rng.uniform(5, 900), 2),
        "quantity": 1,
        "index": index,
        "seller_id": str(uuid.UUID(int=rng.getrandbits(128))),
    }


def make_event(rng: random.Random, client_id: str, session_id: str, when: datetime) -> dict:
    name = rng.choice(NAMES)
    path = rng.choice(PAGES)
    event: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_name": name,
        "event_time": when.isoformat(),
        "client_id": client_id,
        "session_id": session_id,
        "page": {
            "url": f"https://shop.example{path}?utm_source=newsletter",
            "referrer": "https://www.google.com/",
            "title": "Mercado — the marketplace",
        },
        "params": {},
        "items": [],
        "context": {
            "user_agent": rng.choice(AGENTS),
            "locale": rng.choice(["pt-BR", "es-AR", "en-US"]),
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "spring",
        },
    }
    if name in {"view_item_list", "select_item", "view_item", "add_to_cart", "begin_checkout"}:
        event["items"] = [_item(rng, i) for i in range(rng.randint(1, 4))]
    if name == "view_item_list":
        event["params"] = {"list_id": "category", "list_name": "Cameras"}
    if name == "search":
        event["params"] = {"search_term": rng.choice(TERMS)}
    if name == "purchase":
        event["items"] = [_item(rng, 0)]
        event["params"] = {
            "transaction_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "value": event["items"][0]["price"],
            "currency": "USD",
        }
    if name == "view_promotion":
        event["params"] = {"promotion_id": "spring", "promotion_name": "Spring sale"}
    return event


def make_requests(count: int, batch: int, port: int, seed: int) -> list[bytes]:
    """Distinct HTTP/1.1 requests, one device's batch each."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    requests = []
    for _ in range(count):
        client_id = f"c-{rng.getrandbits(64):016x}"
        session_id = f"s-{rng.getrandbits(32):08x}"
        start = now - timedelta(seconds=rng.uniform(0, 60))
        events = [
            make_event(rng, client_id, session_id, start + timedelta(seconds=2 * i))
            for i in range(batch)
        ]
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        head = (
            f"POST /collect HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    return requests


# --------------------------------------------------------------------------------------
# Load generator (the catalog bench's minimal HTTP/1.1 client, keeping response bodies)
# --------------------------------------------------------------------------------------


@dataclass
class SenderStats:
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    errors: dict[str, int] = field(default_factory=dict)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One response: (status, body, keep-alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    start = lower.find(b"\r\ncontent-length:")
    if start < 0:
        raise ValueError("response without Content-Length")
    end = lower.index(b"\r\n", start + 2)
    body = await reader.readexactly(int(lower[start + 17 : end]))
    return status, body, b"\r\nconnection: close" not in lower


async def _sender(
    port: int, requests: list[bytes], offset: int, start: float, end: float, stats: SenderStats
) -> None:
    clock = time.perf_counter
    reader, writer = await asyncio.open_connection(HOST, port)
    n = offset
    try:
        while clock() < end:
            request = requests[n % len(requests)]
            n += 1
            began = clock()
            try:
                writer.write(request)
                status, body, keep_alive = await _read_response(reader)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                kind = type(exc).__name__
                stats.errors[kind] = stats.errors.get(kind, 0) + 1
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            finished = clock()
            if start <= finished <= end:
                stats.latencies.append(finished - began)
                if status == 200:
                    answer = json.loads(body)
                    stats.accepted += len(answer["accepted"])
                    stats.rejected += len(answer["rejected"])
                else:
                    stats.errors[str(status)] = stats.errors.get(str(status), 0) + 1
            if not keep_alive:
                # As HTTP clients do: the server asked to close (a worker evening out its
                # connections, see shop_api.serving), so the next request reconnects.
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


async def _drive(
    port: int, requests: list[bytes], senders: int, warmup: float, duration: float
) -> list[SenderStats]:
    start = time.perf_counter() + warmup
    stats = [SenderStats() for _ in range(senders)]
    await asyncio.gather(
        *(
            _sender(port, requests, n * len(requests) // senders, start, start + duration, s)
            for n, s in enumerate(stats)
        )
    )
    return stats


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


@dataclass
class Result:
    workers: int
    senders: int
    batch: int
    duration_s: float
    events_accepted: int
    events_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    lake_files: int
    events_per_file: float
    cpu_cores_server: float
    cpu_cores_client: float
    server_cpu_us_per_event: float
    machine_load_before: float | None
    target: str
    target_met: bool


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[max(1, math.ceil(fraction * len(values))) - 1]


def run(args: argparse.Namespace, home: Path, load: float | None) -> Result:
    upgrade_to_head(f"sqlite:///{home / 'shop.db'}")
    # The whole load comes from one address, and /collect limits each address.
    os.environ.setdefault("MERCADO_COLLECT_RATE_EVENTS_PER_SECOND", "1e12")
    os.environ.setdefault("MERCADO_COLLECT_BURST_EVENTS", str(10**9))
    server = Server(f"sqlite:///{home / 'shop.db'}", home, args.workers, home / "uvicorn.log")
    try:
        server.wait_ready()
        requests = make_requests(args.bodies, args.batch, server.port, args.seed)
        size = sum(len(r) for r in requests) / len(requests)
        print(
            f"  uvicorn on {HOST}:{server.port}, {args.workers} worker(s); {args.senders} "
            f"senders x {args.batch}-event batches (~{size / 1024:.0f} KiB), "
            f"{args.warmup:.0f} s warm-up + {args.duration:.0f} s",
            flush=True,
        )
        pids = _process_tree(server.process.pid)
        cpu_server, cpu_client = _cpu_seconds(pids), time.process_time()
        wall = time.perf_counter()
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            stats = runner.run(
                _drive(server.port, requests, args.senders, args.warmup, args.duration)
            )
        wall = time.perf_counter() - wall
        cpu_server = (_cpu_seconds(pids) - cpu_server) / wall
        cpu_client = (time.process_time() - cpu_client) / wall
    finally:
        server.stop()  # SIGTERM: the writers flush before exiting

    latencies = sorted(latency for s in stats for latency in s.latencies)
    errors: dict[str, int] = {}
    for s in stats:
        for kind, count in s.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    accepted = sum(s.accepted for s in stats)
    files = list((home / "lake" / "events").glob("dt=*/part-*.jsonl"))
    stored = sum(1 for path in files for _ in path.open("rb"))
    rate = accepted / args.duration
    return Result(
        workers=args.workers,
        senders=args.senders,
        batch=args.batch,
        duration_s=args.duration,
        events_accepted=accepted,
        events_per_s=rate,
        requests_per_s=len(latencies) / args.duration,
        p50_ms=1000 * _percentile(latencies, 0.5),
        p99_ms=1000 * _percentile(latencies, 0.99),
        max_ms=1000 * latencies[-1] if latencies else float("nan"),
        errors=errors,
        lake_files=len(files),
        events_per_file=stored / len(files) if files else 0.0,
        cpu_cores_server=cpu_server,
        cpu_cores_client=cpu_client,
        server_cpu_us_per_event=cpu_server * wall / accepted * 1e6 if accepted else float("nan"),
        machine_load_before=load,
        target=f">= {TARGET_EVENTS_PER_S:,.0f} events/s",
        target_met=rate >= TARGET_EVENTS_PER_S and not errors,
    )


def figures_of(result: Result) -> list[Figure]:
    """The report's records: events/s against the target, with latency and CPU as context."""
    ok = not result.errors
    return [
        measured(
            f"events/s accepted, {result.senders} senders x {result.batch}-event batches",
            result.events_per_s, "events/s", at_least=TARGET_EVENTS_PER_S, ok=ok,
        ),
        measured("POST /collect p99", result.p99_ms, "ms", ok=ok),
        measured("server CPU per event", result.server_cpu_us_per_event, "us", ok=ok),
    ]  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--senders", type=int, default=16, help="concurrent connections")
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--bodies", type=int, default=400, help="distinct batches prepared")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch home and lake")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = Path(os.environ.get("MERCADO_HOME", "var")).expanduser()
    base = (base if base.is_absolute() else ROOT / base).resolve() / "bench"
    base.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="collect-", dir=base))
    load = machine_load(1.0)
    print(
        f"Mercado collector benchmark: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; machine load before starting: "
        f"{'n/a' if load is None else f'{load:.2f} cores busy'}"
    )
    try:
        result = run(args, home, load)
    finally:
        if args.keep:
            print(f"  kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    print(
        f"\n  accepted  {result.events_per_s:>10,.0f} events/s   ({result.events_accepted:,} "
        f"events, {result.requests_per_s:,.0f} requests/s)\n"
        f"  latency   p50 {result.p50_ms:.1f} ms   p99 {result.p99_ms:.1f} ms   "
        f"max {result.max_ms:.1f} ms\n"
        f"  errors    {result.errors or 'none'}\n"
        f"  lake      {result.lake_files:,} files, {result.events_per_file:,.0f} events per "
        f"file (group commit)\n"
        f"  cpu       server {result.cpu_cores_server:.2f} cores, client "
        f"{result.cpu_cores_client:.2f} cores; server CPU per event "
        f"{result.server_cpu_us_per_event:.0f} us (~{1e6 / result.server_cpu_us_per_event:,.0f} "
        f"events/s per fully available core)\n"
        f"  target    {result.target}: {'met' if result.target_met else 'NOT met'}"
    )
    if args.json:
        write_figures(
            args.json,
            figures_of(result),
            benchmark="collect",
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            machine={"cpus": os.cpu_count(), "python": platform.python_version()},
            result=asdict(result),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
