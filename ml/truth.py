"""The simulator's ground truth as a yardstick: how close each model's top-k comes to the
items a simulated shopper truly likes best.

``$MERCADO_HOME/sim/truth/`` (``simulator/truth.py``) holds the shoppers' latent tastes,
the catalogue and, in ``manifest.json``, the utility formula the simulated behaviour
samples from; ``sim/id_map.csv`` maps the simulator's keys to the shop's ids. A shopper's
true top-k is the k items of highest utility among those on sale (listed in the shop and
in the model's catalogue) that are not among their training positives, the same
exclusion the models' lists have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import metrics
from ml.ranking import batches, top_k

# The formula this module computes; a truth folder stating another one is refused.
UTILITY = (
    "log(pref_<category> + 1e-4) - (log(price_minor) - log(median_price_minor[category] * "
    "budget))**2 / (2 * price_tolerance**2) + 1.0 * (seller in favourite_sellers) "
    "+ item.quality - 0.5"
)


class TruthError(ValueError):
    """A truth folder that cannot be read as ``simulator/truth.py`` writes it."""


@dataclass(frozen=True)
class Truth:
    """Shoppers keyed by the warehouse's user key (the shop's account id, or
    ``client:<client_id>`` for shoppers who never signed up) and listed items keyed by
    the shop's listing id."""

    shoppers: pd.DataFrame  # budget, price_tolerance, favourite_sellers (set), pref_<c>
    items: pd.DataFrame  # category, price_minor, quality, seller_key
    median_price: dict[str, float]

    def utility(self, user_keys: list[str], item_ids: list[str]) -> np.ndarray:
        """float64 [users, items]: each shopper's utility for each item (``-inf`` for an
        item the truth does not list); users must be in ``shoppers``."""
        users = self.shoppers.loc[user_keys]
        known = self.items.reindex(item_ids)
        listed = known["category"].notna().to_numpy()
        slugs = list(self.median_price)
        category = known["category"].map({slug: n for n, slug in enumerate(slugs)})
        category = category.fillna(0).to_numpy(dtype=int)
        prefs = users[[f"pref_{slug}" for slug in slugs]].to_numpy(dtype=float)[:, category]
        price = np.log(known["price_minor"].fillna(1).to_numpy(dtype=float))
        median = np.log(np.array([self.median_price[slug] for slug in slugs]))[category]
        budget = np.log(users["budget"].to_numpy(dtype=float))[:, None]
        tolerance = users["price_tolerance"].to_numpy(dtype=float)[:, None]
        sellers = {key: n for n, key in enumerate(known["seller_key"].dropna().unique())}
        likes = np.zeros((len(users), len(sellers) + 1), dtype=bool)  # last column: none
        for row, favourites in enumerate(users["favourite_sellers"]):
            likes[row, [sellers[key] for key in favourites if key in sellers]] = True
        seller = known["seller_key"].map(sellers).fillna(len(sellers)).to_numpy(dtype=int)
        value = (
            np.log(prefs + 1e-4)
            - (price - median - budget) ** 2 / (2 * tolerance**2)
            + 1.0 * likes[:, seller]
            + known["quality"].fillna(0).to_numpy(dtype=float)
            - 0.5
        )
        return np.where(listed, value, -np.inf)


def read_truth(home: Path) -> Truth | None:
    """The truth under ``home/sim`` joined to the shop's ids, or ``None`` when there is
    none (data not simulated). Raises ``TruthError`` when it is there but unusable."""
    folder = home / "sim" / "truth"
    if not (folder / "manifest.json").is_file():
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        shoppers = pd.read_csv(
            folder / "shoppers.csv", dtype={"shopper_key": str, "client_id": str}
        )
        items = pd.read_csv(folder / "items.csv", dtype={"item_key": str, "seller_key": str})
        ids = pd.read_csv(home / "sim" / "id_map.csv", dtype=str)
    except (OSError, ValueError) as exc:
        raise TruthError(f"{folder}: {exc}") from None
    if manifest.get("utility") != UTILITY:
        raise TruthError(f"{folder}: the utility formula is not the one ml.truth computes")
    return truth_from_frames(shoppers, items, ids, manifest["category_median_price_minor"])


def truth_from_frames(
    shoppers: pd.DataFrame,
    items: pd.DataFrame,
    ids: pd.DataFrame,
    median_price: dict[str, float],
) -> Truth:
    """``Truth`` from the frames of the truth folder and the id map (``kind, key, shop_id``)."""
    shop_id = {
        kind: dict(zip(rows["key"], rows["shop_id"], strict=True))
        for kind, rows in ids.groupby("kind")
    }
    accounts = shop_id.get("shopper", {})
    listings = shop_id.get("item", {})
    keyed = shoppers.assign(
        user_key=[
            accounts.get(key, f"client:{client}")
            for key, client in zip(shoppers["shopper_key"], shoppers["client_id"], strict=True)
        ],
        favourite_sellers=shoppers["favourite_sellers"]
        .fillna("")
        .map(lambda text: frozenset(filter(None, str(text).split("|")))),
    ).set_index("user_key")
    listed = items[items["item_key"].isin(listings.keys())]
    listed = listed.assign(item_id=listed["item_key"].map(listings)).set_index("item_id")
    return Truth(
        shoppers=keyed,
        items=listed[["category", "price_minor", "quality", "seller_key"]],
        median_price={str(k): float(v) for k, v in median_price.items()},
    )


def true_top_k(
    truth: Truth, user_ids: list[str], item_ids: list[str], exclude: sp.csr_matrix, k: int
) -> np.ndarray:
    """int32 [users, k]: each user's k items of highest utility (item rows), ``exclude``
    (their training positives) left out; ties by lower row."""
    ranked = np.full((len(user_ids), k), -1, np.int32)
    for rows in batches(np.arange(len(user_ids)), len(item_ids)):
        scores = truth.utility([user_ids[r] for r in rows], item_ids)
        ranked[rows] = top_k(scores, k, exclude=exclude[rows])[0]
    return ranked


def truth_metrics(ranked: np.ndarray, truth_ranked: np.ndarray, n_items: int) -> dict[str, float]:
    """Recall@k and NDCG@k of the models' lists against the true top-k (binary relevance:
    being among the true top-k); range [0, 1]."""
    rows = np.repeat(np.arange(len(truth_ranked)), truth_ranked.shape[1])
    cols = truth_ranked.ravel()
    keep = cols >= 0
    relevant = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (rows[keep], cols[keep])),
        shape=(len(truth_ranked), n_items),
    )
    if not relevant.nnz:
        return {}
    k = ranked.shape[1]
    return {
        f"truth_recall@{k}": float(np.mean(metrics.recall_at_k(ranked, relevant))),
        f"truth_ndcg@{k}": float(np.mean(metrics.ndcg_at_k(ranked, relevant))),
    }
