"""Checkout benchmark: checkouts/s and latency with 32 concurrent buyers.

For each backend (SQLite, PostgreSQL) this script creates a fresh database, seeds a few
sellers and ``--listings`` listings with deep stock, creates ``--buyers`` shopper
accounts, starts the API with uvicorn in its own process, and has every buyer loop:
put 1-3 random listings in the cart (``POST /cart/items``), then ``POST /checkout`` with
a fresh ``Idempotency-Key``. Checkout holds stock with conditional UPDATEs, writes the
order, its per-seller groups, items and history, and empties the cart in one
transaction. It prints checkouts/s and p50/p90/p99 latency of the checkout call (and of
the cart call) against the target (p99 < 150 ms on PostgreSQL). It never asserts.

    .venv/bin/python bench/api_checkout.py [--backend postgresql] [--duration 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_catalog import (
    BACKENDS,
    HOST,
    BenchDatabase,
    CpuSample,
    Server,
    _cpu_sample,
    _cpu_seconds,
    _event_loop_factory,
    _process_tree,
    _read_response,
    bench_home,
    collector_paused,
    cores_busy,
    machine_load,
    postgres_admin_url,
    postgres_unavailable_reason,
)
from figures import Figure, measured, write_figures

from shop_api.auth.service import create_user
from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
from shop_api.catalog.service import seed_category_tree
from shop_api.core.clock import SystemClock
from shop_api.core.config import Settings
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.migrations import upgrade_to_head
from shop_api.core.security import PasswordHasher, create_access_token
from shop_api.models import Category, Listing, ListingCondition, ListingStatus, UserRole

CHECKOUT_P99_TARGET_MS = 150.0
SECRET = "bench-secret-key-for-checkout-benchmark-only-0123456789"
ADDRESS = {
    "name": "Bench Buyer", "line1": "1 Loop Road", "city": "Localhost",
    "postal_code": "12345", "country": "US",
}  # fmt: skip


@dataclass
class Samples:
    checkout_ms: list[float] = field(default_factory=list)
    cart_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    cart_requests: int = 0  # measured cart calls, for the CPU per request
    cpu: tuple[CpuSample, CpuSample] | None = None  # at the start and end of the window
    database_cpu: float | None = None  # CPU seconds of PostgreSQL in the window


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each of this machine's PostgreSQL processes (backends, WAL writer,
    checkpointer...), by pid."""
    cpu = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    cpu[int(entry.name)] = _cpu_seconds([int(entry.name)])
    return cpu


def postgres_cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds PostgreSQL used between two samples (processes that exited meanwhile
    are not counted; the bench's own connections live through the window)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def seed(url: str, listings: int, buyers: int, seed_value: int) -> tuple[list[str], list[str]]:
    """Sellers, listings with deep stock and buyers; returns (listing ids, buyer tokens)."""
    settings = Settings(
        database_url=url, secret_key=SECRET, argon2_time_cost=1, argon2_memory_kib=1024
    )
    upgrade_to_head(settings.sqlalchemy_url)
    engine = create_db_engine(settings.sqlalchemy_url, pool_size=2)
    factory = create_session_factory(engine)
    clock = SystemClock()
    hasher = PasswordHasher(settings)
    rng = random.Random(seed_value)
    with factory() as session:
        seed_category_tree(session, clock, DEFAULT_CATEGORY_TREE)
        leaves = [c.id for c in session.query(Category).all() if c.depth >= 1]
        sellers = [
            create_user(
                session, hasher, clock, email=f"seller{i}-{uuid.uuid4().hex[:6]}@bench.example",
                password="bench-password-1", display_name=f"Seller {i}", role=UserRole.seller,
            )
            for i in range(8)
        ]  # fmt: skip
        now = clock.now()
        rows = [
            Listing(
                seller_id=rng.choice(sellers).id, category_id=rng.choice(leaves),
                title=f"Bench item {i}", description="", price_minor=rng.randint(500, 50_000),
                currency="USD", stock=10_000_000, condition=ListingCondition.new,
                attributes={}, status=ListingStatus.active, published_at=now,
                created_at=now, modified_at=now,
            )
            for i in range(listings)
        ]  # fmt: skip
        session.add_all(rows)
        session.commit()
        listing_ids = [str(row.id) for row in rows]
        tokens = []
        for i in range(buyers):
            buyer = create_user(
                session, hasher, clock, email=f"buyer{i}-{uuid.uuid4().hex[:6]}@bench.example",
                password="bench-password-1", display_name=f"Buyer {i}", role=UserRole.shopper,
            )  # fmt: skip
            tokens.append(create_access_token(settings, buyer.id, 0, clock.now()))
    engine.dispose()
    return listing_ids, tokens


class Connection:
    """One keep-alive HTTP/1.1 connection: the bench's minimal client (see api_catalog).

    httpx would need most of a core at these rates, CPU taken from the server it measures.
    """

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._auth = f"Authorization: Bearer {token}\r\n"
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: dict, extra_headers: str = "") -> int:
        """POST JSON; returns the status, 0 when the connection failed."""
        body = json.dumps(payload).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{self._auth}{extra_headers}\r\n"
        )
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(HOST, self._port)
            assert self._reader is not None
            self._writer.write(head.encode() + body)
            status, keep_alive = await _read_response(self._reader)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.close()
            return 0
        if not keep_alive:
            self.close()
        return status

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


async def buyer_loop(
    connection: Connection,
    listing_ids: list[str],
    rng: random.Random,
    measure_from: float,
    stop_at: float,
    samples: Samples,
) -> None:
    try:
        while time.monotonic() < stop_at:
            for listing_id in rng.sample(listing_ids, rng.randint(1, 3)):
                started = time.perf_counter()
                await connection.post("/cart/items", {"listing_id": listing_id, "quantity": 1})
                if time.monotonic() >= measure_from:
                    samples.cart_ms.append((time.perf_counter() - started) * 1000)
                    samples.cart_requests += 1
            started = time.perf_counter()
            status = await connection.post(
                "/checkout",
                {"shipping_address": ADDRESS},
                f"Idempotency-Key: {uuid.uuid4().hex}\r\n",
            )
            elapsed = (time.perf_counter() - started) * 1000
            if time.monotonic() >= measure_from:
                samples.checkout_ms.append(elapsed)
                samples.statuses[status] = samples.statuses.get(status, 0) + 1
    finally:
        connection.close()


async def drive(  # type: ignore[no-untyped-def]
    port: int, tokens: list[str], listing_ids: list[str], args, server_pids: list[int]
) -> Samples:
    samples = Samples()

    async def sample_at(moment: float) -> tuple[CpuSample, dict[int, float]]:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        return _cpu_sample(server_pids), postgres_cpu()

    start = time.monotonic()
    measure_from, stop_at = start + args.warmup, start + args.warmup + args.duration
    sampled = asyncio.gather(sample_at(measure_from), sample_at(stop_at))
    await asyncio.gather(
        *(
            buyer_loop(Connection(port, token), listing_ids, random.Random(args.seed + i),
                       measure_from, stop_at, samples)
            for i, token in enumerate(tokens)
        )
    )  # fmt: skip
    (cpu_before, db_before), (cpu_after, db_after) = await sampled
    samples.cpu = (cpu_before, cpu_after)
    samples.database_cpu = postgres_cpu_between(db_before, db_after)
    return samples


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_backend(backend: str, args: argparse.Namespace, home: Path) -> dict | None:
    print(f"\n=== {backend} ===", flush=True)
    if backend == "postgresql":
        reason = postgres_unavailable_reason(postgres_admin_url())
        if reason:
            print(f"  SKIPPED PostgreSQL: {reason}")
            return None
    database = BenchDatabase(
        backend, home, sqlite_name="api_checkout.db", pg_database="mercado_bench_checkout"
    )
    database.create()
    server = None
    try:
        started = time.monotonic()
        listing_ids, tokens = seed(database.url, args.listings, args.clients, args.seed)
        print(f"  seeded {len(listing_ids):,} listings and {len(tokens)} buyers in "
              f"{time.monotonic() - started:.1f} s")  # fmt: skip
        os.environ.update({"MERCADO_SECRET_KEY": SECRET, "MERCADO_BACKGROUND_JOBS": "false"})
        server = Server(
            database.url, home, args.workers, home / "bench" / f"checkout-{backend}.log"
        )
        server.wait_ready()
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner, collector_paused():
            samples = runner.run(
                drive(server.port, tokens, listing_ids, args, _process_tree(server.process.pid))
            )
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            database.drop()
    ok = samples.statuses.get(201, 0)
    result = {
        "backend": backend,
        "checkouts_per_s": ok / args.duration,
        "p50_ms": percentile(samples.checkout_ms, 0.50),
        "p90_ms": percentile(samples.checkout_ms, 0.90),
        "p99_ms": percentile(samples.checkout_ms, 0.99),
        "cart_p50_ms": percentile(samples.cart_ms, 0.50),
        "cart_p99_ms": percentile(samples.cart_ms, 0.99),
        "statuses": samples.statuses,
        **cpu_figures(samples, args.duration),
    }
    return result


def cpu_figures(samples: Samples, seconds: float) -> dict[str, float]:
    """Cores busy during the window (server, this client, the whole machine, which takes
    in PostgreSQL's own processes) and server CPU per request (cart and checkout calls)."""
    if samples.cpu is None:
        return {}
    before, after = samples.cpu
    requests = samples.cart_requests + len(samples.checkout_ms)
    server, client, machine = cores_busy(before, after, seconds)
    database = float("nan")
    if samples.database_cpu is not None:
        database = samples.database_cpu / seconds
    return {
        "database_cores": database,
        "database_ms_per_request": 1000 * database * seconds / max(1, requests),
        "server_cores": server,
        "client_cores": client,
        "machine_cores": machine if machine is not None else float("nan"),
        "server_ms_per_request": 1000 * (after.server - before.server) / max(1, requests),
    }


def figures_of(results: list[dict]) -> list[Figure]:
    """The report's records: checkouts/s and checkout p99 per backend (the p99 target is
    PostgreSQL's; SQLite serialises writers by design)."""
    figures = []
    for r in results:
        name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[r["backend"]]
        ok = set(r["statuses"]) <= {201}
        below = CHECKOUT_P99_TARGET_MS if r["backend"] == "postgresql" else None
        figures += [
            measured(f"checkout p99, {name}", r["p99_ms"], "ms", below=below, ok=ok),
            measured(f"checkouts/s, {name}", r["checkouts_per_s"], "checkouts/s", ok=ok),
        ]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--listings", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=32, help="concurrent buyers")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    home = bench_home()
    print(
        f"Mercado checkout benchmark: {args.clients} concurrent buyers, {args.workers} uvicorn "
        f"worker(s), {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    load = machine_load()
    if load is not None:
        print(f"machine load before starting: {load:.2f} of {os.cpu_count()} cores busy")
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    results = [r for r in (bench_backend(b, args, home) for b in backends) if r]
    header = (
        f"{'backend':<11} {'checkouts/s':>11} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'cart p50':>9} {'cart p99':>9}  {'statuses':<24} {'p99 < 150 ms':<13}"
        f"cpu srv/cli/db/all  ms/req srv/db"
    )
    print("\n" + header + "\n" + "-" * len(header))
    nan = float("nan")
    for r in results:
        met = "yes" if r["p99_ms"] < CHECKOUT_P99_TARGET_MS else "NO"
        print(
            f"{r['backend']:<11} {r['checkouts_per_s']:>11,.1f} {r['p50_ms']:>8.1f} "
            f"{r['p90_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['cart_p50_ms']:>9.1f} "
            f"{r['cart_p99_ms']:>9.1f}  {r['statuses']!s:<24} {met:<13}"
            f"{r.get('server_cores', nan):.2f}/{r.get('client_cores', nan):.2f}/"
            f"{r.get('database_cores', nan):.2f}/{r.get('machine_cores', nan):.2f}  "
            f"{r.get('server_ms_per_request', nan):.2f}/{r.get('database_ms_per_request', nan):.2f}"
        )
    print("(the target applies to PostgreSQL; SQLite serialises writers by design)")
    print(
        "cpu = cores busy during the measured window: server processes / this client /"
        " PostgreSQL's processes (PostgreSQL runs only) / whole machine; ms/req = CPU of the"
        " server and of PostgreSQL per cart or checkout call"
    )
    if args.json:
        write_figures(
            args.json, figures_of(results), benchmark="api_checkout", machine_load_before=load,
            settings={k: v for k, v in vars(args).items() if k != "json"}, results=results,
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
