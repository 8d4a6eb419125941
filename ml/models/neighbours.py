"""Item-item models: cosine co-occurrence (item-kNN) and EASE (closed form).

Both learn item relations from all training weights and score a user by their profile,
optionally decayed by recency (``profile_half_life``: the user's n-th most recent
interaction counts ``0.5 ** ((n - 1) / half_life)``), so the latest interests weigh most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from ml.data import TrainingData
from ml.models.base import Recommender


@dataclass
class ItemKNN(Recommender):
    """Cosine similarity of item columns, keeping the ``neighbours`` closest per item."""

    family = "item_knn"
    neighbours: int = 100
    profile_half_life: float | None = None

    def fit(self, data: TrainingData) -> Self:
        self._profile = data.profile(self.profile_half_life)
        self._similarity = keep_top(cosine_similarity(data.positives), self.neighbours)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return np.asarray((self._profile[user_rows] @ self._similarity).todense(), np.float32)

    @property
    def similarity(self) -> sp.csr_matrix:
        return self._similarity


def cosine_similarity(positives: sp.csr_matrix) -> sp.csr_matrix:
    """items x items cosine of the item columns, zero diagonal."""
    columns = normalize(positives.T.tocsr().astype(np.float32), axis=1)
    similarity = (columns @ columns.T).tocsr()
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    return similarity


def keep_top(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Each row's ``n`` largest entries."""
    matrix = matrix.tocsr()
    rows, cols, values = [], [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        data = matrix.data[start:end]
        keep = np.argsort(-data, kind="stable")[:n]
        rows.append(np.full(len(keep), row))
        cols.append(matrix.indices[start:end][keep])
        values.append(data[keep])
    return sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=matrix.shape
    )


@dataclass
class EASE(Recommender):
    """Embarrassingly shallow autoencoder (Steck 2019): B = I - P / diag(P) with
    P = (XᵀX + λI)⁻¹, on the ``max_items`` most active items (its items x items inverse
    does not fit in memory for a large catalogue); other items never score."""

    family = "ease"
    regularization: float = 500.0
    max_items: int = 5000
    profile_half_life: float | None = None

    def fit(self, data: TrainingData) -> Self:
        positives = data.positives
        activity = np.asarray(positives.sum(axis=0)).ravel()
        order = np.argsort(-activity, kind="stable")[: self.max_items]
        self._items = np.sort(order[activity[order] > 0])
        x = positives[:, self._items]
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.regularization
        inverse = np.linalg.inv(gram)
        weights = inverse / -np.diag(inverse)
        weights[np.diag_indices_from(weights)] = 0.0
        self._weights = weights.astype(np.float32)
        self._profile = data.profile(self.profile_half_life)[:, self._items].tocsr()
        self._n_items = data.shape[1]
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        scores = np.full((len(user_rows), self._n_items), -np.inf, dtype=np.float32)
        scores[:, self._items] = self.score_candidates(user_rows)[1]
        return scores

    def score_candidates(self, user_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._items, np.asarray(self._profile[user_rows] @ self._weights, np.float32)
