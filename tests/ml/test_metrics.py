"""Metrics agree with a naive re-implementation and with lightfm.evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from lightfm import LightFM
from lightfm.evaluation import auc_score, precision_at_k, recall_at_k

from ml import metrics
from ml.ranking import top_k


def naive(ranked: list[list[int]], relevant: list[set[int]], k: int) -> dict[str, float]:
    p, r, n, m = [], [], [], []
    for items, truth in zip(ranked, relevant, strict=True):
        if not truth:
            continue
        items = items[:k]
        hit = [item in truth for item in items]
        p.append(sum(hit) / k)
        r.append(sum(hit) / len(truth))
        dcg = sum(1 / math.log2(i + 2) for i, h in enumerate(hit) if h)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(k, len(truth))))
        n.append(dcg / idcg)
        precisions = [sum(hit[: i + 1]) / (i + 1) for i, h in enumerate(hit) if h]
        m.append(sum(precisions) / min(k, len(truth)))
    return {"p": np.mean(p), "r": np.mean(r), "n": np.mean(n), "m": np.mean(m)}


def test_ranking_metrics_match_a_naive_implementation() -> None:
    rng = np.random.default_rng(3)
    n_users, n_items, k = 40, 30, 5
    ranked = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    truth = [set(rng.choice(n_items, rng.integers(0, 8), replace=False)) for _ in range(n_users)]
    relevant = sp.lil_matrix((n_users, n_items))
    for user, items in enumerate(truth):
        for item in items:
            relevant[user, item] = 1
    relevant = relevant.tocsr()
    expected = naive(ranked.tolist(), truth, k)

    assert np.mean(metrics.precision_at_k(ranked, relevant)) == pytest.approx(expected["p"])
    assert np.mean(metrics.recall_at_k(ranked, relevant)) == pytest.approx(expected["r"])
    assert np.mean(metrics.ndcg_at_k(ranked, relevant)) == pytest.approx(expected["n"])
    assert np.mean(metrics.map_at_k(ranked, relevant)) == pytest.approx(expected["m"])


def test_a_perfect_list_scores_one_and_padding_never_hits() -> None:
    relevant = sp.csr_matrix(np.array([[1, 1, 0, 0]]))
    assert metrics.ndcg_at_k(np.array([[1, 0, 2]]), relevant)[0] == pytest.approx(1.0)
    assert metrics.map_at_k(np.array([[1, 0, 2]]), relevant)[0] == pytest.approx(1.0)
    assert metrics.precision_at_k(np.array([[-1, -1, 2]]), relevant)[0] == 0.0


def test_coverage_and_novelty() -> None:
    train = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0]]))
    ranked = np.array([[0, 2], [0, -1]])
    assert metrics.catalogue_coverage(ranked, 4) == 0.5
    # item 0 known by both users (-log2 1 = 0), item 2 by none (counted as one: -log2 1/2).
    assert metrics.novelty(ranked, train) == pytest.approx((0 + 1 + 0) / 3)


@pytest.fixture(scope="module")
def fitted_lightfm() -> tuple[LightFM, sp.csr_matrix, sp.csr_matrix]:
    rng = np.random.default_rng(7)
    dense = (rng.random((60, 50)) < 0.15).astype(np.float32)
    test_mask = rng.random(dense.shape) < 0.3
    train = sp.csr_matrix(dense * ~test_mask)
    test = sp.csr_matrix(dense * test_mask)
    model = LightFM(no_components=8, loss="warp", random_state=np.random.RandomState(0))
    model.fit(train.tocoo(), epochs=5)
    return model, train, test


def test_metrics_agree_with_lightfm_evaluation(fitted_lightfm) -> None:
    model, train, test = fitted_lightfm
    users = np.repeat(np.arange(train.shape[0]), train.shape[1])
    items = np.tile(np.arange(train.shape[1]), train.shape[0])
    scores = model.predict(users, items).reshape(train.shape).astype(np.float32)
    k = 5
    ranked, _ = top_k(scores.copy(), k, exclude=train)

    ours_p = metrics.precision_at_k(ranked, test)
    ours_r = metrics.recall_at_k(ranked, test)
    ours_auc = metrics.auc(scores, test, train)

    np.testing.assert_allclose(ours_p, precision_at_k(model, test, train, k=k), atol=1e-6)
    np.testing.assert_allclose(ours_r, recall_at_k(model, test, train, k=k), atol=1e-6)
    np.testing.assert_allclose(ours_auc, auc_score(model, test, train), atol=1e-3)
