"""Tiny recommender artifacts in format v1 (ARTIFACT.md), written with numpy and json as
the training side writes them, for the serving tests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.serving import write_pointer


def _table(rows: Sequence[Sequence[str]], index: Mapping[str, int], width: int) -> np.ndarray:
    items = np.full((len(rows), width), -1, dtype=np.int32)
    for row, ids in enumerate(rows):
        for column, item_id in enumerate(ids[:width]):
            items[row, column] = index[item_id]
    return items


def _scores(items: np.ndarray) -> np.ndarray:
    """Descending scores along each row, -1 where the row is padding."""
    ranks = np.arange(items.shape[1], 0, -1, dtype=np.float32)
    return np.where(items >= 0, ranks, np.float32(-1)).astype(np.float32)


def write_version(
    root: Path,
    version: str,
    *,
    users: Mapping[str, Sequence[str]] | None = None,
    similar: Mapping[str, Sequence[str]] | None = None,
    bought_together: Mapping[str, Sequence[str]] | None = None,
    popular: Sequence[str] = (),
    by_category: Mapping[str, Sequence[str]] | None = None,
    items: Mapping[str, Mapping[str, Any]] | None = None,
    width: int = 20,
) -> Path:
    """A complete version folder under ``root`` (written aside, then renamed into place)."""
    users, similar, bought_together = users or {}, similar or {}, bought_together or {}
    by_category, items = by_category or {}, items or {}
    mentioned: list[str] = []
    lists = [*users.values(), *similar.values(), *bought_together.values()]
    lists += [*by_category.values(), popular, list(similar), list(bought_together), list(items)]
    for ids in lists:
        mentioned += [item for item in ids if item not in mentioned]
    index = {item_id: row for row, item_id in enumerate(mentioned)}
    user_keys = list(users)
    temp = root / f".tmp-{version}"
    temp.mkdir(parents=True)
    manifest = {
        "format": 1, "version": version, "model_family": "test", "created_at":
        "2026-12-07T09:00:00Z", "git_revision": "test", "data_partitions": {},
        "config": {}, "candidates_per_user": width,
    }  # fmt: skip
    (temp / "manifest.json").write_text(json.dumps(manifest))
    (temp / "metrics.json").write_text(json.dumps({"winner": "test"}))
    (temp / "id_maps.json").write_text(json.dumps({"users": user_keys, "items": mentioned}))
    recs = _table([users[key] for key in user_keys], index, width)
    np.savez(temp / "recommendations.npz", items=recs, scores=_scores(recs))
    sim = _table([similar.get(item, []) for item in mentioned], index, width)
    np.savez(temp / "similar.npz", items=sim, scores=_scores(sim))
    bought = _table([bought_together.get(item, []) for item in mentioned], index, width)
    np.savez(temp / "bought_together.npz", items=bought, lift=_scores(bought))
    popularity = {
        "global": list(popular),
        "by_category": {k: list(v) for k, v in by_category.items()},
    }
    (temp / "popularity.json").write_text(json.dumps(popularity))
    (temp / "items.json").write_text(json.dumps({k: dict(v) for k, v in items.items()}))
    os.replace(temp, root / version)
    return root / version


def publish(root: Path, version: str, pointer: str = "LATEST", **contents: Any) -> Path:
    """Write a version and point ``LATEST`` (or ``CHALLENGER``) at it."""
    folder = write_version(root, version, **contents)
    write_pointer(root, pointer, version)
    return folder
