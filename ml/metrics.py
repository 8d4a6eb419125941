"""Ranking metrics on top-k lists, per user and averaged.

Inputs share one shape convention: ``ranked`` is int [n_users, k] item rows best first
(-1 = padding), ``relevant`` a csr [n_users, n_items] whose non-zeros are the test
positives of the same users. Averages are over users with at least one test positive.
Precision divides by k, as ``lightfm.evaluation`` does.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hits(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """bool [n_users, k]: whether each ranked item is a test positive."""
    relevant = relevant.tocsr()
    result = np.zeros(ranked.shape, dtype=bool)
    for row in range(ranked.shape[0]):
        positives = relevant.indices[relevant.indptr[row] : relevant.indptr[row + 1]]
        result[row] = np.isin(ranked[row], positives) & (ranked[row] >= 0)
    return result


def _evaluated(relevant: sp.csr_matrix) -> np.ndarray:
    return np.diff(relevant.tocsr().indptr) > 0


def precision_at_k(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per user, hits in the top k / k; range [0, 1]."""
    mask = _evaluated(relevant)
    return hits(ranked, relevant)[mask].sum(axis=1) / ranked.shape[1]


def recall_at_k(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per user, hits in the top k / test positives; range [0, 1]."""
    mask = _evaluated(relevant)
    n_relevant = np.diff(relevant.tocsr().indptr)[mask]
    return hits(ranked, relevant)[mask].sum(axis=1) / n_relevant


def ndcg_at_k(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per user, DCG of the top k (binary gains, 1/log2(rank + 1)) over the ideal DCG;
    range [0, 1]."""
    mask = _evaluated(relevant)
    k = ranked.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits(ranked, relevant)[mask] * discounts).sum(axis=1)
    n_ideal = np.minimum(np.diff(relevant.tocsr().indptr)[mask], k)
    ideal = np.cumsum(discounts)[n_ideal - 1]
    return dcg / ideal


def map_at_k(ranked: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per user, average precision at k: the mean of precision@i over the ranks i of the
    hits, divided by min(k, test positives); range [0, 1]."""
    mask = _evaluated(relevant)
    k = ranked.shape[1]
    hit = hits(ranked, relevant)[mask]
    precision_at_i = np.cumsum(hit, axis=1) / np.arange(1, k + 1)
    n_relevant = np.minimum(np.diff(relevant.tocsr().indptr)[mask], k)
    return (precision_at_i * hit).sum(axis=1) / n_relevant


def auc(scores: np.ndarray, relevant: sp.csr_matrix, exclude: sp.csr_matrix) -> np.ndarray:
    """Per user, the probability that a test positive scores above a negative (ties count
    half); items in ``exclude`` (training positives) are neither. Range [0, 1]."""
    relevant = relevant.tocsr()
    exclude = exclude.tocsr()
    result = []
    for row in np.flatnonzero(_evaluated(relevant)):
        positives = relevant.indices[relevant.indptr[row] : relevant.indptr[row + 1]]
        excluded = exclude.indices[exclude.indptr[row] : exclude.indptr[row + 1]]
        is_negative = np.ones(scores.shape[1], dtype=bool)
        is_negative[positives] = False
        is_negative[excluded] = False
        negatives = np.sort(scores[row, is_negative])
        if not len(negatives):
            result.append(0.5)
            continue
        below = np.searchsorted(negatives, scores[row, positives], side="left")
        ties = np.searchsorted(negatives, scores[row, positives], side="right") - below
        result.append(float((below + 0.5 * ties).sum() / (len(positives) * len(negatives))))
    return np.asarray(result)


def catalogue_coverage(ranked: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list; range [0, 1]."""
    shown = np.unique(ranked[ranked >= 0])
    return len(shown) / n_items if n_items else 0.0


def novelty(ranked: np.ndarray, train_positives: sp.csr_matrix) -> float:
    """Mean self-information -log2(share of users who know the item) of the recommended
    items; higher means less popular items (0 = items everyone knows)."""
    n_users = train_positives.shape[0]
    known = np.asarray((train_positives > 0).sum(axis=0)).ravel()
    share = np.maximum(known, 1) / max(n_users, 1)
    shown = ranked[ranked >= 0]
    return float(np.mean(-np.log2(share[shown]))) if len(shown) else 0.0


def summary(
    ranked: np.ndarray,
    relevant: sp.csr_matrix,
    train_positives: sp.csr_matrix,
    scores: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric at ``k = ranked.shape[1]``, averaged over evaluated users."""
    k = ranked.shape[1]
    result = {
        f"precision@{k}": float(np.mean(precision_at_k(ranked, relevant))),
        f"recall@{k}": float(np.mean(recall_at_k(ranked, relevant))),
        f"ndcg@{k}": float(np.mean(ndcg_at_k(ranked, relevant))),
        f"map@{k}": float(np.mean(map_at_k(ranked, relevant))),
    }
    if scores is not None:
        result["auc"] = float(np.mean(auc(scores, relevant, train_positives)))
    result[f"coverage@{k}"] = catalogue_coverage(ranked, relevant.shape[1])
    result[f"novelty@{k}"] = novelty(ranked, train_positives)
    return result
