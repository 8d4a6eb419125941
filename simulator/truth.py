"""Ground truth: what the simulated people really like, for scoring recommenders.

``$MERCADO_HOME/sim/truth/`` holds, keyed by the simulator's own stable keys:

* ``shoppers.csv`` — one row per shopper: ``client_id`` (the id their clickstream
  carries), latent tastes (``pref_<category>`` for every leaf category, summing to 1;
  ``budget``, ``price_tolerance``, favourite sellers, ``loyalty``), activity, join and
  churn days, consent per ad purpose, phone, channel, device;
* ``sellers.csv`` and ``items.csv`` — the catalogue as generated (categories, prices,
  quality, when each listing appears);
* ``manifest.json`` — seed and parameters, the utility formula, row counts and the
  SHA-256 of each file.

These files depend only on the seed and parameters: the same seed gives byte-identical
truth. The shop's own ids (users, listings, orders: random UUIDs the shop assigns) are
in ``$MERCADO_HOME/sim/id_map.csv`` (``kind, key, shop_id``), to join truth to the
clickstream and the warehouse. ``sim/last_run.json`` has the run's figures.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.population import Population

if TYPE_CHECKING:
    from simulator.behaviour import Behaviour
    from simulator.driver import RunReport, SimulationConfig

TRUTH_VERSION = 2  # 2: consent per ad purpose and phone (was one "consent" column)
UTILITY = (
    "log(pref_<category> + 1e-4) - (log(price_minor) - log(median_price_minor[category] * "
    "budget))**2 / (2 * price_tolerance**2) + 1.0 * (seller in favourite_sellers) "
    "+ item.quality - 0.5"
)


def truth_dir(home: Path) -> Path:
    return home / "sim" / "truth"


def _number(value: float) -> str:
    return f"{value:.6f}"


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_truth(population: Population, config: SimulationConfig, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    categories = population.categories
    sellers = population.sellers
    from simulator.vocabulary import VOCABULARY

    shopper_rows = []
    for shopper in population.shoppers:
        ranked = sorted(range(len(categories)), key=lambda k: (-shopper.preferences[k], k))
        shopper_rows.append(
            [
                shopper.key, shopper.client_id, shopper.email, shopper.join_day,
                shopper.churn_day, _number(shopper.churn_hazard), _number(shopper.activity),
                _number(shopper.budget), _number(shopper.price_tolerance),
                _number(shopper.loyalty), int(shopper.ad_user_data_consent),
                int(shopper.ad_personalization_consent), shopper.phone or "", shopper.channel,
                shopper.locale, _number(shopper.decline_rate), int(shopper.bad_address),
                "|".join(sellers[s].key for s in shopper.favourite_sellers),
                "|".join(categories[k] for k in ranked[:3]),
                *(_number(p) for p in shopper.preferences),
            ]
        )  # fmt: skip
    _write_csv(
        target / "shoppers.csv",
        [
            "shopper_key", "client_id", "email", "join_day", "churn_day", "churn_hazard",
            "activity", "budget", "price_tolerance", "loyalty", "ad_user_data_consent",
            "ad_personalization_consent", "phone", "channel",
            "locale", "decline_rate", "bad_address", "favourite_sellers", "top_categories",
            *(f"pref_{slug}" for slug in categories),
        ],
        shopper_rows,
    )  # fmt: skip
    _write_csv(
        target / "sellers.csv",
        ["seller_key", "email", "name", "categories", "quality", "ship_hours", "answer_rate",
         "price_level", "join_day"],
        [
            [s.key, s.email, s.name, "|".join(s.categories), _number(s.quality),
             _number(s.ship_hours), _number(s.answer_rate), _number(s.price_level), s.join_day]
            for s in sellers
        ],
    )  # fmt: skip
    _write_csv(
        target / "items.csv",
        ["item_key", "seller_key", "category", "title", "price_minor", "initial_stock",
         "quality", "condition", "created_day"],
        [
            [i.key, sellers[i.seller].key, i.category, i.title, i.price_minor, i.stock,
             _number(i.quality), i.condition, i.created_day]
            for i in population.items
        ],
    )  # fmt: skip
    files = ["shoppers.csv", "sellers.csv", "items.csv"]
    manifest = {
        "truth_version": TRUTH_VERSION,
        "seed": config.seed,
        "parameters": config.parameters(),
        "start": config.start.isoformat(),
        "days": config.days,
        "categories": categories,
        "category_median_price_minor": {
            slug: VOCABULARY[slug].median_price_minor for slug in categories
        },
        "utility": UTILITY,
        "id_map": "../id_map.csv (kind, key, shop_id): shop ids are not deterministic",
        "counts": {
            "shoppers": len(population.shoppers),
            "sellers": len(sellers),
            "items": len(population.items),
            "ad_user_data_consenting_shoppers": sum(
                s.ad_user_data_consent for s in population.shoppers
            ),
            "ad_personalization_consenting_shoppers": sum(
                s.ad_personalization_consent for s in population.shoppers
            ),
            "shoppers_with_phone": sum(s.phone is not None for s in population.shoppers),
        },
        "files": {name: _sha256(target / name) for name in files},
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return target


def write_ids(behaviour: Behaviour, home: Path) -> Path:
    """Simulator keys to the shop's ids, in the order the shop made them."""
    path = home / "sim" / "id_map.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [["category", slug, shop_id] for slug, shop_id in behaviour.category_ids.items()]
    rows += [list(row) for row in behaviour.ids]
    _write_csv(path, ["kind", "key", "shop_id"], rows)
    return path


def write_run_report(report: RunReport, home: Path) -> Path:
    from simulator.driver import dumps_report

    path = home / "sim" / "last_run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_report(report) + "\n")
    return path


def read_truth(target: Path) -> dict[str, list[dict[str, str]]]:
    """The truth files as rows of strings (for tests and quick looks)."""
    tables = {}
    for name in ("shoppers", "sellers", "items"):
        with (target / f"{name}.csv").open(encoding="utf-8") as handle:
            tables[name] = list(csv.DictReader(handle))
    return tables
