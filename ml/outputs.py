"""What training serves: top-k per user, similar items, frequently bought together,
popularity for cold start and fallbacks, and the reason of each recommendation.

Request-time filters (stock, status, per-seller caps, category diversity) are
``ml.serving.pick``'s, the one re-ranking step of the shop and of training alike; the
candidate lists are wider than k so that they leave room for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as c
from ml.data import TrainingData
from ml.models import Recommender
from ml.models.neighbours import cosine_similarity
from ml.ranking import PADDING, batches, top_k

FOR_YOU = "for_you"


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str  # for_you, similar_to:<id>, bought_with:<id>, popular_in:<category>
    fallback: bool = False


def recommend_all(model: Recommender, data: TrainingData, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every user's ``n`` best items (item rows, -1 padding), training positives
    excluded: int32 and float32 [n_users, n]."""
    n_users = data.shape[0]
    items = np.full((n_users, n), PADDING, np.int32)
    scores = np.full((n_users, n), PADDING, np.float32)
    positives = data.positives
    for rows in batches(np.arange(n_users), data.shape[1]):
        items[rows], scores[rows] = recommend(model, rows, n, positives[rows])
    return items, scores


def recommend(
    model: Recommender, user_rows: np.ndarray, n: int, exclude: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best item rows of each user (``exclude``: their rows' items never
    returned), ranking only the items the model can score."""
    columns, scores = model.score_candidates(user_rows)
    if columns is None:
        return top_k(scores, n, exclude=exclude)
    local, best = top_k(scores, n, exclude=exclude[:, columns])
    return np.where(local >= 0, columns[np.maximum(local, 0)], PADDING).astype(np.int32), best


def similar_items(data: TrainingData, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the ``n`` items most often seen by the same users (cosine of the item
    columns): int32 and float32 [n_items, n], -1 padding."""
    similarity = cosine_similarity(data.positives)
    n_items = data.shape[1]
    items = np.full((n_items, n), PADDING, np.int32)
    scores = np.full((n_items, n), PADDING, np.float32)
    for row in range(n_items):
        start, end = similarity.indptr[row], similarity.indptr[row + 1]
        values = similarity.data[start:end]
        order = np.lexsort((similarity.indices[start:end], -values))[:n]
        items[row, : len(order)] = similarity.indices[start:end][order]
        scores[row, : len(order)] = values[order]
    return items, scores


def bought_together(
    purchases: pd.DataFrame,
    item_ids: Sequence[str],
    n: int,
    min_support: int,
    basket: str = c.USER,
) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the items bought in the same baskets (by default: by the same user) most
    above chance, by lift = n(a and b) x baskets / (n(a) x n(b)), among pairs seen in at
    least ``min_support`` baskets: int32 items and float32 lift [n_items, n], -1 padding.

    Examples
    --------
    >>> buys = pd.DataFrame({"user_id": ["u", "u", "v", "v", "w"],
    ...                      "item_id": ["a", "b", "a", "b", "c"]})
    >>> bought_together(buys, ["a", "b", "c"], 2, min_support=2)[0].tolist()
    [[1, -1], [0, -1], [-1, -1]]
    """
    rows = {item: row for row, item in enumerate(item_ids)}
    known = purchases[purchases[c.ITEM].astype(str).isin(rows.keys())]
    n_items = len(item_ids)
    items = np.full((n_items, n), PADDING, np.int32)
    lift = np.full((n_items, n), PADDING, np.float32)
    if known.empty:
        return items, lift
    baskets, basket_index = np.unique(known[basket].astype(str), return_inverse=True)
    matrix = sp.csr_matrix(
        (
            np.ones(len(known), np.float32),
            (basket_index, known[c.ITEM].astype(str).map(rows).to_numpy()),
        ),
        shape=(len(baskets), n_items),
    )
    matrix.data[:] = 1.0  # a basket counts once per item
    pairs = (matrix.T @ matrix).tocsr()
    counts = pairs.diagonal()
    pairs.setdiag(0)
    pairs.eliminate_zeros()
    for row in range(n_items):
        start, end = pairs.indptr[row], pairs.indptr[row + 1]
        others, together = pairs.indices[start:end], pairs.data[start:end]
        keep = together >= min_support
        others, together = others[keep], together[keep]
        values = together * len(baskets) / (counts[row] * counts[others])
        order = np.lexsort((others, -values))[:n]
        items[row, : len(order)] = others[order]
        lift[row, : len(order)] = values[order]
    return items, lift


def popularity(data: TrainingData, n: int, segments: pd.Series | None = None) -> dict[str, Any]:
    """Item ids by number of users, overall, per category and per user segment
    (``segments``: a label per user id, e.g. region), for cold start and fallbacks."""
    positives = data.positives
    counts = np.asarray(positives.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(counts)), -counts))
    order = order[counts[order] > 0]
    item_ids = data.item_ids
    by_category: dict[str, list[str]] = {}
    for row in order:
        category = data.item_category[row]
        if category is not None and len(by_category.setdefault(category, [])) < n:
            by_category[category].append(item_ids[row])
    result: dict[str, Any] = {
        "global": [item_ids[row] for row in order[:n]],
        "by_category": by_category,
    }
    if segments is not None:
        by_segment = {}
        labels = pd.Series(data.user_ids).map(segments)
        for label in sorted(labels.dropna().unique()):
            members = np.flatnonzero((labels == label).to_numpy())
            seg_counts = np.asarray(positives[members].sum(axis=0)).ravel()
            seg_order = np.lexsort((np.arange(len(seg_counts)), -seg_counts))
            seg_order = seg_order[seg_counts[seg_order] > 0][:n]
            by_segment[str(label)] = [item_ids[row] for row in seg_order]
        result["by_segment"] = by_segment
    return result


def cold_start_user(
    popular: dict[str, Any],
    k: int,
    *,
    category: str | None = None,
    segment: str | None = None,
    exclude: Iterable[str] = (),
) -> list[Recommendation]:
    """A new user's list: popular in the category they are looking at, then in their
    segment, then overall; every entry is a fallback."""
    seen = set(exclude)
    chosen: list[Recommendation] = []
    sources: list[tuple[str, list[str]]] = []
    if category is not None:
        sources.append((f"popular_in:{category}", popular["by_category"].get(category, [])))
    if segment is not None:
        sources.append(("popular", popular.get("by_segment", {}).get(segment, [])))
    sources.append(("popular", popular["global"]))
    for reason, item_ids in sources:
        for position, item in enumerate(item_ids):
            if len(chosen) == k:
                return chosen
            if item not in seen:
                seen.add(item)
                chosen.append(Recommendation(item, float(-position), reason, fallback=True))
    return chosen


def new_item_embedding(
    tokens: Iterable[str],
    feature_map: dict[str, int],
    feature_embeddings: np.ndarray,
    feature_biases: np.ndarray,
) -> tuple[np.ndarray, float]:
    """A listing unseen in training represented as LightFM represents items: the mean
    (normalised features) of its known feature tokens' embeddings, and their bias."""
    rows = [feature_map[t] for t in tokens if t in feature_map]
    if not rows:
        return np.zeros(feature_embeddings.shape[1], np.float32), 0.0
    return feature_embeddings[rows].mean(axis=0), float(feature_biases[rows].mean())


def nearest_items(vector: np.ndarray, item_embeddings: np.ndarray, n: int) -> np.ndarray:
    """Rows of the ``n`` items whose embeddings have the highest cosine with ``vector``."""
    norms = np.linalg.norm(item_embeddings, axis=1) * (np.linalg.norm(vector) or 1.0)
    cosine = item_embeddings @ vector / np.where(norms > 0, norms, 1.0)
    return top_k(cosine[None, :], n)[0][0]


def explain(
    recommended: Sequence[int],
    history: Sequence[int],
    similar: np.ndarray,
    bought: np.ndarray,
    item_ids: Sequence[str],
) -> list[str]:
    """The reason of each recommended item row: ``bought_with:<id>`` when it is bought
    together with an item of the user's ``history`` (most recent first), else
    ``similar_to:<id>`` when it is similar to one, else ``for_you``."""
    reasons = []
    for item in recommended:
        reason = FOR_YOU
        for source, prefix in ((bought, "bought_with"), (similar, "similar_to")):
            anchor = next((h for h in history if item in source[h]), None)
            if anchor is not None:
                reason = f"{prefix}:{item_ids[anchor]}"
                break
        reasons.append(reason)
    return reasons
