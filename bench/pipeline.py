"""Warehouse pipeline benchmark: wall time and peak memory of a full build and an hourly run.

What is measured, through the project's own entry point
(``orchestration.pipeline.run_pipeline``, the function behind ``mercado pipeline run``):

1. **full build** at each of ``--sizes`` (default 1M, 5M and 20M clickstream events): an
   empty warehouse, every raw load (all event partitions, the quarantine, every shop
   table with ``full_refresh``) and ``dbt build`` of every model and test, as
   ``mercado pipeline run --full-refresh`` does;
2. **hourly run** on top of each size: one new hour of events lands as a new file in
   today's partition, then the hourly job's scope (every ``raw``/``staging``/
   ``intermediate``/``marts`` asset, shop tables incremental) runs for the window
   yesterday..today, as ``hourly_refresh_schedule`` asks: the two event partitions are
   reloaded and the incremental dbt models rebuild those two dates.

Each measurement runs in a fresh child process (this script with ``--worker``) so that
memory figures are that run's alone. Wall time is the ``run_pipeline`` call (the dbt
manifest is parsed beforehand, as a Dagster code location has it; the parse time is
printed apart), with each step's seconds and, for dbt steps, dbt's own run time (the rest
is starting dbt and streaming its events into Dagster). Peak memory: the peak of the
*sum* of the resident sets of the process tree (the Python process running Dagster and
the DuckDB loads, plus the dbt subprocess), sampled from ``/proc`` every 0.1 s; the
Python process's own peak (``getrusage(RUSAGE_SELF).ru_maxrss`` in the child, exact);
and the sampled peak of its subprocesses (dbt; ``RUSAGE_CHILDREN`` cannot tell it: a
forked child inherits its parent's peak). CPU seconds are the child's and its
subprocesses' (``os.wait4``). The machine load is printed before each measurement: the
machine is shared, so compare figures with it in mind.

Data: the landing zone is generated directly (not through ``/collect``), in the lake's
own layout and format (``lake/events/dt=YYYY-MM-DD/part-*.jsonl``, one compact JSON event
v1 per line with ``received_at`` and ``schema_version`` added, as
``shop_api.tracking.lake`` writes them): sessions of devices with page views, promotions,
category and search lists, item views, recommendation lists, carts, checkouts and
server-side purchases, over the users and listings of a small shop database made by
``mercado simulate``. Traffic is ``--events-per-day`` (default 40,000) with a daily
curve, in one file per hour; a size is the last N/rate days before the bench's "today"
plus today's first 12 hours, so larger sizes are the same recent days with a longer
history (1M = 25 days, 5M = 125 days, 20M = 500 days) and the hourly run's new data (hour
12 of today) is the same for every size: its cost should follow the new data, not the
history. Days are generated in parallel (``nice``), once, under
``$MERCADO_HOME/bench/pipeline/``; each size's lake is a tree of symlinks to them.
Generation time is printed but not part of the figures. ``--keep`` keeps the data (and
the warehouses) and later runs reuse it.

Targets: full build of 5M events < 3 minutes on 2 cores; hourly run on 20M history
< 2x the hourly run on 1M history. The script prints figures and never asserts on them:

    .venv/bin/python bench/pipeline.py                          # 1m,5m,20m
    .venv/bin/python bench/pipeline.py --sizes 100k --keep      # quick check
    .venv/bin/python bench/pipeline.py --sizes 1m,5m --json var/bench/pipeline.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from api_catalog import _process_tree, machine_load
from figures import Figure, measured, write_figures
from pydantic_core import to_json

ROOT = Path(__file__).resolve().parents[1]
# The project's packages before this folder (first on sys.path when run as a script): the
# worker's raw loads import the ``audiences`` package, which ``audiences.py`` here hides.
sys.path.insert(0, str(ROOT))
# The bench's "today": history ends at NEW_HOUR on this day, the new hour is NEW_HOUR.
TODAY = date(2026, 6, 30)
NEW_HOUR = 12
GENERATOR_VERSION = 1
SHOP_SHOPPERS = 300
SHOP_DAYS = 7
TARGET_FULL_EVENTS = 5_000_000
TARGET_FULL_SECONDS = 180.0
TARGET_HOURLY_RATIO = 2.0
SAMPLE_SECONDS = 0.1
# Warehouse engines (MERCADO_WAREHOUSE); DuckDB's figures keep their names without one.
ENGINES = ("duckdb", "spark")
# Share of a day's traffic per UTC hour (a marketplace's evening-heavy curve).
HOUR_WEIGHTS = [
    0.45, 0.3, 0.2, 0.15, 0.15, 0.2, 0.35, 0.6, 0.85, 1.0, 1.1, 1.2,
    1.3, 1.3, 1.25, 1.2, 1.2, 1.3, 1.45, 1.6, 1.65, 1.5, 1.1, 0.7,
]  # fmt: skip
WEEKDAY_FACTOR = [0.95, 0.95, 0.97, 1.0, 1.05, 1.08, 1.0]

SITE = "https://shop.mercado.example"
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile",
]
LOCALES = ["pt-BR", "pt-BR", "es-AR", "es-MX", "en-US", None]
CAMPAIGNS = [
    ("newsletter", "email", "june-deals"),
    ("google", "cpc", "brand"),
    ("instagram", "social", "summer"),
    ("affiliate", "referral", "partners"),
]
REFERRERS = [None, "https://www.google.com/", "https://www.instagram.com/", None]
TERMS = [
    "camera", "vintage lens", "laptop 16gb", "usb c cable", "running shoes", "desk lamp",
    "ceramic mug", "wireless powerbank", "stapler", "planner", "trail suede", "office chair",
    "perfume", "yoga mat", "headphones", "backpack", "kids toys", "zzqx unobtainium",
]  # fmt: skip
RECS_VERSIONS = ["recs:als-v3", "recs:als-v4", "recs:popular-v1"]
SERVER_CONTEXT = {
    "user_agent": None,
    "locale": None,
    "utm_source": None,
    "utm_medium": None,
    "utm_campaign": None,
    "source": "server",
}


# --------------------------------------------------------------------------------------
# Sizes, days and disk
# --------------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    return int(float(number) * scale)


def size_label(events: int) -> str:
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1_000 and events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


def history_days(events: int, per_day: int) -> int:
    """Whole days before TODAY in a history of ``events`` (today's first half counts half)."""
    return max(1, round(events / per_day - 0.5))


def days_for(events: int, per_day: int) -> list[date]:
    """Every day the lake of this size holds, oldest first, ending with TODAY."""
    whole = history_days(events, per_day)
    return [TODAY - timedelta(days=n) for n in range(whole, -1, -1)]


def free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


# --------------------------------------------------------------------------------------
# The shop database (users and listings the events refer to)
# --------------------------------------------------------------------------------------


def _dashed(value: str) -> str:
    return str(uuid.UUID(hex=value))


def make_shop(shop_home: Path) -> float:
    """Simulate a small shop (``mercado simulate``) whose users and listings events use."""
    started = time.perf_counter()
    if shop_home.exists():
        shutil.rmtree(shop_home)
    start = TODAY - timedelta(days=SHOP_DAYS)
    command = [
        "nice", "-n", "10", str(Path(sys.executable).parent / "mercado"), "simulate",
        "--shoppers", str(SHOP_SHOPPERS), "--days", str(SHOP_DAYS),
        "--start", start.isoformat(), "--home", str(shop_home),
    ]  # fmt: skip
    log = shop_home.with_suffix(".log")
    with log.open("w") as out:
        subprocess.run(command, check=True, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    # The simulator's own clickstream is not part of the bench's lake.
    shutil.rmtree(shop_home / "lake", ignore_errors=True)
    return time.perf_counter() - started


def read_catalogue(shop_db: Path) -> dict[str, Any]:
    """Shoppers and active listings of the shop database, as events carry them."""
    conn = sqlite3.connect(f"file:{shop_db}?mode=ro", uri=True)
    try:
        users = [_dashed(r[0]) for r in conn.execute("select id from users where role='shopper'")]
        listings = [
            {
                "item_id": _dashed(lid),
                "item_name": title,
                "item_category": _dashed(category),
                "price": price / 100,
                "quantity": None,
                "index": None,
                "seller_id": _dashed(seller),
            }
            for lid, title, category, price, seller in conn.execute(
                "select l.id, l.title, l.category_id, l.price_minor, l.seller_id "
                "from listings l where l.status = 'active' order by l.id"
            )
        ]
        categories = dict(
            (_dashed(cid), slug) for cid, slug in conn.execute("select id, slug from categories")
        )
    finally:
        conn.close()
    return {"users": users, "listings": listings, "categories": categories}


# --------------------------------------------------------------------------------------
# Event generator (one process per day, in a nice'd pool)
# --------------------------------------------------------------------------------------

_CATALOGUE: dict[str, Any] = {}


def _init_generator(catalogue: dict[str, Any], seed: int) -> None:
    with contextlib.suppress(OSError):
        os.nice(10)
    rng = random.Random(seed)
    users = catalogue["users"]
    devices = []
    for _ in range(max(2_000, 150 * len(users))):
        devices.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                rng.choice(AGENTS),
                rng.choice(LOCALES),
                rng.choice(users) if users and rng.random() < 0.3 else None,
            )
        )
    by_category: dict[str, list[dict[str, Any]]] = {}
    for item in catalogue["listings"]:
        by_category.setdefault(item["item_category"], []).append(item)
    _CATALOGUE.clear()
    _CATALOGUE.update(catalogue, devices=devices, by_category=by_category)


_MINUTES = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(1440)]


def _ts(day: str, seconds: float, suffix: str) -> str:
    whole = int(seconds)
    micros = int((seconds - whole) * 1_000_000)
    return f"{day}T{_MINUTES[whole // 60]}{whole % 60:02d}.{micros:06d}{suffix}"


def _uuid4(rng: random.Random) -> str:
    """A random version-4 UUID string (what ``uuid.uuid4`` gives, from ``rng``)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


class _Session:
    """Builds one device session's events: (second of day, event) pairs."""

    def __init__(self, rng: random.Random, day: str, start: float) -> None:
        self.rng = rng
        self.day = day
        self.clock = start
        client_id, agent, locale, user_id = rng.choice(_CATALOGUE["devices"])
        self.client_id = client_id
        self.user_id = user_id if rng.random() < 0.7 else None
        self.session_id = f"{rng.getrandbits(64):016x}"
        source, medium, campaign = (
            rng.choice(CAMPAIGNS) if rng.random() < 0.3 else (None, None, None)
        )
        self.context = {
            "user_agent": agent,
            "locale": locale,
            "utm_source": source,
            "utm_medium": medium,
            "utm_campaign": campaign,
        }
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.page: dict[str, Any] | None = None
        self.cart: list[dict[str, Any]] = []

    def _id(self) -> str:
        return _uuid4(self.rng)

    def emit(
        self,
        name: str,
        params: dict[str, Any] | None = None,
        items: list[dict[str, Any]] | None = None,
        *,
        server: bool = False,
        client_id: str | None = None,
        event_id: str | None = None,
    ) -> None:
        self.clock += self.rng.expovariate(1 / 25)
        if self.clock >= 86_399:
            return
        self.events.append(
            (
                self.clock,
                {
                    "event_id": event_id or self._id(),
                    "event_name": name,
                    "event_time": _ts(self.day, self.clock, "Z"),
                    "client_id": client_id or self.client_id,
                    "user_id": self.user_id,
                    "session_id": None if client_id else self.session_id,
                    "page": None if server else self.page,
                    "params": params or {},
                    "items": items or [],
                    "context": SERVER_CONTEXT if server else self.context,
                    "extra": {},
                },
            )
        )

    def goto(self, path: str, title: str) -> None:
        referrer = self.page["url"] if self.page else self.rng.choice(REFERRERS)
        self.page = {"url": SITE + path, "referrer": referrer, "title": title}
        self.emit("page_view")

    def items(self, pool: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
        chosen = self.rng.sample(pool, min(count, len(pool)))
        return [{**item, "index": n} for n, item in enumerate(chosen)]

    def run(self) -> None:
        rng = self.rng
        listings = _CATALOGUE["listings"]
        categories = _CATALOGUE["categories"]
        by_category = _CATALOGUE["by_category"]
        if self.user_id and rng.random() < 0.1:
            self.emit("login", {"method": "password"}, server=True)
        self.goto("/", "Mercado")
        if rng.random() < 0.3:
            self.emit(
                "view_promotion",
                {"promotion_id": "june-deals", "promotion_name": "june-deals: home",
                 "creative_slot": "home_banner", "location_id": "home"},
            )  # fmt: skip
        for _ in range(rng.randint(1, 9)):
            action = rng.random()
            if action < 0.35:  # browse a category
                category = rng.choice(list(by_category))
                slug = categories.get(category, "all")
                self.goto(f"/c/{slug}", f"{slug} | Mercado")
                shown = self.items(by_category[category], rng.randint(2, 7))
                list_params = {"item_list_id": f"category:{slug}", "item_list_name": slug}
                self.emit("view_item_list", list_params, shown)
            elif action < 0.55:  # search
                term = rng.choice(TERMS)
                self.goto(f"/search?q={term.replace(' ', '+')}", f"{term} | Mercado")
                shown = [] if term.startswith("zz") else self.items(listings, rng.randint(0, 6))
                self.emit("search", {"search_term": term, "result_count": len(shown)})
                list_params = {"item_list_id": "search", "item_list_name": term}
                if shown:
                    self.emit("view_item_list", list_params, shown)
            elif action < 0.65:  # recommendations
                shown = self.items(listings, 4)
                list_params = {"list_id": rng.choice(RECS_VERSIONS), "list_name": "For you"}
                self.emit("view_item_list", list_params, shown)
            else:
                continue
            if not shown or rng.random() < 0.35:
                continue
            item = rng.choice(shown)
            self.emit("select_item", list_params, [item])
            self.goto(f"/listings/{item['item_id']}", item["item_name"])
            self.emit("view_item", {"value": item["price"], "currency": "USD"}, [item])
            if rng.random() < 0.18:
                line = {**item, "quantity": rng.randint(1, 2), "index": None}
                value = round(line["price"] * line["quantity"], 2)
                self.emit("add_to_cart", {"currency": "USD", "value": value}, [line], server=True)
                self.cart.append(line)
        if not self.cart:
            return
        value = round(sum(line["price"] * line["quantity"] for line in self.cart), 2)
        self.goto("/cart", "Your cart")
        self.emit("view_cart", {"value": value, "currency": "USD"}, self.cart)
        if rng.random() < 0.45:
            return
        transaction = self._id()
        paid = {"transaction_id": transaction, "value": value, "currency": "USD"}
        self.emit("begin_checkout", {**paid, "coupon": None}, self.cart, server=True)
        self.goto("/checkout", "Checkout")
        self.emit("add_payment_info", {"payment_type": "card", **paid}, self.cart)
        if rng.random() < 0.85:
            server_client = f"srv-{rng.getrandbits(128):032x}"
            receipt = {**paid, "tax": 0.0, "shipping": 0.0, "coupon": None}
            self.emit("purchase", receipt, self.cart, server=True, client_id=server_client)


def generate_day(job: tuple[str, int, int, str]) -> dict[str, Any]:
    """Write one day's events (one file per hour) and return its manifest."""
    day, per_day, seed, out_dir = job
    when = date.fromisoformat(day)
    rng = random.Random(f"{seed}:{day}")
    target = int(per_day * WEEKDAY_FACTOR[when.weekday()] * rng.uniform(0.95, 1.05))
    hours: list[list[str]] = [[] for _ in range(24)]
    total = 0
    while total < target:
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        session = _Session(rng, day, hour * 3600 + rng.uniform(0, 3599))
        session.run()
        for seconds, event in session.events:
            event["received_at"] = _ts(day, min(seconds + rng.uniform(0.2, 3), 86_399.9), "+00:00")
            event["schema_version"] = 1
            hours[int(seconds) // 3600].append(to_json(event).decode())
        total += len(session.events)
    final = Path(out_dir) / f"dt={day}"
    staging = Path(out_dir) / f".tmp-dt={day}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = []
    size = 0
    stamp = day.replace("-", "")
    for hour, lines in enumerate(hours):
        if not lines:
            continue
        tag = hashlib.sha1(f"{seed}:{day}:{hour}".encode()).hexdigest()[:12]
        name = f"part-{stamp}T{hour:02d}5959000000-{tag}.jsonl"
        data = ("\n".join(lines) + "\n").encode()
        (staging / name).write_bytes(data)
        size += len(data)
        files.append({"hour": hour, "name": name, "events": len(lines), "bytes": len(data)})
    manifest = {
        "version": GENERATOR_VERSION,
        "per_day": per_day,
        "seed": seed,
        "day": day,
        "events": total,
        "bytes": size,
        "files": files,
    }
    (staging / "_bench.json").write_text(json.dumps(manifest))
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return manifest


def cached_manifest(data_dir: Path, day: date, per_day: int, seed: int) -> dict[str, Any] | None:
    path = data_dir / f"dt={day.isoformat()}" / "_bench.json"
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads(path.read_text())
        if (manifest["version"], manifest["per_day"], manifest["seed"]) == (
            GENERATOR_VERSION,
            per_day,
            seed,
        ):
            return manifest
    return None


@dataclass
class Generation:
    days_generated: int = 0
    days_cached: int = 0
    events_generated: int = 0
    bytes_generated: int = 0
    seconds: float = 0.0


def ensure_days(
    data_dir: Path, days: list[date], catalogue: dict[str, Any], args: argparse.Namespace
) -> tuple[dict[str, dict[str, Any]], Generation]:
    """Manifests of ``days``, generating the ones not cached yet."""
    started = time.perf_counter()
    stats = Generation()
    manifests: dict[str, dict[str, Any]] = {}
    missing = []
    for day in days:
        manifest = cached_manifest(data_dir, day, args.events_per_day, args.seed)
        if manifest is None:
            missing.append(day.isoformat())
        else:
            manifests[day.isoformat()] = manifest
            stats.days_cached += 1
    if missing:
        data_dir.mkdir(parents=True, exist_ok=True)
        jobs = [(day, args.events_per_day, args.seed, str(data_dir)) for day in missing]
        context = multiprocessing.get_context("fork")
        with context.Pool(
            args.processes, initializer=_init_generator, initargs=(catalogue, args.seed)
        ) as pool:
            for n, manifest in enumerate(pool.imap_unordered(generate_day, jobs), 1):
                manifests[manifest["day"]] = manifest
                stats.days_generated += 1
                stats.events_generated += manifest["events"]
                stats.bytes_generated += manifest["bytes"]
                if n % 25 == 0 or n == len(jobs):
                    rate = stats.events_generated / (time.perf_counter() - started)
                    print(
                        f"    generated {n}/{len(jobs)} days, {stats.events_generated:,} "
                        f"events, {stats.bytes_generated / 1e9:.2f} GB ({rate:,.0f} events/s)",
                        flush=True,
                    )
    stats.seconds = time.perf_counter() - started
    return manifests, stats


# --------------------------------------------------------------------------------------
# One size's lake (symlinks to the generated days) and the new hour
# --------------------------------------------------------------------------------------


def build_lake(
    home: Path, data_dir: Path, days: list[date], manifests: dict[str, dict[str, Any]]
) -> tuple[int, int]:
    """Link the history into ``home/lake``: whole days, then today's hours before NEW_HOUR."""
    lake = home / "lake" / "events"
    shutil.rmtree(lake, ignore_errors=True)
    events = size = 0
    for day in days:
        key = day.isoformat()
        folder = lake / f"dt={key}"
        folder.mkdir(parents=True)
        for entry in manifests[key]["files"]:
            if day == TODAY and entry["hour"] >= NEW_HOUR:
                continue
            (folder / entry["name"]).symlink_to(data_dir / f"dt={key}" / entry["name"])
            events += entry["events"]
            size += entry["bytes"]
    return events, size


def hour_events(manifest: dict[str, Any]) -> int:
    """Events of today's NEW_HOUR file (what the hourly run adds)."""
    return int(next(e for e in manifest["files"] if e["hour"] == NEW_HOUR)["events"])


def land_new_hour(home: Path, data_dir: Path, manifest: dict[str, Any]) -> tuple[int, int]:
    """Copy today's NEW_HOUR file into the lake (a real new file: the partition is stale)."""
    entry = next(e for e in manifest["files"] if e["hour"] == NEW_HOUR)
    key = TODAY.isoformat()
    target = home / "lake" / "events" / f"dt={key}" / entry["name"]
    tmp = target.with_name(".tmp-" + entry["name"])
    shutil.copyfile(data_dir / f"dt={key}" / entry["name"], tmp)
    tmp.rename(target)
    return entry["events"], entry["bytes"]


# --------------------------------------------------------------------------------------
# Measurement: a child process runs the pipeline; this one samples its memory
# --------------------------------------------------------------------------------------


@dataclass
class Measurement:
    kind: str  # "full" or "hourly"
    engine: str  # the warehouse engine (MERCADO_WAREHOUSE)
    size: str
    history_events: int
    new_events: int
    seconds: float
    process_seconds: float
    parse_seconds: float
    success: bool
    peak_tree_rss_mb: float
    python_rss_mb: float
    dbt_rss_mb: float
    cpu_seconds: float
    machine_load_before: float | None
    events_in_warehouse: int
    warehouse_mb: float
    assets: int
    checks_passed: int
    checks_failed: list[str] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    # rows of each marts.* table once the run is done (the engines' builds compared)
    mart_rows: dict[str, int] = field(default_factory=dict)


def _tree_rss(root: int) -> tuple[int, int]:
    """(whole tree, descendants only) resident bytes of ``root``'s process tree now."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = own = 0
    for pid in _process_tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            total += rss
            own += rss if pid == root else 0
    return total, total - own


def mem_available() -> int | None:
    """The machine's ``MemAvailable`` in bytes (None where /proc/meminfo is missing)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _seconds(text: str) -> float:
    """Dagster's step durations: ``94ms``, ``2.15s``, ``1m53s``."""
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    minutes, _, rest = text.rpartition("m")
    return float(minutes or 0) * 60 + float(rest.rstrip("s") or 0)


STEP_START = re.compile(r'STEP_START - Started execution of step "([^"]+)"')
STEP_DONE = re.compile(r'STEP_SUCCESS - Finished execution of step "([^"]+)" in ([0-9.ms]+)\.')
DBT_DONE = re.compile(r"Finished running (.*) in .*\(([0-9.]+)s\)")


def step_breakdown(log: Path) -> list[dict[str, Any]]:
    """Each step's seconds from the run log, with dbt's own time for dbt steps."""
    steps: dict[str, dict[str, Any]] = {}
    current = None
    with contextlib.suppress(OSError), log.open(errors="replace") as handle:
        for line in handle:
            if match := STEP_START.search(line):
                current = steps.setdefault(match[1], {"step": match[1]})
            elif (match := DBT_DONE.search(line)) and current is not None:
                current["dbt_seconds"] = float(match[2])
                current["dbt_ran"] = match[1].strip()
            elif match := STEP_DONE.search(line):
                steps.setdefault(match[1], {"step": match[1]})["seconds"] = _seconds(match[2])
    return list(steps.values())


def measure(
    kind: str,
    label: str,
    home: Path,
    shop_db: Path,
    days: list[str],
    history_events: int,
    new_events: int,
    min_available: int,
    quality: bool = True,
    engine: str = "duckdb",
) -> Measurement:
    """One ``--worker`` run on ``engine``, its warehouse (and Spark's folder) under ``home``."""
    load = machine_load(1.0)
    print(
        f"  [{with_engine(f'{label} {kind}', engine)}] machine load before starting: "
        f"{'n/a' if load is None else f'{load:.2f} cores busy'}",
        flush=True,
    )
    out = home / f"result-{kind}.json"
    out.unlink(missing_ok=True)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MERCADO_HOME": str(home),
        "MERCADO_WAREHOUSE_PATH": str(home / "warehouse.duckdb"),
        "MERCADO_DATABASE_URL": f"sqlite:///{shop_db}",
        "MERCADO_WAREHOUSE": engine,
        "MERCADO_SPARK_DIR": str(home / "spark"),
    }
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", kind,
        "--worker-days", ",".join(days), "--worker-out", str(out),
        *([] if quality else ["--worker-no-quality"]),
    ]  # fmt: skip
    peak = peak_children = 0
    aborted = ""
    started = time.perf_counter()
    with (logs / f"{kind}.log").open("w") as log:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_children, aborted
            while not done.is_set():
                total, children = _tree_rss(child.pid)
                peak, peak_children = max(peak, total), max(peak_children, children)
                available = mem_available()
                if available is not None and available < min_available and not aborted:
                    # Protect the other processes of a shared machine: stop this run's
                    # processes (the worker and its dbt), by pid.
                    aborted = f"aborted: machine MemAvailable {available / 2**20:,.0f} MB"
                    for pid in reversed(_process_tree(child.pid)):
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    process_seconds = time.perf_counter() - started
    try:
        result = json.loads(out.read_text())
    except (OSError, ValueError):
        result = {
            "success": False,
            "failed_steps": [aborted or f"worker exited {child.returncode}"],
        }
    warehouse = home / "warehouse.duckdb"
    # on Spark the warehouse is the DuckDB file (raw tables, views) and Spark's Parquet
    stored = [warehouse] if warehouse.exists() else []
    stored += [f for f in (home / "spark").rglob("*") if f.is_file()]
    return Measurement(
        kind=kind,
        engine=engine,
        size=label,
        history_events=history_events,
        new_events=new_events,
        seconds=result.get("seconds", float("nan")),
        process_seconds=round(process_seconds, 1),
        parse_seconds=result.get("parse_seconds", float("nan")),
        success=bool(result.get("success")) and child.returncode == 0,
        peak_tree_rss_mb=round(peak / 2**20, 1),
        python_rss_mb=round(result.get("python_maxrss_kb", 0) / 1024, 1),
        dbt_rss_mb=round(peak_children / 2**20, 1),
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 1),
        machine_load_before=None if load is None else round(load, 2),
        events_in_warehouse=result.get("events_in_warehouse", 0),
        warehouse_mb=round(sum(f.stat().st_size for f in stored) / 2**20, 1),
        assets=result.get("assets", 0),
        checks_passed=result.get("checks_passed", 0),
        checks_failed=result.get("checks_failed", []),
        failed_steps=result.get("failed_steps", []),
        steps=step_breakdown(logs / f"{kind}.log"),
        mart_rows=result.get("mart_rows", {}),
    )


def not_measured(
    kind: str, engine: str, label: str, history_events: int, new_events: int, reason: str
) -> Measurement:
    """The record of a run that could not start (the engine is not installed here)."""
    nan = float("nan")
    return Measurement(
        kind=kind, engine=engine, size=label, history_events=history_events,
        new_events=new_events, seconds=nan, process_seconds=nan, parse_seconds=nan,
        success=False, peak_tree_rss_mb=nan, python_rss_mb=nan, dbt_rss_mb=nan,
        cpu_seconds=nan, machine_load_before=None, events_in_warehouse=0, warehouse_mb=0.0,
        assets=0, checks_passed=0, failed_steps=[f"not measured: {reason}"],
    )  # fmt: skip


def with_engine(text: str, engine: str) -> str:
    """A run's or figure's name: DuckDB's as before engines were compared, others' suffixed."""
    return text if engine == "duckdb" else f"{text}, {engine}"


def engine_missing(engine: str) -> str | None:
    """Why ``engine``'s worker cannot run on this machine (None: it can)."""
    if engine != "spark":
        return None
    missing = [
        f"the {module} package (make install-spark)"
        for module in ("pyspark", "dbt.adapters.spark")
        if importlib.util.find_spec(module) is None
    ]
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        missing.append("Java (make java)")
    return "Spark needs " + " and ".join(missing) if missing else None


# The steps of the quality checks (orchestration/defs/quality/checks.py).
QUALITY_STEPS = frozenset(
    {
        "raw__events_conforms_to_contract",
        "raw__events_volume_normal",
        "shop_tables_conform",
        "fct_orders_quality",
    }
)


def compare_quality(
    rounds: int,
    label: str,
    home: Path,
    shop_db: Path,
    events: int,
    min_available: int,
    engine: str = "duckdb",
) -> None:
    """Full builds with and without the quality checks (defs/quality), in turns (the
    order alternates each round, so a machine getting busier does not favour either)."""
    seconds: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    in_checks: list[float] = []
    for number in range(rounds):
        for quality in (False, True) if number % 2 == 0 else (True, False):
            for stale in home.glob("warehouse.duckdb*"):  # an empty warehouse each time
                if stale.is_dir():
                    shutil.rmtree(stale)
                else:
                    stale.unlink()
            shutil.rmtree(home / "quality", ignore_errors=True)
            shutil.rmtree(home / "spark", ignore_errors=True)
            m = measure(
                "full", label, home, shop_db, [], events, events, min_available, quality, engine
            )
            state = "ok" if m.success else f"FAILED {m.failed_steps}"
            print(
                f"    full build, quality checks {'on ' if quality else 'off'}: "
                f"{m.seconds:.1f} s, {m.cpu_seconds:.0f} CPU s, {state}\n"
                f"      steps (s): {describe_steps(m)}",
                flush=True,
            )
            seconds[quality].append(m.seconds)
            cpu[quality].append(m.cpu_seconds)
            if quality:
                in_checks.append(
                    sum(s.get("seconds", 0.0) for s in m.steps if s["step"] in QUALITY_STEPS)
                )
    off, on = (statistics.median(seconds[q]) for q in (False, True))
    cpu_off, cpu_on = (statistics.median(cpu[q]) for q in (False, True))
    steps = statistics.median(in_checks)
    print(
        f"  {with_engine(label, engine)} full build, median of {rounds}: quality checks off "
        f"{off:.1f} s, on {on:.1f} s ({(on - off) / off:+.1%}); CPU off {cpu_off:.0f} s, on "
        f"{cpu_on:.0f} s ({(cpu_on - cpu_off) / cpu_off:+.1%}); the quality steps themselves "
        f"{steps:.1f} s ({steps / on:.1%} of the run with them); target < +15%",
        flush=True,
    )


def measure_size(
    engine: str,
    label: str,
    home: Path,
    data_dir: Path,
    shop_db: Path,
    manifests: dict[str, dict[str, Any]],
    history: int,
    args: argparse.Namespace,
) -> list[Measurement]:
    """The full build of one size on ``engine``, then (unless ``--no-hourly``) its hourly run."""
    min_available = args.min_available_mb * 2**20
    full = measure("full", label, home, shop_db, [], history, history, min_available, engine=engine)
    print(
        f"    full build: {full.seconds:.1f} s ({full.cpu_seconds:.0f} CPU s), peak "
        f"{_mb(full.peak_tree_rss_mb)} "
        f"(process tree), warehouse {_mb(full.warehouse_mb)}, "
        f"{'ok' if full.success else 'FAILED ' + str(full.failed_steps)}\n"
        f"      steps (s): {describe_steps(full)}",
        flush=True,
    )
    if args.no_hourly or not full.success:
        return [full]
    new, _ = land_new_hour(home, data_dir, manifests[TODAY.isoformat()])
    window = [(TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()]
    hourly = measure(
        "hourly", label, home, shop_db, window, history, new, min_available, engine=engine
    )
    print(
        f"    hourly run (+{new:,} events, window {window[0]}..{window[1]}): "
        f"{hourly.seconds:.1f} s ({hourly.cpu_seconds:.0f} CPU s), peak "
        f"{_mb(hourly.peak_tree_rss_mb)}, "
        f"{'ok' if hourly.success else 'FAILED ' + str(hourly.failed_steps)}\n"
        f"      steps (s): {describe_steps(hourly)}",
        flush=True,
    )
    return [full, hourly]


def worker(kind: str, days: list[str], out: Path, quality: bool = True) -> int:
    """Child process: parse dbt, run the pipeline once, write the figures as JSON."""
    from orchestration.dbt import prepare_dbt_manifest
    from orchestration.defs.jobs import WAREHOUSE
    from orchestration.loads.warehouse import open_reader
    from orchestration.pipeline import run_pipeline
    from orchestration.settings import PipelineSettings

    started = time.perf_counter()
    prepare_dbt_manifest()
    parse_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if kind == "full":
        result = run_pipeline(full_refresh=True, prepare=False, quality=quality)
    else:
        result = run_pipeline(days=days, selection=WAREHOUSE, prepare=False)
    seconds = time.perf_counter() - started
    print(result.summary(), flush=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    events = 0
    mart_rows: dict[str, int] = {}
    with (
        contextlib.suppress(Exception),
        open_reader(PipelineSettings().resolved_warehouse_path) as c,
    ):
        events = c.execute("select count(*) from raw.events").fetchall()[0][0]
        # on Spark the marts are views of its Parquet tables: the same query reads both
        marts = c.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by table_name"
        ).fetchall()
        for (table,) in marts:
            mart_rows[table] = c.execute(f'select count(*) from marts."{table}"').fetchall()[0][0]
    out.write_text(
        json.dumps(
            {
                "success": result.success,
                "seconds": round(seconds, 1),
                "parse_seconds": round(parse_seconds, 1),
                "python_maxrss_kb": own,
                "events_in_warehouse": events,
                "assets": len(result.materialized),
                "checks_passed": result.checks_passed,
                "checks_failed": result.checks_failed,
                "failed_steps": result.failed_steps,
                "mart_rows": mart_rows,
            }
        )
    )
    return 0 if result.success else 1


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1m,5m,20m", help="history sizes in events (k/m suffixes)"
    )
    parser.add_argument(
        "--events-per-day", type=int, default=40_000, help="traffic of one generated day"
    )
    parser.add_argument(
        "--engines",
        default="duckdb",
        help=f"warehouse engines to measure, each on its own warehouse ({', '.join(ENGINES)})",
    )
    parser.add_argument("--no-hourly", action="store_true", help="only the full builds")
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="generate (and keep) the data for --sizes, measure nothing",
    )
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="generator processes"
    )
    parser.add_argument(
        "--min-available-mb",
        type=int,
        default=1024,
        help="stop a run when the machine's available memory falls below this",
    )
    parser.add_argument("--seed", type=int, default=20_260_630)
    parser.add_argument(
        "--dir", type=Path, help="bench data folder (default $MERCADO_HOME/bench/pipeline)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep (and reuse) generated data and warehouses"
    )
    parser.add_argument("--worker", choices=["full", "hourly"], help=argparse.SUPPRESS)
    parser.add_argument("--worker-days", default="", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-no-quality", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--quality-rounds",
        type=int,
        default=0,
        help="instead of the usual runs: N full builds with the quality checks and N "
        "without, alternating, each on an empty warehouse; prints the medians",
    )
    return parser.parse_args(argv)


def bench_dir(args: argparse.Namespace) -> Path:
    if args.dir:
        return args.dir.expanduser().resolve()
    base = Path(os.environ.get("MERCADO_HOME", "var")).expanduser()
    return (base if base.is_absolute() else ROOT / base).resolve() / "bench" / "pipeline"


def _mb(value: float) -> str:
    return f"{value:,.0f} MB"


def print_table(results: list[Measurement]) -> None:
    names = [with_engine(f"{m.size} {m.kind}", m.engine) for m in results]
    width = max([14, *map(len, names)])
    print(
        f"\n  {'run':<{width}} {'history':>11} {'new':>9} {'seconds':>8} {'peak tree':>10} "
        f"{'python':>9} {'dbt':>8} {'cores':>5} {'load':>5}  status"
    )
    for name, m in zip(names, results, strict=True):
        load = "n/a" if m.machine_load_before is None else f"{m.machine_load_before:.2f}"
        status = "ok" if m.success else "FAILED"
        cores = m.cpu_seconds / max(m.process_seconds, 0.1)
        if m.checks_failed:
            status += f" ({len(m.checks_failed)} failed checks)"
        if any(step.startswith("not measured") for step in m.failed_steps):
            status = "not measured"
        print(
            f"  {name:<{width}} {m.history_events:>11,} {m.new_events:>9,} "
            f"{m.seconds:>8.1f} {_mb(m.peak_tree_rss_mb):>10} {_mb(m.python_rss_mb):>9} "
            f"{_mb(m.dbt_rss_mb):>8} {cores:>5.2f} {load:>5}  {status}"
        )


def print_mart_rows(label: str, full_builds: list[Measurement]) -> None:
    """Rows of each mart after each engine's full build of ``label``, side by side (the
    engines build the same models from the same lake: a difference is a finding)."""
    built = [m for m in full_builds if m.mart_rows]
    if len(built) < 2:
        return
    tables = sorted({t for m in built for t in m.mart_rows})
    differ = [t for t in tables if len({m.mart_rows.get(t) for m in built}) > 1]
    print(
        f"\n  {label} marts after the full build, rows: "
        + ("the same on every engine" if not differ else f"{len(differ)} of {len(tables)} differ")
    )
    print(f"    {'table':<34}" + "".join(f" {m.engine:>12}" for m in built))
    for table in tables:
        counts = "".join(
            f" {'-' if (n := m.mart_rows.get(table)) is None else f'{n:,}':>12}" for m in built
        )
        print(f"    {table:<34}{counts}{'  <- differs' if table in differ else ''}")


def describe_steps(m: Measurement) -> str:
    parts = []
    for step in m.steps:
        text = f"{step['step']} {step.get('seconds', float('nan')):.1f}"
        if "dbt_seconds" in step:
            text += f" (dbt {step['dbt_seconds']:.1f})"
        parts.append(text)
    return ", ".join(parts)


def targets(results: list[Measurement]) -> list[dict[str, Any]]:
    """Each engine's verdicts on the same targets (engines in the order they ran)."""
    engines = dict.fromkeys(m.engine for m in results)
    return [
        verdict
        for engine in engines
        for verdict in engine_targets([m for m in results if m.engine == engine], engine)
    ]


def engine_targets(results: list[Measurement], engine: str) -> list[dict[str, Any]]:
    verdicts: list[dict[str, Any]] = []
    full = [m for m in results if m.kind == "full"]
    target_full = next((m for m in full if m.size == size_label(TARGET_FULL_EVENTS)), None)
    verdict: dict[str, Any] = {
        "target": with_engine(
            f"full build of 5M events < {TARGET_FULL_SECONDS:.0f} s on 2 cores", engine
        ),
        "engine": engine,
        "met": None,
    }
    if target_full is not None:
        verdict["met"] = target_full.success and target_full.seconds < TARGET_FULL_SECONDS
        verdict["figure"] = f"{target_full.seconds:.1f} s"
    verdicts.append(verdict)
    hourly = sorted(
        (m for m in results if m.kind == "hourly" and m.success), key=lambda m: m.history_events
    )
    verdict = {
        "target": with_engine(
            f"hourly run on 20M history < {TARGET_HOURLY_RATIO:.0f}x on 1M history", engine
        ),
        "engine": engine,
        "met": None,
    }
    by_size = {m.size: m for m in hourly}
    small, large = by_size.get("1M"), by_size.get("20M")
    if (small is None or large is None) and len(hourly) >= 2:
        small, large = hourly[0], hourly[-1]
        verdict["note"] = f"compared {large.size} with {small.size} (1M and 20M not both run)"
    if small is not None and large is not None and small is not large:
        ratio = large.seconds / small.seconds
        verdict["ratio"] = ratio
        verdict["compared"] = f"{large.size} / {small.size} history"
        verdict["met"] = ratio < TARGET_HOURLY_RATIO
        verdict["figure"] = (
            f"{large.size} {large.seconds:.1f} s / {small.size} {small.seconds:.1f} s "
            f"= {ratio:.2f}x"
        )
    verdicts.append(verdict)
    return verdicts


def figures_of(results: list[Measurement], verdicts: list[dict[str, Any]]) -> list[Figure]:
    """The report's records: each run's seconds (the full build's target only at 5M events),
    the full builds' peak memory, and the hourly ratio (its target only for 20M against 1M)."""
    figures = []
    for m in results:
        if m.kind == "full":
            at_target_size = m.size == size_label(TARGET_FULL_EVENTS)
            figures += [
                measured(
                    with_engine(f"full build, {m.size} events", m.engine), m.seconds, "s",
                    below=TARGET_FULL_SECONDS if at_target_size else None, ok=m.success,
                ),
                measured(with_engine(f"full build peak memory, {m.size} events", m.engine),
                         m.peak_tree_rss_mb, "MB", ok=m.success),
            ]  # fmt: skip
        else:
            name = with_engine(f"hourly run, {m.size} history", m.engine)
            figures.append(measured(name, m.seconds, "s", ok=m.success))
    for verdict in verdicts:
        if "ratio" in verdict:
            below = None if "note" in verdict else TARGET_HOURLY_RATIO
            name = with_engine(f"hourly run, {verdict['compared']}", verdict["engine"])
            figures.append(measured(name, verdict["ratio"], "x", below=below))
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        days = [d for d in args.worker_days.split(",") if d]
        return worker(args.worker, days, args.worker_out, quality=not args.worker_no_quality)

    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    engines = list(dict.fromkeys(e.strip() for e in args.engines.split(",") if e.strip()))
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        print(f"unknown engines {unknown}: choose among {', '.join(ENGINES)}", file=sys.stderr)
        return 2
    unavailable = {e: reason for e in engines if (reason := engine_missing(e))}
    base = bench_dir(args)
    created = not base.exists()
    base.mkdir(parents=True, exist_ok=True)
    data_dir = base / "lake-days"
    shop_home = base / "shop"
    load = machine_load(1.0)
    print(
        f"Mercado pipeline benchmark: {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; machine load before starting: "
        f"{'n/a' if load is None else f'{load:.2f} cores busy'}\n"
        f"  sizes {', '.join(size_label(s) for s in sizes)}; engines {', '.join(engines)}; "
        f"{args.events_per_day:,} events "
        f"a day; today = {TODAY}, new hour = {NEW_HOUR:02d}:00; data under {base}"
    )

    largest = days_for(sizes[-1], args.events_per_day)
    missing = [
        d for d in largest if cached_manifest(data_dir, d, args.events_per_day, args.seed) is None
    ]
    # ~960 bytes an event in the lake; the warehouse of a size takes ~1/3 of its JSON.
    need = len(missing) * args.events_per_day * 960 + sizes[-1] * 960 // 3
    have = free_bytes(base)
    print(
        f"  disk: {len(missing)} of {len(largest)} days to generate, ~{need / 1e9:.1f} GB "
        f"needed (lake + largest warehouse), {have / 1e9:.1f} GB free"
    )
    if need > have * 0.9:
        print("  not enough free disk for the largest size: nothing run")
        return 1

    generated_here: list[Path] = []
    results: list[Measurement] = []
    generation = Generation()
    try:
        shop_db = shop_home / "shop.db"
        if not shop_db.exists():
            seconds = make_shop(shop_home)
            print(
                f"  shop database: mercado simulate --shoppers {SHOP_SHOPPERS} --days "
                f"{SHOP_DAYS} in {seconds:.0f} s"
            )
        catalogue = read_catalogue(shop_db)
        print(
            f"  shop: {len(catalogue['users'])} shoppers, {len(catalogue['listings'])} active "
            f"listings, {len(catalogue['categories'])} categories ({shop_db})"
        )
        manifests, generation = ensure_days(data_dir, largest, catalogue, args)
        generated_here = [data_dir / f"dt={d}" for d in map(date.isoformat, missing)]
        print(
            f"  generation: {generation.days_generated} days, {generation.events_generated:,} "
            f"events, {generation.bytes_generated / 1e9:.2f} GB in {generation.seconds:.0f} s "
            f"({generation.days_cached} days cached); not part of the figures"
        )
        for events in [] if args.generate_only else sizes:
            label = size_label(events)
            days = days_for(events, args.events_per_day)
            for engine in engines:
                name = with_engine(label, engine)
                # each engine its own home: lake, warehouse file, Spark's folder, dbt target
                home = base / "runs" / (label if engine == "duckdb" else f"{label}-{engine}")
                shutil.rmtree(home, ignore_errors=True)
                home.mkdir(parents=True)
                history, size = build_lake(home, data_dir, days, manifests)
                print(
                    f"\n  {name}: {history:,} events, {size / 1e9:.2f} GB of JSON over "
                    f"{len(days) - 1} days + {NEW_HOUR} hours ({days[0]}..{days[-1]})",
                    flush=True,
                )
                min_available = args.min_available_mb * 2**20
                if reason := unavailable.get(engine):
                    print(f"    {engine}: not measured, {reason}", flush=True)
                    results.append(not_measured("full", engine, label, history, history, reason))
                    if not args.no_hourly:
                        new = hour_events(manifests[TODAY.isoformat()])
                        results.append(not_measured("hourly", engine, label, history, new, reason))
                elif args.quality_rounds:
                    compare_quality(
                        args.quality_rounds, label, home, shop_db, history, min_available, engine
                    )
                else:
                    results += measure_size(
                        engine, label, home, data_dir, shop_db, manifests, history, args
                    )
                if not args.keep:
                    shutil.rmtree(home, ignore_errors=True)
            print_mart_rows(label, [m for m in results if m.size == label and m.kind == "full"])
    finally:
        if args.keep or args.generate_only:
            print(f"\n  kept: {base}")
        elif created:
            shutil.rmtree(base, ignore_errors=True)
        else:
            shutil.rmtree(base / "runs", ignore_errors=True)
            for folder in generated_here:
                shutil.rmtree(folder, ignore_errors=True)

    if args.generate_only:
        return 0
    print_table(results)
    print(
        "  seconds = run_pipeline() wall time; peak tree = peak of the summed resident sets "
        "of the Python process and its dbt subprocess (sampled); python = its own maxrss; "
        "dbt = sampled peak of the subprocesses; cores = CPU seconds of the run's processes "
        "per wall second; load = other cores busy just before it started"
    )
    verdicts = targets(results)
    for verdict in verdicts:
        met = {True: "met", False: "NOT met", None: "not measured"}[verdict["met"]]
        figure = f" ({verdict['figure']})" if "figure" in verdict else ""
        note = f" [{verdict['note']}]" if "note" in verdict else ""
        print(f"  target    {verdict['target']}: {met}{figure}{note}")
    failures = [m for m in results if m.checks_failed or m.failed_steps]
    for m in failures:
        name = with_engine(f"{m.size} {m.kind}", m.engine)
        print(f"  {name}: failed checks {m.checks_failed}, steps {m.failed_steps}")
    if args.json:
        write_figures(
            args.json,
            figures_of(results, verdicts),
            benchmark="pipeline",
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            machine={"cpus": os.cpu_count(), "python": platform.python_version()},
            machine_load_before=load,
            events_per_day=args.events_per_day,
            generation=asdict(generation),
            results=[asdict(m) for m in results],
            targets=verdicts,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
