"""Matrix factorisation models: implicit's ALS and LightFM (WARP, with or without the
user and item features of ``ml.data``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from lightfm import LightFM
from threadpoolctl import threadpool_limits

from ml.config import DEFAULT_SEED
from ml.data import TrainingData
from ml.models.base import Recommender


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class ALS(Recommender):
    """Implicit alternating least squares on confidence ``1 + alpha x weight``."""

    family = "als"
    factors: int = 64
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 10.0
    seed: int = DEFAULT_SEED

    def fit(self, data: TrainingData) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"):  # implicit runs its own threads
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                iterations=self.iterations,
                alpha=self.alpha,
                random_state=self.seed,
                num_threads=_threads(),
            )
            model.fit(data.weights, show_progress=False)
        self._users = np.asarray(model.user_factors, dtype=np.float32)
        self._items = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return self._users[user_rows] @ self._items.T

    def embeddings(self) -> dict[str, np.ndarray]:
        return {
            "user_embeddings": self._users,
            "user_biases": np.zeros(len(self._users), np.float32),
            "item_embeddings": self._items,
            "item_biases": np.zeros(len(self._items), np.float32),
        }


@dataclass
class LightFMHybrid(Recommender):
    """LightFM with the WARP loss; with ``use_features`` users and items are the sums of
    their identity and attribute embeddings, so new listings get embeddings from their
    attributes alone."""

    family = "lightfm"
    estimator: ClassVar[type[LightFM]] = LightFM  # tests pin its embeddings in a subclass
    components: int = 30
    epochs: int = 30
    learning_rate: float = 0.05
    item_alpha: float = 0.0
    user_alpha: float = 0.0
    use_features: bool = True
    seed: int = DEFAULT_SEED
    threads: int = 1  # more is faster, but LightFM's parallel updates do not repeat

    def fit(self, data: TrainingData) -> Self:
        model = self.estimator(
            no_components=self.components,
            loss="warp",
            learning_rate=self.learning_rate,
            item_alpha=self.item_alpha,
            user_alpha=self.user_alpha,
            random_state=np.random.RandomState(self.seed),
        )
        self._user_features = data.user_features if self.use_features else None
        self._item_features = data.item_features if self.use_features else None
        model.fit(
            data.positives.tocoo(),
            sample_weight=data.weights.tocoo(),
            user_features=self._user_features,
            item_features=self._item_features,
            epochs=self.epochs,
            num_threads=self.threads,
        )
        self.model = model
        user_biases, user_embeddings = model.get_user_representations(self._user_features)
        item_biases, item_embeddings = model.get_item_representations(self._item_features)
        self._user_embeddings = user_embeddings.astype(np.float32)
        self._user_biases = user_biases.astype(np.float32)
        self._item_embeddings = item_embeddings.astype(np.float32)
        self._item_biases = item_biases.astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return self._user_embeddings[user_rows] @ self._item_embeddings.T + self._item_biases

    def embeddings(self) -> dict[str, np.ndarray]:
        return {
            "user_embeddings": self._user_embeddings,
            "user_biases": self._user_biases,
            "item_embeddings": self._item_embeddings,
            "item_biases": self._item_biases,
        }

    def feature_embeddings(self) -> dict[str, np.ndarray]:
        """Per feature token (identity features first), for cold-start representations."""
        return {
            "item_feature_embeddings": self.model.item_embeddings.astype(np.float32),
            "item_feature_biases": self.model.item_biases.astype(np.float32),
            "user_feature_embeddings": self.model.user_embeddings.astype(np.float32),
            "user_feature_biases": self.model.user_biases.astype(np.float32),
        }
