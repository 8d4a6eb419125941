"""Baselines that ignore the user's own taste (popularity) or use only their categories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd

from ml import columns as c
from ml.data import TrainingData
from ml.models.base import Recommender


@dataclass
class Popularity(Recommender):
    """Items by how many users interacted with them."""

    family = "popularity"

    def fit(self, data: TrainingData) -> Self:
        self._counts = np.asarray(data.positives.sum(axis=0)).ravel().astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return np.tile(self._counts, (len(user_rows), 1))


@dataclass
class CategoryPopularity(Recommender):
    """Recent popularity within the user's categories: an item scores its category's
    share of the user's weights plus its normalised popularity over the last
    ``window_fraction`` of the training period (items without a category count as one
    category)."""

    family = "category_popularity"
    window_fraction: float = 0.25

    def fit(self, data: TrainingData) -> Self:
        frame = data.frame
        times = pd.to_numeric(frame[c.TIMESTAMP], errors="coerce")
        if times.notna().any():
            start, end = times.min(), times.max()
            recent = frame[times >= end - (end - start) * self.window_fraction]
        else:
            recent = frame
        counts = np.bincount(recent[c.ITEM_ROW], minlength=data.shape[1]).astype(np.float32)
        self._recent = counts / max(float(counts.max()), 1.0)
        labels = [category if category is not None else "" for category in data.item_category]
        self._codes, uniques = pd.factorize(pd.Series(labels))
        one_hot = np.zeros((data.shape[1], len(uniques)), dtype=np.float32)
        one_hot[np.arange(data.shape[1]), self._codes] = 1.0
        affinity = data.weights @ one_hot
        totals = affinity.sum(axis=1, keepdims=True)
        self._affinity = np.divide(
            affinity, totals, out=np.zeros_like(affinity), where=totals > 0
        ).astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return self._affinity[user_rows][:, self._codes] + self._recent
