"""The published recommender's user embeddings (``embeddings.npz`` of the version
``LATEST`` names: the winner's, or, when the winner has none such as ``ease``, the best
embedding model's of the same training run)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml import artifacts


@dataclass(frozen=True)
class UserEmbeddings:
    """One row of ``vectors`` per key of ``users`` (``None`` where an account was erased)."""

    version: str
    users: list[str | None]
    vectors: np.ndarray

    def for_customers(self, customer_ids: pd.Series) -> list[np.ndarray | None]:
        """Each customer's vector (float32), ``None`` for customers the model does not know."""
        known = pd.Index([u if u is not None else f"\0erased{i}" for i, u in enumerate(self.users)])
        rows = known.get_indexer(customer_ids.astype(str))
        vectors = list(self.vectors[np.maximum(rows, 0)].astype(np.float32))
        return [vector if row >= 0 else None for vector, row in zip(vectors, rows, strict=True)]


def published_user_embeddings(root: Path) -> UserEmbeddings | None:
    """The ``LATEST`` version's user embeddings, or ``None`` when nothing is published or
    the published model has no embeddings."""
    version = artifacts.read_pointer(root)
    if version is None:
        return None
    artifacts.read_manifest(root, version)
    folder = root / version
    if not (folder / "embeddings.npz").exists():
        return None
    users = json.loads((folder / "id_maps.json").read_text())["users"]
    with np.load(folder / "embeddings.npz") as arrays:
        vectors = arrays["user_embeddings"]
    return UserEmbeddings(version=version, users=users, vectors=vectors)
