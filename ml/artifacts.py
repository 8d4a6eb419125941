"""The recommender artifact, format 1 (``ml/README.md``): one folder per version, written
under a temporary name and renamed into place when complete; ``LATEST`` and
``CHALLENGER`` name a version and are replaced atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml import columns as c
from ml import outputs
from ml.config import TrainingConfig
from ml.data import TrainingData
from ml.evaluation import Evaluation
from ml.models import Recommender
from ml.serving import FORMAT, LATEST, POINTERS, ArtifactError, write_pointer


@dataclass
class Bundle:
    """Everything a version folder holds, before it is written."""

    manifest: dict[str, Any]
    json_files: dict[str, Any]
    npz_files: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def artifact_root(home: Path) -> Path:
    """``$MERCADO_HOME/artifacts/recommender``."""
    return home / "artifacts" / "recommender"


def git_revision(repo: Path | None = None) -> str:
    """The checked-out commit, or ``unknown`` outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo or Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def data_partitions(frame: pd.DataFrame) -> dict[str, Any]:
    """First and last day and the row count of a training frame."""
    times = frame[c.TIMESTAMP]
    if pd.api.types.is_numeric_dtype(times):
        times = pd.to_datetime(times, unit="s", utc=True)
    else:
        times = pd.to_datetime(times, utc=True)
    first, last = times.min(), times.max()
    return {
        "first_day": None if pd.isna(first) else first.date().isoformat(),
        "last_day": None if pd.isna(last) else last.date().isoformat(),
        "rows": len(frame),
    }


def build_bundle(
    model: Recommender,
    data: TrainingData,
    evaluation: Evaluation,
    config: TrainingConfig,
    *,
    items: pd.DataFrame | None = None,
    purchases: pd.DataFrame | None = None,
    segments: pd.Series | None = None,
    revision: str | None = None,
    now: datetime | None = None,
    embedder: Recommender | None = None,
) -> Bundle:
    """The version of a fitted winner: its candidate lists, similar items, bought
    together (from ``purchases``: user/basket and item), popularity and metadata. Its
    embeddings are the winner's, or ``embedder``'s (fitted on the same ``data``) when the
    winner has none, so profiles and lookalikes always have user vectors."""
    created = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rec_items, rec_scores = outputs.recommend_all(model, data, config.candidates_per_user)
    sim_items, sim_scores = outputs.similar_items(data, config.similar_per_item)
    bought_items, lift = outputs.bought_together(
        purchases if purchases is not None else pd.DataFrame(columns=[c.USER, c.ITEM]),
        data.item_ids,
        config.bought_together_per_item,
        config.bought_together_min_support,
        basket="basket_id" if purchases is not None and "basket_id" in purchases else c.USER,
    )
    id_maps = {"users": data.user_ids, "items": data.item_ids}
    digest = hashlib.sha256(json.dumps([config.to_dict(), model.to_dict(), id_maps]).encode())
    digest.update(rec_items.tobytes())
    version = f"{created:%Y%m%dT%H%M%SZ}-{model.family}-{digest.hexdigest()[:8]}"
    manifest = {
        "format": FORMAT,
        "version": version,
        "model_family": model.family,
        "model": model.to_dict(),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "git_revision": revision or git_revision(),
        "data_partitions": data_partitions(data.frame),
        "config": config.to_dict(),
        "candidates_per_user": config.candidates_per_user,
    }
    npz_files = {
        "recommendations.npz": {"items": rec_items, "scores": rec_scores},
        "similar.npz": {"items": sim_items, "scores": sim_scores},
        "bought_together.npz": {"items": bought_items, "lift": lift},
    }
    json_files: dict[str, Any] = {
        "metrics.json": evaluation.to_dict(),
        "id_maps.json": id_maps,
        "popularity.json": outputs.popularity(data, config.candidates_per_user, segments),
        "items.json": item_attributes(data, items),
    }
    source = model if model.embeddings() is not None else embedder
    embeddings = source.embeddings() if source is not None else None
    if source is not None and embeddings is not None:
        described = {"model": source.name, "config": source.to_dict(), "winner": source is model}
        manifest["embeddings"] = described
        json_files["metrics.json"]["embeddings"] = described
        features = getattr(source, "feature_embeddings", None)
        npz_files["embeddings.npz"] = {
            k: v.astype(np.float32)
            for k, v in {**embeddings, **(features() if features else {})}.items()
        }
        _, user_features, _, item_features = data.dataset.mapping()
        json_files["features.json"] = {
            "definitions": data.feature_definitions,
            "user_features": sorted(user_features, key=user_features.__getitem__),
            "item_features": sorted(item_features, key=item_features.__getitem__),
        }
    return Bundle(manifest, json_files, npz_files)


def item_attributes(data: TrainingData, items: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    """``{item_id: {"category_id", "seller_id"}}`` for the items of the map."""
    sellers: dict[str, Any] = {}
    if items is not None and c.SELLER in items:
        sellers = dict(zip(items[c.ITEM].astype(str), items[c.SELLER], strict=True))
    return {
        item: {"category_id": category, "seller_id": _plain(sellers.get(item))}
        for item, category in zip(data.item_ids, data.item_category, strict=True)
    }


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_version(root: Path, bundle: Bundle) -> Path:
    """The bundle as ``root/<version>/``, complete or not at all."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / bundle.version
    if final.exists():
        raise ArtifactError(f"version {bundle.version} already exists")
    temporary = root / f".tmp-{bundle.version}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        for name, arrays in bundle.npz_files.items():
            with (temporary / name).open("wb") as handle:
                np.savez_compressed(handle, **arrays)
        for name, content in {**bundle.json_files, "manifest.json": bundle.manifest}.items():
            (temporary / name).write_text(json.dumps(content, indent=1, default=_json_value))
        os.replace(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def read_pointer(root: Path, pointer: str = LATEST) -> str | None:
    """The version a pointer names, or ``None`` when it is not set."""
    path = root / pointer
    return path.read_text().strip() if path.exists() else None


def set_pointer(root: Path, version: str, pointer: str = LATEST) -> None:
    """Point ``pointer`` at an existing, complete ``version`` (``serving.write_pointer``,
    after checking the version)."""
    if pointer not in POINTERS:
        raise ArtifactError(f"pointer must be one of {', '.join(POINTERS)}")
    read_manifest(root, version)
    write_pointer(root, pointer, version)


def publish(root: Path, version: str) -> None:
    """Make ``version`` the champion (``LATEST``): to promote, pin or roll back."""
    set_pointer(root, version, LATEST)


def read_manifest(root: Path, version: str) -> dict[str, Any]:
    if not version or "/" in version or version.startswith("."):
        raise ArtifactError(f"not a version name: {version!r}")
    path = root / version / "manifest.json"
    if not path.exists():
        raise ArtifactError(f"no complete version {version} in {root}")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ArtifactError(f"version {version} has format {manifest.get('format')}, not {FORMAT}")
    return manifest


def load_version(root: Path, version: str) -> dict[str, Any]:
    """Every file of a version: JSON files as objects, npz files as dicts of arrays."""
    read_manifest(root, version)
    folder = root / version
    loaded: dict[str, Any] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".json":
            loaded[path.name] = json.loads(path.read_text())
        elif path.suffix == ".npz":
            with np.load(path) as arrays:
                loaded[path.name] = {name: arrays[name] for name in arrays.files}
    return loaded


def versions(root: Path) -> list[str]:
    """Complete versions, oldest first."""
    if not root.exists():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if (p / "manifest.json").exists() and not p.name.startswith(".")
    )
