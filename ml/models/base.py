"""The one interface of every recommender: ``fit(data)`` then ``score(user_rows)``.

Models are dataclasses whose fields are their configuration, so ``to_dict`` and
``ml.models.model_from_dict`` round-trip them; fitted state lives in private attributes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Self

import numpy as np

from ml.data import TrainingData


@dataclass
class Recommender(ABC):
    family: ClassVar[str]

    @property
    def name(self) -> str:
        """The family and the parameters that differ from the defaults, e.g.
        ``ease(profile_half_life=5.0)``."""
        defaults = asdict(type(self)())
        changed = {k: v for k, v in asdict(self).items() if k != "seed" and defaults[k] != v}
        inside = ",".join(f"{k}={v}" for k, v in changed.items())
        return f"{self.family}({inside})" if inside else self.family

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, **asdict(self)}

    @abstractmethod
    def fit(self, data: TrainingData) -> Self:
        """Learn from ``data`` (its weights, recency and features)."""

    @abstractmethod
    def score(self, user_rows: np.ndarray) -> np.ndarray:
        """float32 [len(user_rows), n_items]: higher is better; -inf never recommends."""

    def score_candidates(self, user_rows: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(item rows, their scores) for models that can only score some items (``None``:
        every item, in order), so that ranking skips the others."""
        return None, self.score(user_rows)

    def embeddings(self) -> dict[str, np.ndarray] | None:
        """User/item embeddings and biases, for models that have them."""
        return None
