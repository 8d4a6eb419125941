"""Recommendation serving benchmark: ``GET /recommendations`` beside ``GET /listings/{id}``.

For one backend (SQLite by default) this script

1. creates a fresh database with ``--listings`` listings (``bench/api_catalog.py``'s seed)
   and writes a recommender artifact in format v1 over them (``--users`` known devices with
   200 candidates each, similar items and popularity), published as ``LATEST`` in a home
   of its own (``<home>/bench/recs_home``), so the shop's ``var/`` artifacts are untouched;
2. measures the serving path in process: the model's candidates for a user, filtered
   and capped (``ml.serving``) over an in-memory set of the listings on sale, and the shop's
   whole rule (``recommendations.service.for_caller``) with its availability read on the
   database: p50/p99 of a top-10 list;
3. starts the API (``shop_api.serving``, ``--workers``) and drives it with ``--clients``
   keep-alive connections (from wrk when installed, else from this process:
   ``--load-generator``), in ``--rounds`` interleaved rounds: ``GET /listings/{id}``,
   ``GET /recommendations?k=10`` as known devices (``X-Client-Id``), and the similar and
   bought-together lists of listings on sale;
4. prints, per scenario, the medians over rounds of requests/s, latencies and the CPU the
   server's processes (and PostgreSQL's backends) spent per request, against the targets
   (each list at least 80% of the listing page's throughput in the same round, with p99 <
   15 ms; in-process top-10 p99 < 5 ms).

It prints figures and never asserts on them. From the repository root:

    .venv/bin/python bench/recs_api.py [--backend sqlite|postgresql] [--listings 100000]
        [--clients 16] [--rounds 2] [--load-generator auto|wrk|python] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from api_catalog import (
    HOST,
    BenchDatabase,
    ScenarioResult,
    Server,
    bench_home,
    machine_load,
    postgres_admin_url,
    postgres_unavailable_reason,
    read_paths,
    run_scenario,
    seed,
)
from figures import Figure, measured, write_figures
from sqlalchemy import select

from ml.serving import ModelStore, load_version, pick, write_pointer
from shop_api.core.config import Settings, normalise_database_url
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.migrations import upgrade_to_head
from shop_api.models import Listing
from shop_api.recommendations import service

CANDIDATES = 200
SIMILAR = 20
RPS_SHARE_TARGET = 0.8
HTTP_P99_TARGET_MS = 15.0
IN_PROCESS_P99_TARGET_MS = 5.0
PG_RECS_DATABASE = "mercado_bench_recs"
LISTING_PAGE = "GET /listings/{id}"


def write_artifact(
    root: Path, listings: list[tuple[str, str, str]], users: int, seed_value: int
) -> tuple[str, list[str]]:
    """A version over these (id, category, seller) listings; returns it and its user keys."""
    rng = np.random.default_rng(seed_value)
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-bench-{seed_value % 10_000:04d}"
    folder = root / f".tmp-{version}"
    folder.mkdir(parents=True)
    item_ids = [listing_id for listing_id, _, _ in listings]
    n_items = len(item_ids)
    keys = [f"client:bench-{n}" for n in range(users)]
    recs = rng.integers(0, n_items, size=(users, CANDIDATES), dtype=np.int32)
    scores = np.sort(rng.random((users, CANDIDATES), dtype=np.float32), axis=1)[:, ::-1]
    similar = rng.integers(0, n_items, size=(n_items, SIMILAR), dtype=np.int32)
    similar_scores = np.sort(rng.random((n_items, SIMILAR), dtype=np.float32), axis=1)[:, ::-1]
    by_category: dict[str, list[str]] = {}
    for listing_id, category, _ in listings[:5_000]:
        by_category.setdefault(category, []).append(listing_id)
    manifest = {
        "format": 1, "version": version, "model_family": "bench",
        "created_at": datetime.now(UTC).isoformat(), "git_revision": "bench",
        "data_partitions": {}, "config": {}, "candidates_per_user": CANDIDATES,
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "metrics.json").write_text("{}")
    (folder / "id_maps.json").write_text(json.dumps({"users": keys, "items": item_ids}))
    np.savez(folder / "recommendations.npz", items=recs, scores=scores)
    np.savez(folder / "similar.npz", items=similar, scores=similar_scores)
    np.savez(folder / "bought_together.npz", items=similar, lift=similar_scores)
    popularity = {"global": item_ids[:500], "by_category": by_category}
    (folder / "popularity.json").write_text(json.dumps(popularity))
    items = {i: {"category_id": c, "seller_id": s} for i, c, s in listings}
    (folder / "items.json").write_text(json.dumps(items))
    os.replace(folder, root / version)
    write_pointer(root, "LATEST", version)
    return version, keys


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _ms(values: Iterable[float | None]) -> str:
    """The median of per-run CPU figures, or '-' where they were not measured."""
    known = [value for value in values if value is not None]
    return f"{statistics.median(known):.2f}" if known else "-"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def in_process(
    root: Path, version: str, keys: list[str], sellers: dict[str, str], database_url: str,
    samples: int, seed_value: int,
) -> dict[str, float]:  # fmt: skip
    """Top-10 latencies of the serving path, without HTTP."""
    started = time.perf_counter()
    model = load_version(root / version)
    load_seconds = time.perf_counter() - started
    rng = random.Random(seed_value)
    pure: list[float] = []
    for _ in range(samples):
        key = rng.choice(keys)
        began = time.perf_counter()
        candidates = model.for_user(key) or []
        pick(candidates, 10, sellers=sellers, excluded=frozenset(), max_per_seller=3)
        pure.append(time.perf_counter() - began)

    engine = create_db_engine(normalise_database_url(database_url), pool_size=2)
    sessions = create_session_factory(engine)
    settings = Settings(database_url=database_url)
    store = ModelStore(root, background=False)
    popularity = service.ShopPopularity(days=30, ttl_seconds=3600)
    whole: list[float] = []
    with sessions() as session:
        for n in range(samples // 4):
            context = service.Context(settings, store.served(), popularity, datetime.now(UTC))
            caller = service.Caller(None, rng.choice(keys).removeprefix("client:"), True)
            began = time.perf_counter()
            service.for_caller(session, context, caller, 10)
            if n:  # the first one ranks the popularity fallback once
                whole.append(time.perf_counter() - began)
            session.rollback()
    engine.dispose()
    return {
        "load_seconds": load_seconds,
        "pick_p50_ms": 1000 * statistics.median(pure),
        "pick_p99_ms": 1000 * percentile(pure, 0.99),
        "service_p50_ms": 1000 * statistics.median(whole),
        "service_p99_ms": 1000 * percentile(whole, 0.99),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=300)
    parser.add_argument("--users", type=int, default=20_000, help="devices the model knows")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of scenarios")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--samples", type=int, default=4_000, help="in-process top-10 lists")
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="wrk (C, out of this process) or this process's asyncio client; auto: wrk when "
        "installed (make bench installs it)",
    )
    parser.add_argument("--seed", type=int, default=20_261_207)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = bench_home()
    print(
        f"Mercado recommendations benchmark: {args.listings:,} listings, {args.users:,} known "
        f"devices, {args.workers} worker(s), {args.clients} clients, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {args.backend}"
    )
    load = machine_load()
    if load is not None:
        print(f"machine load before starting: {load:.2f} of {os.cpu_count()} cores busy")
    if args.backend == "postgresql":
        reason = postgres_unavailable_reason(postgres_admin_url())
        if reason:
            print(f"SKIPPED: {reason}")
            return 0
    database = BenchDatabase(
        args.backend, home, sqlite_name="recs_api.db", pg_database=PG_RECS_DATABASE
    )
    database.create()
    serve_home = home / "bench" / "recs_home"
    shutil.rmtree(serve_home, ignore_errors=True)
    root = serve_home / "artifacts" / "recommender"
    server = None
    try:
        upgrade_to_head(database.url)
        engine = create_db_engine(normalise_database_url(database.url), pool_size=2)
        catalogue = seed(
            engine, listings=args.listings, sellers=args.sellers, batch_size=5_000,
            seed_value=args.seed,
        )  # fmt: skip
        with engine.connect() as connection:
            rows = connection.execute(
                select(Listing.id, Listing.category_id, Listing.seller_id).where(
                    Listing.status == "active", Listing.stock > 0
                )
            ).all()
        engine.dispose()
        listings = [(str(i), str(c), str(s)) for i, c, s in rows]
        print(f"  seeded in {catalogue.seconds:.1f} s: {len(listings):,} listings on sale")
        version, keys = write_artifact(root, listings, args.users, args.seed)
        figures = in_process(
            root, version, keys, {i: s for i, _, s in listings}, database.url, args.samples,
            args.seed,
        )  # fmt: skip
        print(
            f"  in process ({len(listings):,} listings): version loads in "
            f"{figures['load_seconds']:.2f} s; top-10 from candidates + filters "
            f"p50 {figures['pick_p50_ms']:.3f} ms, p99 {figures['pick_p99_ms']:.3f} ms "
            f"(target < {IN_PROCESS_P99_TARGET_MS:.0f} ms); with the database's availability "
            f"read (service.for_caller) p50 {figures['service_p50_ms']:.2f} ms, "
            f"p99 {figures['service_p99_ms']:.2f} ms",
            flush=True,
        )

        rng = random.Random(args.seed)
        server = Server(database.url, serve_home, args.workers, serve_home / "uvicorn.log")
        server.wait_ready()
        common = dict(
            clients=args.clients, warmup=args.warmup, duration=args.duration,
            seed_value=args.seed, with_target=False, load_generator=args.load_generator,
            database=database.pg_database if args.backend == "postgresql" else None,
        )  # fmt: skip
        on_sale = [listing_id for listing_id, _, _ in listings]
        devices = [rng.choice(keys).removeprefix("client:") for _ in range(5_000)]
        scenarios: dict[str, tuple[list[str], list[str] | None]] = {
            LISTING_PAGE: (read_paths(rng, catalogue.active_ids, 5_000), None),
            "GET /recommendations?k=10": (
                ["/recommendations?k=10"] * len(devices),
                [f"X-Client-Id: {device}\r\n" for device in devices],
            ),
            "GET /listings/{id}/similar": (
                [f"/listings/{i}/similar?k=10" for i in rng.sample(on_sale, 5_000)],
                None,
            ),
            "GET .../bought-together": (
                [f"/listings/{i}/bought-together?k=10" for i in rng.sample(on_sale, 5_000)],
                None,
            ),
        }
        # Rounds interleave the scenarios, so that a change of the machine's load (it is
        # shared) weighs on all of them alike.
        results: dict[str, list[ScenarioResult]] = {label: [] for label in scenarios}
        for _ in range(args.rounds):
            for label, (paths, headers) in scenarios.items():
                results[label].append(
                    run_scenario(args.backend, label, server, paths, headers=headers, **common)
                )
        generator = results[LISTING_PAGE][0].load_generator
        load_from = "wrk" if generator == "wrk" else "this process's asyncio client"
        print(f"\n  uvicorn on {HOST}:{server.port}, {args.workers} worker(s), {args.rounds} "
              f"interleaved round(s), load from {load_from}; medians over rounds")  # fmt: skip
        print(
            f"  {'scenario':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
            f"{'server CPU ms/req':>18} {'db CPU ms/req':>14} {'client cores':>13}"
        )
        for label, runs in results.items():
            print(
                f"  {label:<28} {_median(r.requests_per_s for r in runs):>8,.0f} "
                f"{_median(r.p50_ms for r in runs):>8.1f} {_median(r.p99_ms for r in runs):>8.1f} "
                f"{sum(r.errors for r in runs):>7} "
                f"{_ms(r.server_cpu_ms_per_request for r in runs):>18} "
                f"{_ms(r.database_cpu_ms_per_request for r in runs):>14} "
                f"{_ms(r.cpu_cores_client for r in runs):>13}"
            )
        backend = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[args.backend]
        page = results[LISTING_PAGE]
        report: list[Figure] = [
            measured(
                f"in-process top-10 p99 (candidates + filters), {len(listings):,} listings",
                figures["pick_p99_ms"], "ms", below=IN_PROCESS_P99_TARGET_MS,
            ),
            measured(f"in-process for_caller p99, {backend}", figures["service_p99_ms"], "ms"),
            measured(
                f"{LISTING_PAGE} requests/s, {backend}, {args.clients} clients",
                _median(r.requests_per_s for r in page), "req/s",
                ok=not any(r.errors for r in page),
            ),
        ]  # fmt: skip
        for label, runs in results.items():
            if label == LISTING_PAGE:
                continue
            share = _median(
                r.requests_per_s / p.requests_per_s if p.requests_per_s else 0.0
                for r, p in zip(runs, page, strict=True)
            )
            p99 = _median(r.p99_ms for r in runs)
            print(
                f"  {label}: throughput {share:.0%} of the listing page's in the same round "
                f"(target >= {RPS_SHARE_TARGET:.0%}: {'yes' if share >= RPS_SHARE_TARGET else 'NO'}"
                f"); p99 {p99:.1f} ms (target < {HTTP_P99_TARGET_MS:.0f} ms: "
                f"{'yes' if p99 < HTTP_P99_TARGET_MS else 'NO'})"
            )
            ok = not any(r.errors for r in runs)
            report += [
                measured(
                    f"{label} throughput, share of the listing page's, {backend}", 100 * share,
                    "%", at_least=100 * RPS_SHARE_TARGET, ok=ok,
                ),
                measured(
                    f"{label} p99, {backend}, {args.clients} clients", p99, "ms",
                    below=HTTP_P99_TARGET_MS, ok=ok,
                ),
            ]  # fmt: skip
        met_pure = "yes" if figures["pick_p99_ms"] < IN_PROCESS_P99_TARGET_MS else "NO"
        print(
            f"  in-process top-10 p99 {figures['pick_p99_ms']:.3f} ms "
            f"(target < {IN_PROCESS_P99_TARGET_MS:.0f} ms: {met_pure})"
        )
        after = machine_load()
        if after is not None:
            print(f"  machine load after the run: {after:.2f} of {os.cpu_count()} cores busy")
        if load is not None and load > 0.25 * (os.cpu_count() or 1):
            print("  (the machine was busy before the run: figures are lower bounds)")
        if args.json:
            write_figures(
                args.json, report, benchmark="recs_api", machine_load_before=load,
                machine_load_after=after, in_process=figures, load_generator=generator,
                settings={k: v for k, v in vars(args).items() if k != "json"},
            )  # fmt: skip
    finally:
        if server is not None:
            server.stop()
        database.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
