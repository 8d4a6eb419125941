"""Segments: k-means over standardised profile traits, each named by its dominant traits
("frequent low-price home buyers") and kept stable across runs.

Stability: the previous run's centroids (kept in profile units with their feature names)
seed this run's k-means, and each new cluster is matched to a previous one by the
Hungarian algorithm on centroid distance (``scipy.optimize.linear_sum_assignment``); a
match closer than half the median distance between previous centroids keeps the previous
id and name. Clusters left unmatched get fresh ids (above every id used before) and
fresh names. k-means is fitted on a fixed sample of at most ``fit_rows`` profiles and
assigns everyone, so a million profiles take seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

NUMERIC = ["frequency_log", "value_log", "inactive_days_log", "price_percentile", "visits_log"]
CATEGORY_PREFIX = "category:"
SIGNALS = ["view", "cart", "purchase", "search", "question", "review"]
LAPSED_DAYS = 60
# one-hot categories are not standardised but scaled: two customers of different top
# categories are this far apart times sqrt(2), about a standard deviation of a trait
CATEGORY_WEIGHT = 0.7


@dataclass(frozen=True)
class SegmentConfig:
    clusters: int = 8
    # at least this many profiles per cluster, else fewer clusters
    min_cluster_rows: int = 50
    fit_rows: int = 50_000
    seed: int = 0


@dataclass
class SegmentRun:
    """``members``: customer_id, segment_id, segment_name. ``segments``: segment_id, name,
    size, centroid (profile units, in ``features`` order), features, matched (kept from
    the previous run)."""

    members: pd.DataFrame
    segments: pd.DataFrame


def traits(profiles: pd.DataFrame) -> pd.DataFrame:
    """The clustering's inputs in profile units: log orders and value, log days since the
    last signal of any kind, price percentile, log recent visits, and one column per top
    category (1 for the customer's own)."""
    as_of = pd.to_datetime(profiles["as_of"], utc=True)
    last = pd.concat(
        [pd.to_datetime(profiles[f"last_{s}_at"], utc=True) for s in SIGNALS], axis=1
    ).max(axis=1)
    inactive = ((as_of - last).dt.total_seconds() / 86_400).fillna(730.0).clip(0, 730)
    frame = pd.DataFrame(
        {
            "frequency_log": np.log1p(profiles["orders_paid"].astype(float)),
            "value_log": np.log1p(profiles["lifetime_value_minor"].astype(float).clip(lower=0)),
            "inactive_days_log": np.log1p(inactive),
            "price_percentile": profiles["price_percentile"].astype(float).fillna(0.5),
            "visits_log": np.log1p(profiles["sessions_30d"].astype(float)),
        },
        index=profiles.index,
    )
    categories = pd.get_dummies(profiles["top_category"].astype("string"), dtype=float)
    categories.columns = [CATEGORY_PREFIX + str(name) for name in categories.columns]
    return pd.concat([frame, categories], axis=1)


def segment(
    profiles: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    config: SegmentConfig = SegmentConfig(),
) -> SegmentRun:
    """Cluster ``profiles`` (``build_profiles`` rows); ``previous`` is the last run's
    ``segments`` frame (segment_id, name, centroid, features), or None on the first run."""
    units = traits(profiles)
    features = list(units.columns)
    numeric = np.array([name in NUMERIC for name in features])
    mean = np.where(numeric, units.mean().to_numpy(), 0.0)
    spread = units.std(ddof=0).replace(0, 1).fillna(1).to_numpy()
    scale = np.where(numeric, spread, 1 / CATEGORY_WEIGHT)
    standard = (units.to_numpy() - mean) / scale
    k = max(1, min(config.clusters, len(units) // config.min_cluster_rows))
    k = min(k, len(units)) if len(units) else 0
    if k == 0:
        return SegmentRun(_members([], profiles, {}), _segments_frame([]))
    prev_standard = None
    if previous is not None and len(previous):
        prev_units = np.array(
            [
                _aligned(c, f, features)
                for c, f in zip(previous["centroid"], previous["features"], strict=True)
            ]
        )
        prev_standard = (prev_units - mean) / scale
    rng = np.random.default_rng(config.seed)
    fit_rows = (
        standard
        if len(standard) <= config.fit_rows
        else standard[np.sort(rng.choice(len(standard), config.fit_rows, replace=False))]
    )
    if prev_standard is not None and len(prev_standard) == k:
        model = KMeans(k, init=prev_standard, n_init=1, random_state=config.seed)
    else:
        model = KMeans(k, n_init=4, random_state=config.seed)
    with threadpool_limits(1):
        model.fit(fit_rows)
        labels = model.predict(standard)
    centroids = model.cluster_centers_
    ids, names, matched = _match(centroids, prev_standard, previous)
    fresh = [i for i in range(k) if ids[i] is None]
    next_id = (
        1 + max([int(x) for x in previous["segment_id"]], default=0) if previous is not None else 1
    )
    taken = {n for n in names if n}
    for offset, cluster in enumerate(fresh):
        ids[cluster] = next_id + offset
        names[cluster] = _unique(describe(profiles, units, labels == cluster), taken)
        taken.add(names[cluster])
    sizes = np.bincount(labels, minlength=k)
    rows = [
        {
            "segment_id": int(ids[i]),
            "name": names[i],
            "size": int(sizes[i]),
            "centroid": [float(v) for v in centroids[i] * scale + mean],
            "features": features,
            "matched": bool(matched[i]),
        }
        for i in range(k)
    ]
    return SegmentRun(
        _members(labels, profiles, {i: (ids[i], names[i]) for i in range(k)}), _segments_frame(rows)
    )


def _aligned(centroid: Sequence[float], names: Sequence[str], features: list[str]) -> np.ndarray:
    """A previous centroid in this run's feature order (0 for a category it did not have)."""
    known = dict(zip(names, centroid, strict=True))
    return np.array([float(known.get(name, 0.0)) for name in features])


def _match(
    centroids: np.ndarray, prev_standard: np.ndarray | None, previous: pd.DataFrame | None
) -> tuple[list[int | None], list[str | None], list[bool]]:
    k = len(centroids)
    ids: list[int | None] = [None] * k
    names: list[str | None] = [None] * k
    matched = [False] * k
    if prev_standard is None or previous is None:
        return ids, names, matched
    distance = np.linalg.norm(centroids[:, None, :] - prev_standard[None, :, :], axis=2)
    pairwise = np.linalg.norm(prev_standard[:, None, :] - prev_standard[None, :, :], axis=2)
    upper = pairwise[np.triu_indices(len(prev_standard), 1)]
    limit = 0.5 * float(np.median(upper)) if len(upper) else np.inf
    rows, cols = linear_sum_assignment(distance)
    for row, col in zip(rows, cols, strict=True):
        if distance[row, col] < limit:
            ids[row] = int(previous["segment_id"].iloc[col])
            names[row] = str(previous["name"].iloc[col])
            matched[row] = True
    return ids, names, matched


def describe(profiles: pd.DataFrame, units: pd.DataFrame, members: np.ndarray) -> str:
    """A name from the members' dominant traits: buying (browsers, one-time, repeat,
    frequent), lapsed when their median inactivity passes ``LAPSED_DAYS``, price (low-price,
    premium) and top category when most of them share one."""
    group = profiles.loc[members]
    orders = group["orders_paid"].astype(float)
    inactive = float(np.expm1(units.loc[members, "inactive_days_log"].median()))
    price = group["price_percentile"].astype(float).mean()
    words = []
    if inactive > LAPSED_DAYS:
        words.append("lapsed")
    buyers = profiles["orders_paid"][profiles["orders_paid"] > 0].astype(float)
    median_orders = float(orders.median())
    if median_orders == 0:
        kind = None
    elif len(buyers) and median_orders >= max(2.0, float(buyers.quantile(0.75))):
        words.append("frequent")
        kind = "buyers"
    elif median_orders <= 1:
        words.append("one-time")
        kind = "buyers"
    else:
        words.append("repeat")
        kind = "buyers"
    if pd.notna(price) and price < 0.4:
        words.append("low-price")
    elif pd.notna(price) and price > 0.6:
        words.append("premium")
    top = group["top_category"].value_counts(normalize=True)
    if len(top) and top.iloc[0] >= 0.5:
        words.append(str(top.index[0]))
    if kind is None:
        return (
            " ".join([*words, "browsers without a purchase"])
            if words
            else "browsers without a purchase"
        )
    return " ".join([*words, kind])


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def _members(labels: np.ndarray | list, profiles: pd.DataFrame, by_cluster: dict) -> pd.DataFrame:
    labels = np.asarray(labels, dtype=int)
    ids = np.array([by_cluster[i][0] for i in range(len(by_cluster))], dtype=np.int64)
    names = np.array([by_cluster[i][1] for i in range(len(by_cluster))], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": profiles["customer_id"].to_numpy(),
            "segment_id": ids[labels] if len(ids) else np.zeros(0, dtype=np.int64),
            "segment_name": names[labels] if len(names) else np.zeros(0, dtype=object),
        }
    )


def _segments_frame(rows: list[dict]) -> pd.DataFrame:
    columns = ["segment_id", "name", "size", "centroid", "features", "matched"]
    return pd.DataFrame(rows, columns=columns)
