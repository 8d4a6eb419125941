"""Catalog API benchmark: search and listing reads against a realistic 100k-listing shop.

For each backend (SQLite, PostgreSQL) this script

1. creates a fresh database, migrates it, seeds the category tree, a few hundred sellers
   and ``--listings`` listings (bulk Core inserts; the search index is maintained by the
   database's own triggers / generated column) and checks that search finds them;
2. starts the API with uvicorn as a separate process (``--workers``) on a free port;
3. drives it with ``--clients`` concurrent keep-alive connections in a closed loop, for
   ``--duration`` seconds per scenario after ``--warmup`` seconds:
   A. ``GET /listings?q=...`` (1-2 word queries, some with filters, sorts and pages 1-3),
   B. ``GET /listings/{id}`` for random active listings;
4. prints requests/s, p50/p90/p99 latency and errors per scenario against the targets.

It prints figures and never asserts on them. Run it from the repository root:

    .venv/bin/python bench/api_catalog.py [--backend sqlite] [--listings 100000] [--json out.json]

The load generator is wrk when it is installed (``make bench`` installs it; C, one thread,
``wrk_requests.lua`` picks each request), out of this process and at a fraction of its CPU
per request. Without it, a minimal asyncio HTTP/1.1 client in this process (one keep-alive
connection per client, Content-Length framing) drives the same connections: far cheaper
than httpx, but it shares the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from figures import Figure, measured, write_figures
from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from mercado_cli.server import wait_until_serving
from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE, CategoryTree
from shop_api.catalog.service import seed_category_tree
from shop_api.core.clock import SystemClock
from shop_api.core.config import normalise_database_url
from shop_api.core.db import create_db_engine, create_session_factory
from shop_api.core.migrations import upgrade_to_head
from shop_api.listings import repository
from shop_api.models import (
    Category,
    Listing,
    ListingCondition,
    ListingStatus,
    User,
    UserRole,
)
from shop_api.search.backends import search_backend_for

ROOT = Path(__file__).resolve().parents[1]

BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DATABASE = "mercado_bench"
# This script's own database: the checkout bench, which may run at the same time, uses
# BenchDatabase's defaults and would otherwise drop it (and the other way round).
PG_CATALOG_DATABASE = "mercado_bench_catalog"
HOST = "127.0.0.1"

SEARCH_P99_TARGET_MS = 100.0
READ_RPS_TARGET = 1_000.0

# Matches per query, as a fraction of all listings, that the search scenario keeps.
QUERY_BAND = (0.001, 0.05)

# --------------------------------------------------------------------------------------
# Vocabulary: per leaf category (product nouns, leaf-specific modifiers, price range in
# whole currency units); brands and materials per top-level category; global adjectives
# and colours. Sizes are chosen so that 1-2 word queries match 0.1-5% of listings.
# --------------------------------------------------------------------------------------

LEAF_VOCABULARY: dict[str, tuple[list[str], list[str], tuple[int, int]]] = {
    "smartphones": (
        ["smartphone", "phone", "handset", "mobile"],
        ["unlocked", "5g", "android", "flagship", "budget"],
        (60, 1200),
    ),
    "phone-accessories": (
        ["case", "charger", "cable", "powerbank", "holder", "protector"],
        ["magnetic", "fast", "wireless", "usb", "shockproof"],
        (5, 80),
    ),
    "laptops": (
        ["laptop", "notebook", "ultrabook", "chromebook"],
        ["gaming", "touchscreen", "business", "convertible", "ultralight"],
        (150, 2500),
    ),
    "desktops": (
        ["desktop", "pc", "workstation", "tower"],
        ["gaming", "compact", "quiet", "office", "custom"],
        (200, 3000),
    ),
    "computer-accessories": (
        ["keyboard", "mouse", "monitor", "webcam", "dock", "router"],
        ["mechanical", "wireless", "ergonomic", "rgb", "usb"],
        (10, 600),
    ),
    "headphones": (
        ["headphones", "earbuds", "headset", "earphones"],
        ["wireless", "bluetooth", "studio", "sports", "overear"],
        (15, 450),
    ),
    "speakers": (
        ["speaker", "soundbar", "subwoofer", "amplifier"],
        ["bluetooth", "portable", "waterproof", "smart", "hifi"],
        (20, 900),
    ),
    "cameras": (
        ["camera", "lens", "tripod", "camcorder", "drone"],
        ["mirrorless", "digital", "action", "instant", "film"],
        (30, 3000),
    ),
    "furniture": (
        ["sofa", "chair", "table", "desk", "bookshelf", "dresser"],
        ["upholstered", "extendable", "corner", "reclining", "folding"],
        (40, 2000),
    ),
    "kitchen": (
        ["blender", "kettle", "toaster", "skillet", "knife", "mixer", "espresso"],
        ["stainless", "nonstick", "electric", "induction", "cordless"],
        (10, 700),
    ),
    "bed-bath": (
        ["duvet", "pillow", "towel", "mattress", "sheets", "bathrobe"],
        ["king", "queen", "organic", "memory", "plush"],
        (10, 900),
    ),
    "garden": (
        ["lawnmower", "hose", "planter", "grill", "trimmer", "parasol"],
        ["cordless", "petrol", "raised", "outdoor", "solar"],
        (10, 1200),
    ),
    "decor": (
        ["lamp", "mirror", "rug", "vase", "candle", "cushion"],
        ["scandinavian", "boho", "handmade", "decorative", "round"],
        (5, 500),
    ),
    "womens-clothing": (
        ["dress", "blouse", "skirt", "jacket", "sweater", "jeans"],
        ["summer", "floral", "knitted", "oversized", "maxi"],
        (8, 400),
    ),
    "mens-clothing": (
        ["shirt", "jeans", "jacket", "hoodie", "suit", "coat"],
        ["slim", "casual", "formal", "winter", "tailored"],
        (8, 600),
    ),
    "shoes": (
        ["sneakers", "boots", "sandals", "loafers", "heels", "trainers"],
        ["running", "hiking", "ankle", "chelsea", "platform"],
        (15, 400),
    ),
    "watches": (
        ["watch", "smartwatch", "chronograph", "strap"],
        ["automatic", "quartz", "diving", "analog", "skeleton"],
        (20, 5000),
    ),
    "bags": (
        ["backpack", "suitcase", "handbag", "tote", "wallet", "duffel"],
        ["travel", "crossbody", "cabin", "laptop", "weekend"],
        (10, 800),
    ),
    "perfumery": (
        ["perfume", "cologne", "fragrance", "mist"],
        ["floral", "woody", "citrus", "musk", "oriental"],
        (15, 300),
    ),
    "personal-care": (
        ["shaver", "trimmer", "toothbrush", "hairdryer", "straightener", "serum"],
        ["electric", "rechargeable", "sonic", "ionic", "organic"],
        (5, 300),
    ),
    "fitness": (
        ["dumbbells", "kettlebell", "treadmill", "mat", "rower", "bands"],
        ["adjustable", "yoga", "foldable", "resistance", "home"],
        (10, 2000),
    ),
    "cycling": (
        ["bicycle", "bike", "helmet", "saddle", "pump", "pedals"],
        ["mountain", "road", "electric", "gravel", "kids"],
        (10, 4000),
    ),
    "camping": (
        ["tent", "hammock", "stove", "lantern", "cooler"],
        ["ultralight", "waterproof", "family", "inflatable", "solar"],
        (10, 900),
    ),
    "toys": (
        ["puzzle", "doll", "blocks", "robot", "train", "kite"],
        ["wooden", "educational", "remote", "plush", "magnetic"],
        (5, 300),
    ),
    "baby": (
        ["stroller", "crib", "highchair", "carrier", "monitor", "playmat"],
        ["convertible", "organic", "portable", "foldable", "newborn"],
        (10, 1000),
    ),
    "books": (
        ["novel", "cookbook", "biography", "atlas", "textbook", "comic"],
        ["hardcover", "paperback", "signed", "illustrated", "rare"],
        (3, 200),
    ),
    "music": (
        ["vinyl", "record", "cd", "guitar", "keyboard", "drum"],
        ["acoustic", "electric", "classical", "jazz", "limited"],
        (5, 1500),
    ),
    "video-games": (
        ["console", "controller", "game", "cartridge"],
        ["retro", "handheld", "collector", "wireless", "sealed"],
        (10, 700),
    ),
    "auto": (
        ["tyres", "battery", "dashcam", "wipers", "jack", "charger"],
        ["winter", "summer", "hydraulic", "universal", "led"],
        (10, 800),
    ),
    "pet-shop": (
        ["leash", "collar", "aquarium", "kennel", "feeder", "litter"],
        ["dog", "cat", "automatic", "orthopedic", "reflective"],
        (5, 400),
    ),
    "office": (
        ["notebook", "pen", "stapler", "printer", "shredder", "planner"],
        ["fountain", "refillable", "wireless", "laser", "ergonomic"],
        (2, 600),
    ),
}

GROUP_BRANDS: dict[str, list[str]] = {
    "electronics": ["Voltix", "Nordtek", "Sonara", "Pixelon", "Kairo", "Lumo", "Axion", "Zentro"],
    "home": ["Casaverde", "Oakhurst", "Lindgren", "Terrano", "Homewell", "Brisa", "Kettleby"],
    "fashion": ["Marlowe", "Vesta", "Loomis", "Corsa", "Rivette", "Solenne", "Brava"],
    "health-beauty": ["Aurelia", "Floris", "Purea", "Naturelle", "Velour"],
    "sports": ["Trailmark", "Peakline", "Stridex", "Velocita", "Summitra", "Kinetik"],
    "toys-baby": ["Tinytots", "Playwell", "Bramble", "Woodlark", "Cubbie"],
    "books-media": ["Penwood", "Vinylhaus", "Questa", "Pagecraft", "Arcadia"],
    "auto": ["Motorix", "Roadstar", "Torqa", "Drivewell"],
    "pet-shop": ["Pawsome", "Furbelle", "Barkley", "Whiskerly"],
    "office": ["Inkwell", "Deskline", "Papyra", "Scribo"],
}

GROUP_MATERIALS: dict[str, list[str]] = {
    "electronics": ["aluminium", "plastic", "glass", "carbon"],
    "home": ["oak", "walnut", "pine", "ceramic", "steel", "linen", "marble", "bamboo"],
    "fashion": ["leather", "cotton", "wool", "denim", "silk", "linen", "suede", "cashmere"],
    "health-beauty": [],
    "sports": ["aluminium", "carbon", "nylon", "steel", "rubber"],
    "toys-baby": ["plastic", "cotton", "bamboo", "wood"],
    "books-media": [],
    "auto": ["steel", "rubber", "plastic"],
    "pet-shop": ["nylon", "leather", "plastic", "cotton"],
    "office": ["leather", "steel", "plastic", "bamboo"],
}

ADJECTIVES = [
    "vintage", "compact", "premium", "classic", "lightweight", "modern", "durable",
    "elegant", "professional", "deluxe", "slim", "rugged", "retro", "stylish", "sturdy",
    "genuine", "original", "luxury",
]  # fmt: skip

COLOURS = [
    "black", "white", "silver", "grey", "red", "blue", "green", "navy", "beige", "brown",
    "pink", "gold", "yellow", "orange", "purple", "teal",
]  # fmt: skip

MODEL_SUFFIXES = ["Pro", "Max", "Mini", "Plus", "Lite", "X", "S", "II", "2024", "2025", "XL"]

CONDITION_SENTENCES = {
    ListingCondition.new: [
        "Brand new, never opened.",
        "New in box with full warranty.",
        "Unused and still sealed.",
    ],
    ListingCondition.used: [
        "Lightly used and works perfectly.",
        "Some signs of wear, see photos.",
        "Used for a few months, in great shape.",
    ],
    ListingCondition.refurbished: [
        "Professionally refurbished and tested.",
        "Refurbished with a twelve month warranty.",
    ],
}

FILLER_SENTENCES = [
    "Ships within two business days.",
    "Smoke-free home.",
    "Pickup available downtown.",
    "Price is slightly negotiable.",
    "Bundle discounts available.",
    "Check my other listings.",
    "Comes with the original packaging.",
    "All accessories included.",
    "Fast and careful shipping.",
    "Returns accepted within thirty days.",
    "Selling because I upgraded.",
    "Great gift idea.",
]

STATUS_WEIGHTS = {
    ListingStatus.active: 85,
    ListingStatus.draft: 5,
    ListingStatus.paused: 5,
    ListingStatus.sold_out: 5,
}
CONDITION_WEIGHTS = {
    ListingCondition.new: 60,
    ListingCondition.used: 30,
    ListingCondition.refurbished: 10,
}
SORT_WEIGHTS = {"relevance": 60, "newest": 15, "price_asc": 15, "price_desc": 10}

# A fixed "now" keeps the generated data identical from run to run.
DATA_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------
# Data generation and seeding
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    slug: str
    group: str
    path: tuple[str, ...]  # slugs from the top-level category down to this leaf


def leaves_of(tree: CategoryTree, path: tuple[str, ...] = ()) -> Iterator[Leaf]:
    for slug, (_name, children) in tree.items():
        here = (*path, slug)
        if children:
            yield from leaves_of(children, here)
        else:
            yield Leaf(slug=slug, group=here[0], path=here)


@dataclass
class Catalogue:
    """What the load generator needs to know about the seeded data."""

    leaves: list[Leaf]
    active_ids: list[str]
    seconds: float


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _price_minor(rng: random.Random, low: int, high: int) -> int:
    units = math.exp(rng.uniform(math.log(low), math.log(high)))
    return max(99, round(units) * 100 - 1)


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def generate_listing(
    rng: random.Random, leaf: Leaf, category_id: uuid.UUID, seller_id: uuid.UUID
) -> dict[str, Any]:
    nouns, modifiers, (low, high) = LEAF_VOCABULARY[leaf.slug]
    noun = rng.choice(nouns)
    brand = rng.choice(GROUP_BRANDS[leaf.group]) if rng.random() < 0.85 else None
    roll = rng.random()
    adjectives = rng.sample(ADJECTIVES, 2 if roll < 0.15 else 1 if roll < 0.65 else 0)
    colour = rng.choice(COLOURS) if rng.random() < 0.55 else None
    materials = GROUP_MATERIALS[leaf.group]
    material = rng.choice(materials) if materials and rng.random() < 0.4 else None
    modifier = rng.choice(modifiers) if rng.random() < 0.6 else None

    words = [brand] if brand else []
    words += adjectives
    words += [w for w in (colour, material, modifier) if w]
    words.append(noun)
    title = " ".join(w if w.isupper() else w.capitalize() for w in words)
    if rng.random() < 0.4:
        title += " " + rng.choice(MODEL_SUFFIXES)

    condition = rng.choices(list(CONDITION_WEIGHTS), weights=list(CONDITION_WEIGHTS.values()))[0]
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]

    described = " ".join([*adjectives[:1], noun])
    first = f"{_article(described)} {described}"
    if brand:
        first += f" from {brand}"
    if colour:
        first += f" in {colour}"
    if material:
        first += f", made of {material}"
    sentences = [first + ".", rng.choice(CONDITION_SENTENCES[condition])]
    if rng.random() < 0.3:
        sentences.append(f"Works well with any {rng.choice(nouns)}.")
    sentences += rng.sample(FILLER_SENTENCES, rng.randint(1, 3))

    created_at = DATA_EPOCH - timedelta(seconds=rng.randrange(365 * 86_400))
    published_at = None
    if status != ListingStatus.draft:
        published_at = created_at + timedelta(seconds=rng.randrange(3_600))
    attributes: dict[str, Any] = {}
    if brand:
        attributes["brand"] = brand
    if colour:
        attributes["colour"] = colour
    if material:
        attributes["material"] = material
    return {
        "id": _uuid(rng),
        "created_at": created_at,
        "modified_at": published_at or created_at,
        "seller_id": seller_id,
        "category_id": category_id,
        "title": title,
        "description": " ".join(sentences),
        "price_minor": _price_minor(rng, low, high),
        "currency": "USD",
        "stock": 0 if status == ListingStatus.sold_out else rng.choice((1, 1, 1, 2, 3, 5, 10, 25)),
        "condition": condition,
        "attributes": attributes,
        "status": status,
        "published_at": published_at,
    }


def _seller_rows(rng: random.Random, count: int) -> list[dict[str, Any]]:
    from pwdlib import PasswordHash

    # One Argon2 hash for every seller: hashing is deliberately slow and not what we measure.
    password_hash = PasswordHash.recommended().hash("bench-password")
    rows = []
    for number in range(count):
        created_at = DATA_EPOCH - timedelta(days=400 + rng.randrange(400))
        rows.append(
            {
                "id": _uuid(rng),
                "created_at": created_at,
                "modified_at": created_at,
                "email": f"seller{number:04d}@bench.mercado.test",
                "password_hash": password_hash,
                "display_name": f"Bench seller {number}",
                "role": UserRole.seller,
                "is_active": True,
                "token_version": 0,
                "phone": None,
                "ad_user_data_consent": False,
                "ad_user_data_consent_at": None,
                "ad_user_data_consent_source": None,
                "ad_personalization_consent": False,
                "ad_personalization_consent_at": None,
                "ad_personalization_consent_source": None,
                "last_login_at": None,
                "erased_at": None,
            }
        )
    return rows


def seed(
    engine: Engine, *, listings: int, sellers: int, batch_size: int, seed_value: int
) -> Catalogue:
    """Categories through the service, then users and listings with bulk Core inserts."""
    started = time.perf_counter()
    with create_session_factory(engine)() as session:
        seed_category_tree(session, SystemClock(), DEFAULT_CATEGORY_TREE)
    with engine.connect() as connection:
        category_ids = dict(connection.execute(select(Category.slug, Category.id)).all())

    rng = random.Random(seed_value)
    leaves = list(leaves_of(DEFAULT_CATEGORY_TREE))
    leaf_weights = [rng.uniform(0.5, 2.0) for _ in leaves]
    seller_rows = _seller_rows(rng, sellers)
    seller_ids = [row["id"] for row in seller_rows]
    with engine.begin() as connection:
        connection.execute(insert(User.__table__), seller_rows)

    active_ids: list[str] = []
    listing_table = Listing.__table__
    done = 0
    while done < listings:
        size = min(batch_size, listings - done)
        rows = []
        for leaf in rng.choices(leaves, weights=leaf_weights, k=size):
            row = generate_listing(rng, leaf, category_ids[leaf.slug], rng.choice(seller_ids))
            rows.append(row)
            if row["status"] == ListingStatus.active:
                active_ids.append(str(row["id"]))
        with engine.begin() as connection:
            connection.execute(insert(listing_table), rows)
        done += size
        if sys.stdout.isatty():
            print(f"\r  listings: {done:>9,} / {listings:,}", end="", flush=True)
    if sys.stdout.isatty():
        print()
    analyse(engine)
    return Catalogue(leaves=leaves, active_ids=active_ids, seconds=time.perf_counter() - started)


def analyse(engine: Engine) -> None:
    """Planner statistics, as autovacuum (PostgreSQL) or ``PRAGMA optimize`` would gather."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def verify_search_index(engine: Engine, expected: int) -> None:
    """The database-maintained index covers every listing it should and answers a query:
    on SQLite the FTS5 index holds the active listings, on PostgreSQL every listing has
    a search document."""
    listings = Listing.__table__
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(listings))
        if engine.dialect.name == "sqlite":
            indexed = connection.scalar(text("SELECT count(*) FROM listings_fts"))
            should = connection.scalar(
                select(func.count())
                .select_from(listings)
                .where(listings.c.status == ListingStatus.active)
            )
            what = "active listings"
        else:
            indexed = connection.scalar(text("SELECT count(*) FROM listing_search_docs"))
            should, what = total, "listings"
    print(f"  search index: {indexed:,} of {should:,} {what} indexed")
    if indexed != should or total != expected:
        raise SystemExit(f"search index out of step: {indexed} indexed, {should} {what}")


# --------------------------------------------------------------------------------------
# Request mixes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    text: str
    leaf: Leaf | None


def candidate_queries(rng: random.Random, leaves: list[Leaf], count: int) -> list[Query]:
    """1-2 word queries as shoppers type them, drawn from the vocabulary."""
    templates = [
        ("noun", 30),
        ("modifier noun", 20),
        ("brand", 10),
        ("brand noun", 10),
        ("adjective noun", 10),
        ("colour noun", 10),
        ("material noun", 5),
        ("colour", 5),
    ]
    names = [name for name, _ in templates]
    weights = [weight for _, weight in templates]
    seen: dict[str, Query] = {}
    attempts = 0
    while len(seen) < count and attempts < count * 50:
        attempts += 1
        leaf = rng.choice(leaves)
        nouns, modifiers, _ = LEAF_VOCABULARY[leaf.slug]
        noun = rng.choice(nouns)
        template = rng.choices(names, weights=weights)[0]
        if template == "noun":
            words = [noun]
        elif template == "modifier noun":
            words = [rng.choice(modifiers), noun]
        elif template == "brand":
            words = [rng.choice(GROUP_BRANDS[leaf.group]).lower()]
        elif template == "brand noun":
            words = [rng.choice(GROUP_BRANDS[leaf.group]).lower(), noun]
        elif template == "adjective noun":
            words = [rng.choice(ADJECTIVES), noun]
        elif template == "colour noun":
            words = [rng.choice(COLOURS), noun]
        elif template == "material noun":
            if not GROUP_MATERIALS[leaf.group]:
                continue
            words = [rng.choice(GROUP_MATERIALS[leaf.group]), noun]
        else:
            words = [rng.choice(COLOURS)]
            leaf = None
        query = " ".join(words)
        seen.setdefault(query, Query(query, leaf))
    return list(seen.values())


def select_queries(
    engine: Engine, candidates: list[Query], total_listings: int
) -> tuple[list[Query], dict[str, float]]:
    """Keep queries whose matches (through the API's own search code) fall in QUERY_BAND."""
    backend = search_backend_for(engine.dialect.name)
    kept: list[Query] = []
    fractions: list[float] = []
    with create_session_factory(engine)() as session:
        for query in candidates:
            _rows, matches = repository.search(
                session, backend, repository.SearchFilters(query=query.text), limit=1, offset=0
            )
            fraction = matches / total_listings
            if QUERY_BAND[0] <= fraction <= QUERY_BAND[1]:
                kept.append(query)
                fractions.append(fraction)
    if not kept:
        raise SystemExit("no query matched 0.1-5% of listings: is search working?")
    fractions.sort()
    stats = {
        "candidates": len(candidates),
        "kept": len(kept),
        "min_pct": 100 * fractions[0],
        "median_pct": 100 * fractions[len(fractions) // 2],
        "max_pct": 100 * fractions[-1],
    }
    return kept, stats


def search_paths(rng: random.Random, queries: list[Query], count: int) -> list[str]:
    """The search mix: mostly plain queries, some with category/price/condition filters."""
    sorts = list(SORT_WEIGHTS)
    sort_weights = list(SORT_WEIGHTS.values())
    paths = []
    for _ in range(count):
        query = rng.choice(queries)
        params: dict[str, Any] = {"q": query.text}
        if query.leaf is not None and rng.random() < 0.25:
            # The leaf itself, or one of its ancestors (subtree filter).
            params["category"] = rng.choice(query.leaf.path)
        if query.leaf is not None and rng.random() < 0.15:
            low, high = LEAF_VOCABULARY[query.leaf.slug][2]
            middle = math.sqrt(low * high)
            if rng.random() < 0.5:
                params["min_price"] = int(middle * rng.uniform(0.3, 1.0)) * 100
            params["max_price"] = int(middle * rng.uniform(1.0, 3.0)) * 100
        if rng.random() < 0.1:
            params["condition"] = rng.choice(list(CONDITION_WEIGHTS)).value
        sort = rng.choices(sorts, weights=sort_weights)[0]
        if sort != "relevance":
            params["sort"] = sort
        page = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        if page > 1:
            params["page"] = page
        paths.append("/listings?" + urlencode(params))
    return paths


def read_paths(rng: random.Random, active_ids: list[str], count: int) -> list[str]:
    return [f"/listings/{listing_id}" for listing_id in rng.sample(active_ids, count)]


# --------------------------------------------------------------------------------------
# Load generator: a minimal asyncio HTTP/1.1 keep-alive client
# --------------------------------------------------------------------------------------


@dataclass
class Window:
    start: float
    end: float


@dataclass
class ClientStats:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, keep-alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    start = lower.find(b"\r\ncontent-length:")
    if start >= 0:
        end = lower.index(b"\r\n", start + 2)
        length = int(lower[start + 17 : end])
        if length:
            await reader.readexactly(length)
    elif b"\r\ntransfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif status not in (204, 304):
        raise ValueError("response without Content-Length or chunked framing")
    return status, b"\r\nconnection: close" not in lower


async def _client(
    port: int, requests: list[bytes], seed_value: int, window: Window, stats: ClientStats
) -> None:
    rng = random.Random(seed_value)
    clock = time.perf_counter
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while clock() < window.end:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(HOST, port)
                except OSError:
                    stats.errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
                stats.reconnects += 1
            assert reader is not None
            request = requests[rng.randrange(len(requests))]
            began = clock()
            try:
                writer.write(request)
                status, keep_alive = await _read_response(reader)
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                stats.errors["connection"] += 1
                writer.close()
                writer = None
                continue
            finished = clock()
            if window.start <= finished <= window.end:
                stats.latencies.append(finished - began)
                if not 200 <= status < 300:
                    stats.errors[str(status)] += 1
            if not keep_alive:
                writer.close()
                writer = None
    finally:
        if writer is not None:
            writer.close()


@dataclass
class CpuSample:
    server: float  # CPU seconds of the server's processes
    client: float  # CPU seconds of this process
    machine_busy: float  # busy CPU seconds of the whole machine
    machine_total: float


def cores_busy(
    before: CpuSample, after: CpuSample, seconds: float
) -> tuple[float, float, float | None]:
    """Cores busy between two samples: the server's, this client's and the whole machine's
    (None where /proc/stat is unreadable)."""
    machine_total = after.machine_total - before.machine_total
    machine = (
        (after.machine_busy - before.machine_busy) / machine_total * (os.cpu_count() or 1)
        if machine_total
        else None
    )
    return (
        (after.server - before.server) / seconds,
        (after.client - before.client) / seconds,
        machine,
    )


def _cpu_sample(server_pids: list[int]) -> CpuSample:
    busy, total = _machine_busy_seconds()
    return CpuSample(_cpu_seconds(server_pids), time.process_time(), busy, total)


async def _drive(
    port: int,
    requests: list[bytes],
    clients: int,
    warmup: float,
    duration: float,
    seed_value: int,
    server_pids: list[int],
    database: str | None = None,
) -> tuple[list[ClientStats], CpuSample, CpuSample, float | None, list[int]]:
    """Drive the load; returns the clients' figures, the CPU samples at both ends of the
    measured window, the CPU seconds the PostgreSQL backends of ``database`` used in it
    (None without one) and the connections each worker held as the window began."""
    start = time.perf_counter() + warmup
    window = Window(start=start, end=start + duration)
    stats = [ClientStats() for _ in range(clients)]

    async def sample_at(moment: float) -> tuple[CpuSample, dict[int, float]]:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        return _cpu_sample(server_pids), _database_cpu(database) if database else {}

    async def connections_at(moment: float) -> list[int]:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        return _connections_per_worker(server_pids, port)

    sampled = asyncio.gather(
        sample_at(window.start), sample_at(window.end), connections_at(window.start)
    )
    await asyncio.gather(
        *(_client(port, requests, seed_value + n, window, stats[n]) for n in range(clients))
    )
    (before, db_before), (after, db_after), connections = await sampled
    database_seconds = None
    if db_after:
        database_seconds = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    return stats, before, after, database_seconds, connections


WRK_SCRIPT = Path(__file__).with_name("wrk_requests.lua")


def _wrk_seconds(seconds: float) -> int:
    """wrk takes whole seconds."""
    return max(1, round(seconds))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _drive_wrk(
    wrk: str,
    port: int,
    paths: list[str],
    headers: list[str],
    clients: int,
    warmup: float,
    duration: float,
    seed_value: int,
    server_pids: list[int],
    database: str | None = None,
) -> tuple[
    int, tuple[float, float, float, float], Counter[str], CpuSample, CpuSample, float | None,
    list[int],
]:  # fmt: skip
    """``_drive`` with wrk (C, one thread) instead of this process's client, so that the
    load generator takes a few percent of a core instead of a good part of one. A warm-up
    run, then the measured one, each with ``clients`` keep-alive connections, each request
    a random line of the requests file (``wrk_requests.lua``). Returns the requests
    answered, (p50, p90, p99, max) in ms, the errors, the CPU samples around the measured
    run (``client`` is wrk's CPU), the PostgreSQL backends' CPU seconds and the
    connections each worker held shortly after it began."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="wrk-", delete=False) as file:
        for path, more in zip(paths, headers, strict=True):
            lines = [line for line in more.split("\r\n") if line]
            file.write("\t".join([path, *lines]) + "\n")
    url = f"http://{HOST}:{port}"

    def run(seconds: float) -> str:
        command = [
            wrk, "-t", "1", "-c", str(clients), "-d", f"{_wrk_seconds(seconds)}s",
            "--timeout", "30s", "-s", str(WRK_SCRIPT), url, "--", file.name, str(seed_value),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return done.stdout

    try:
        if warmup > 0:
            run(warmup)
        connections: list[int] = []
        sampler = threading.Timer(
            _wrk_seconds(duration) / 4,  # wrk has connected by then, even on a busy machine
            lambda: connections.extend(_connections_per_worker(server_pids, port)),
        )
        db_before = _database_cpu(database) if database else {}
        before = _cpu_sample(server_pids)
        before.client = _children_cpu()
        sampler.start()
        output = run(duration)
        after = _cpu_sample(server_pids)
        after.client = _children_cpu()
        db_after = _database_cpu(database) if database else {}
        sampler.join()
    finally:
        Path(file.name).unlink(missing_ok=True)
    marker = "wrk-json: "
    found = [line for line in output.splitlines() if line.startswith(marker)]
    if not found:
        raise RuntimeError(f"wrk printed no figures: {output[-500:]}")
    figures = json.loads(found[-1][len(marker) :])
    errors: Counter[str] = Counter(
        {name: figures[name] for name in ("connect", "read", "write", "timeout") if figures[name]}
    )
    if figures["status"]:
        errors["non-2xx"] = figures["status"]
    latencies = tuple(figures[f"{name}_us"] / 1000 for name in ("p50", "p90", "p99", "max"))
    database_seconds = None
    if db_after:
        database_seconds = sum(cpu - db_before.get(pid, 0.0) for pid, cpu in db_after.items())
    return (
        figures["requests"], latencies, errors, before, after, database_seconds, connections,
    )  # fmt: skip


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process while it drives the load.

    This process imported the whole app to seed the database; a full collection of that
    heap paused the load generator for 200-400 ms, and every request in flight meanwhile
    measured the pause as server latency. A run's garbage fits in memory easily.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def _event_loop_factory():  # type: ignore[no-untyped-def]
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


# --------------------------------------------------------------------------------------
# CPU accounting (Linux /proc; silently absent elsewhere)
# --------------------------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _connections_per_worker(pids: list[int], port: int) -> list[int]:
    """Established connections to ``port`` that each of ``pids`` holds, most first (Linux
    /proc; empty elsewhere). Only processes holding one are listed: the workers."""
    listening = f":{port:04X}"
    sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                # local address, state 01 = ESTABLISHED, inode
                if fields[1].endswith(listening) and fields[3] == "01":
                    sockets.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in pids:
        held = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    held += os.readlink(fd) in sockets
        if held:
            counts.append(held)
    return sorted(counts, reverse=True)


def _database_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend process connected to ``database`` on this
    machine (empty when there are none, or the server runs elsewhere). A backend that
    exits within the window (a pool discarding overflow connections) is not counted."""
    found: dict[int, float] = {}
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                command = (entry / "cmdline").read_bytes()
                if command.startswith(b"postgres:") and marker in command:
                    found[int(entry.name)] = _cpu_seconds([int(entry.name)])
    return found


def machine_load(seconds: float = 1.0) -> float | None:
    """Cores busy over the next ``seconds`` (None where /proc/stat is missing)."""
    busy_before, total_before = _machine_busy_seconds()
    time.sleep(seconds)
    busy_after, total_after = _machine_busy_seconds()
    if total_after <= total_before:
        return None
    return (busy_after - busy_before) / (total_after - total_before) * (os.cpu_count() or 1)


def _machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + values[4]
    total = sum(values[:8])
    hz = os.sysconf("SC_CLK_TCK")
    return (total - idle) / hz, total / hz


# --------------------------------------------------------------------------------------
# Scenario runner
# --------------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    backend: str
    scenario: str
    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_breakdown: dict[str, int]
    clients: int
    target: str
    target_met: bool | None
    cpu_cores_server: float | None = None
    cpu_cores_client: float | None = None
    cpu_cores_machine: float | None = None
    cpu_cores_database: float | None = None  # PostgreSQL's backends for the bench database
    # Open client connections each worker held when measuring began (most first): the
    # kernel spreads them by a hash, and a worker holding more of them answers slower.
    connections_per_worker: list[int] = field(default_factory=list)
    load_generator: str = "python"  # "wrk" or this process's asyncio client

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        """CPU the server's processes spent per request (not the database's on PostgreSQL)."""
        if self.cpu_cores_server is None or not self.requests_per_s:
            return None
        return 1000 * self.cpu_cores_server / self.requests_per_s

    @property
    def database_cpu_ms_per_request(self) -> float | None:
        """CPU PostgreSQL's backends spent per request (None on SQLite)."""
        if self.cpu_cores_database is None or not self.requests_per_s:
            return None
        return 1000 * self.cpu_cores_database / self.requests_per_s


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run_scenario(
    backend: str,
    scenario: str,
    server: Server,
    paths: list[str],
    *,
    clients: int,
    warmup: float,
    duration: float,
    seed_value: int,
    with_target: bool = True,
    database: str | None = None,
    headers: list[str] | None = None,
    load_generator: str = "auto",
) -> ScenarioResult:
    """One scenario; ``database``, a PostgreSQL database on this machine whose backends'
    CPU is measured too; ``headers``, extra header lines sent with each path (same order,
    e.g. ``"X-Client-Id: d1\\r\\n"``); ``load_generator``, "wrk", "python" (this
    process's asyncio client) or "auto" (wrk when it is installed)."""
    extra = headers or [""] * len(paths)
    server_pids = _process_tree(server.process.pid)
    wrk = shutil.which("wrk") if load_generator in ("auto", "wrk") else None
    if load_generator == "wrk" and wrk is None:
        raise RuntimeError("wrk is not installed (make bench installs it; or apt-get install wrk)")
    if wrk is not None:
        requests, (p50, p90, p99, longest), errors, before, after, database_seconds, connections = (
            _drive_wrk(
                wrk,
                server.port,
                paths,
                extra,
                clients,
                warmup,
                duration,
                seed_value,
                server_pids,
                database,
            )
        )
    else:
        host_header = f"{HOST}:{server.port}"
        encoded = [
            f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nAccept: application/json\r\n"
            f"{more}\r\n".encode()
            for path, more in zip(paths, extra, strict=True)
        ]
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner, collector_paused():
            stats, before, after, database_seconds, connections = runner.run(
                _drive(
                    server.port,
                    encoded,
                    clients,
                    warmup,
                    duration,
                    seed_value,
                    server_pids,
                    database,
                )
            )
        latencies = sorted(latency for s in stats for latency in s.latencies)
        errors = Counter()
        for s in stats:
            errors.update(s.errors)
        requests = len(latencies)
        p50, p90, p99 = (1000 * _percentile(latencies, f) for f in (0.5, 0.9, 0.99))
        longest = 1000 * latencies[-1] if latencies else float("nan")
    if wrk is not None:
        duration = _wrk_seconds(duration)
    rps = requests / duration
    target, met = "-", None
    if with_target and scenario == "search":
        target = f"p99 < {SEARCH_P99_TARGET_MS:.0f} ms"
        met = p99 < SEARCH_P99_TARGET_MS and not errors
    elif with_target:
        target = f">= {READ_RPS_TARGET:,.0f} req/s"
        met = rps >= READ_RPS_TARGET and not errors
    server_cores, client_cores, machine_cores = cores_busy(before, after, duration)
    return ScenarioResult(
        backend=backend,
        scenario=scenario,
        requests=requests,
        requests_per_s=rps,
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        max_ms=longest,
        errors=sum(errors.values()),
        error_breakdown=dict(errors),
        clients=clients,
        target=target,
        target_met=met,
        cpu_cores_server=server_cores,
        cpu_cores_client=client_cores,
        cpu_cores_machine=machine_cores,
        cpu_cores_database=None if database_seconds is None else database_seconds / duration,
        connections_per_worker=connections,
        load_generator="wrk" if wrk is not None else "python",
    )


# --------------------------------------------------------------------------------------
# Databases and the server process
# --------------------------------------------------------------------------------------


def postgres_admin_url() -> str:
    url = (
        os.environ.get("MERCADO_BENCH_POSTGRES_URL")
        or os.environ.get("MERCADO_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_URL
    )
    return normalise_database_url(url)


def postgres_unavailable_reason(admin_url: str) -> str | None:
    try:
        engine = create_engine(admin_url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not reachable at {make_url(admin_url).render_as_string()}: {first_line}"
    return None


def bench_home() -> Path:
    home = Path(os.environ.get("MERCADO_HOME", "var")).expanduser()
    return (home if home.is_absolute() else ROOT / home).resolve()


class BenchDatabase:
    """A fresh database for one backend; ``drop`` removes it.

    Benchmarks that may run at the same time as this one should pass their own names.
    """

    def __init__(
        self,
        backend: str,
        home: Path,
        *,
        sqlite_name: str = "api_catalog.db",
        pg_database: str = PG_BENCH_DATABASE,
    ) -> None:
        self.backend = backend
        self.admin_url: str | None = None
        self.pg_database = pg_database
        if backend == "sqlite":
            self.path = home / "bench" / sqlite_name
            self.url = f"sqlite:///{self.path}"
        else:
            self.admin_url = postgres_admin_url()
            self.url = (
                make_url(self.admin_url)
                .set(database=pg_database)
                .render_as_string(hide_password=False)
            )

    def create(self) -> None:
        if self.backend == "sqlite":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._remove_sqlite_files()
            return
        self._admin(
            f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)',
            f'CREATE DATABASE "{self.pg_database}"',
        )

    def drop(self) -> None:
        if self.backend == "sqlite":
            self._remove_sqlite_files()
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')

    def _remove_sqlite_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _admin(self, *statements: str) -> None:
        assert self.admin_url is not None
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            admin.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """The API (``python -m shop_api.serving``, uvicorn workers) in its own process group."""

    def __init__(self, database_url: str, home: Path, workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.log_path = log_path
        env = {
            **os.environ,
            "MERCADO_DATABASE_URL": database_url,
            "MERCADO_HOME": str(home),
            "MERCADO_ACCESS_LOG": "false",
            "MERCADO_LOG_LEVEL": "WARNING",
        }
        # The shop's own launcher: one listening socket per worker (see shop_api.serving).
        command = [
            sys.executable,
            "-m",
            "shop_api.serving",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Until every worker serves (see ``wait_until_serving``)."""
        try:
            wait_until_serving(
                f"http://{HOST}:{self.port}",
                workers=self.workers,
                timeout=timeout,
                process=self.process,
            )
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {self._tail()}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # Only our own process group: uvicorn's supervisor and its workers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()

    def _tail(self) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def bench_backend(backend: str, args: argparse.Namespace, home: Path) -> list[ScenarioResult]:
    print(f"\n=== {backend} ===", flush=True)
    if backend == "postgresql":
        reason = postgres_unavailable_reason(postgres_admin_url())
        if reason:
            print(f"  SKIPPED PostgreSQL: {reason}")
            print("  (set MERCADO_BENCH_POSTGRES_URL or MERCADO_TEST_POSTGRES_URL)")
            return []

    database = BenchDatabase(backend, home, pg_database=PG_CATALOG_DATABASE)
    database.create()
    server: Server | None = None
    engine: Engine | None = None
    try:
        started = time.perf_counter()
        upgrade_to_head(database.url)
        engine = create_db_engine(normalise_database_url(database.url), pool_size=2)
        print(f"  migrated in {time.perf_counter() - started:.1f} s", flush=True)
        catalogue = seed(
            engine,
            listings=args.listings,
            sellers=args.sellers,
            batch_size=args.batch_size,
            seed_value=args.seed,
        )
        rate = args.listings / catalogue.seconds
        print(
            f"  seeded {args.listings:,} listings ({len(catalogue.active_ids):,} active), "
            f"{args.sellers} sellers in {catalogue.seconds:.1f} s ({rate:,.0f} listings/s)"
        )
        verify_search_index(engine, args.listings)
        rng = random.Random(args.seed)
        candidates = candidate_queries(rng, catalogue.leaves, 400)
        queries, band = select_queries(engine, candidates, args.listings)
        print(
            f"  search works: {band['kept']} of {band['candidates']} candidate queries match "
            f"{QUERY_BAND[0]:.1%}-{QUERY_BAND[1]:.0%} of listings "
            f"(min {band['min_pct']:.2f}%, median {band['median_pct']:.2f}%, "
            f"max {band['max_pct']:.2f}%)"
        )
        engine.dispose()
        engine = None

        scenarios = {
            "search": search_paths(rng, queries, 5_000),
            "read": read_paths(rng, catalogue.active_ids, min(5_000, len(catalogue.active_ids))),
        }
        server = Server(database.url, home, args.workers, home / "bench" / f"uvicorn-{backend}.log")
        server.wait_ready()
        print(
            f"  uvicorn on {HOST}:{server.port}, {args.workers} worker(s); "
            f"{args.clients} clients, {args.warmup:.0f} s warm-up + {args.duration:.0f} s each",
            flush=True,
        )
        results = []
        for scenario in args.scenarios:
            result = run_scenario(
                backend,
                scenario,
                server,
                scenarios[scenario],
                clients=args.clients,
                warmup=args.warmup,
                duration=args.duration,
                seed_value=args.seed,
                database=database.pg_database if backend == "postgresql" else None,
            )
            split = "/".join(map(str, result.connections_per_worker)) or "?"
            print(
                f"  {SCENARIO_LABELS[scenario]}: {result.requests_per_s:,.0f} req/s, "
                f"p99 {result.p99_ms:.1f} ms, {result.errors} errors "
                f"(connections per worker: {split})",
                flush=True,
            )
            results.append(result)
        if args.probe > 0:
            # Service time without queueing: one client, one request at a time.
            for scenario in args.scenarios:
                result = run_scenario(
                    backend,
                    scenario,
                    server,
                    scenarios[scenario],
                    clients=1,
                    warmup=1.0,
                    duration=args.probe,
                    seed_value=args.seed,
                    with_target=False,
                    database=database.pg_database if backend == "postgresql" else None,
                )
                print(
                    f"  {SCENARIO_LABELS[scenario]} (1 client): p50 {result.p50_ms:.1f} ms, "
                    f"p99 {result.p99_ms:.1f} ms",
                    flush=True,
                )
                results.append(result)
        return results
    finally:
        if server is not None:
            server.stop()
        if engine is not None:
            engine.dispose()
        if args.keep:
            print(f"  kept database: {make_url(database.url).render_as_string()}")
        else:
            database.drop()


SCENARIO_LABELS = {"search": "A  GET /listings?q=", "read": "B  GET /listings/{id}"}
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def figures_of(results: list[ScenarioResult]) -> list[Figure]:
    """The report's records: each backend's measured runs (not the 1-client probes)."""
    figures = []
    for r in results:
        if r.target_met is None:
            continue
        name = f"{BACKEND_NAMES[r.backend]}, {r.clients} clients"
        ok = not r.errors
        if r.scenario == "search":
            figures += [
                measured(f"search p99, {name}", r.p99_ms, "ms", below=SEARCH_P99_TARGET_MS, ok=ok),
                measured(f"search requests/s, {name}", r.requests_per_s, "req/s", ok=ok),
            ]
        else:
            figures += [
                measured(
                    f"GET /listings/{{id}} requests/s, {name}", r.requests_per_s, "req/s",
                    at_least=READ_RPS_TARGET, ok=ok,
                ),
                measured(f"GET /listings/{{id}} p99, {name}", r.p99_ms, "ms", ok=ok),
            ]  # fmt: skip
    return figures


def _format_optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(results: list[ScenarioResult]) -> None:
    header = (
        f"{'backend':<11} {'scenario':<21} {'clients':>7} {'req/s':>8} {'p50 ms':>8} "
        f"{'p90 ms':>8} {'p99 ms':>8} {'errors':>7}  {'target':<16} {'met':<4} "
        f"{'cpu srv/cli/all':>16} {'srv ms/req':>10} {'db ms/req':>9}"
    )
    print("\n" + header)
    print("-" * len(header))
    for r in results:
        cpu = (
            f"{r.cpu_cores_server:.2f}/{r.cpu_cores_client:.2f}/{r.cpu_cores_machine:.2f}"
            if r.cpu_cores_server is not None and r.cpu_cores_machine is not None
            else "-"
        )
        met = "-" if r.target_met is None else "yes" if r.target_met else "NO"
        print(
            f"{r.backend:<11} {SCENARIO_LABELS[r.scenario]:<21} {r.clients:>7} "
            f"{r.requests_per_s:>8,.0f} {r.p50_ms:>8.1f} {r.p90_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.errors:>7}  {r.target:<16} {met:<4} {cpu:>16} "
            f"{_format_optional(r.server_cpu_ms_per_request):>10} "
            f"{_format_optional(r.database_cpu_ms_per_request):>9}"
        )
        if r.error_breakdown:
            print(f"{'':<33}errors by kind: {r.error_breakdown}")
    print(
        "cpu = cores busy during the measured window: server processes / the load generator "
        "(wrk or this process) / whole machine (PostgreSQL's own processes are only in 'all'); "
        "srv ms/req = server CPU per "
        "request; db ms/req = CPU of the PostgreSQL backends of the bench database per request"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=[*BACKENDS, "all"], default="all")
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=5_000, help="rows per executemany")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="uvicorn worker processes (default: one per core of a 2-core machine; see README)",
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument(
        "--probe",
        type=float,
        default=5.0,
        help="seconds of a 1-client run per scenario after the main runs (service time "
        "without queueing; no target); 0 to skip",
    )
    parser.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        choices=["search", "read"],
        help="run only this scenario (repeatable; default both)",
    )
    parser.add_argument("--seed", type=int, default=20_260_101)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the bench databases (SQLite file, PG database)"
    )
    args = parser.parse_args(argv)
    args.scenarios = args.scenarios or ["search", "read"]
    if args.listings < 1_000:
        parser.error("--listings must be at least 1000")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = bench_home()
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    print(
        f"Mercado catalog API benchmark: {args.listings:,} listings, {args.workers} uvicorn "
        f"worker(s), {args.clients} clients, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    idle_load = machine_load()
    if idle_load is not None:
        print(f"machine load before starting: {idle_load:.2f} of {os.cpu_count()} cores busy")
        if idle_load > 0.25 * (os.cpu_count() or 1):
            print(
                "WARNING: other processes are using the CPU; the figures below will be lower "
                "than on an idle machine (see the 'all' CPU column)"
            )
    results: list[ScenarioResult] = []
    skipped: list[str] = []
    for backend in backends:
        backend_results = bench_backend(backend, args, home)
        if not backend_results:
            skipped.append(backend)
        results += backend_results

    if results:
        print_table(results)
    if skipped:
        print(f"skipped: {', '.join(skipped)}")
    if args.json:
        payload = {
            "benchmark": "api_catalog",
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "settings": {
                "listings": args.listings,
                "sellers": args.sellers,
                "workers": args.workers,
                "clients": args.clients,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "probe_s": args.probe,
                "machine_load_before": idle_load,
                "seed": args.seed,
            },
            "targets": {
                "search_p99_ms_below": SEARCH_P99_TARGET_MS,
                "read_requests_per_s_at_least": READ_RPS_TARGET,
            },
            "results": [
                {
                    **asdict(r),
                    "server_cpu_ms_per_request": r.server_cpu_ms_per_request,
                    "database_cpu_ms_per_request": r.database_cpu_ms_per_request,
                }
                for r in results
            ],
            "skipped": skipped,
        }
        write_figures(args.json, figures_of(results), **payload)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
