"""The artifact is written whole or not at all, reads back, and pointers swap atomically."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml import artifacts
from ml import columns as c
from ml.config import TrainingConfig
from ml.evaluation import evaluate
from ml.models import model_from_dict
from ml.outputs import recommend_all
from ml.profiles.embeddings import published_user_embeddings
from ml.training import embedding_candidate
from tests.ml.conftest import frame

ROWS = [
    (f"u{u}", item, t)
    for u in range(12)
    for t, item in enumerate(["a", "b", "c"] if u % 2 else ["d", "e", "a"])
]
ITEMS = pd.DataFrame(
    {
        c.ITEM: list("abcde"),
        c.CATEGORY: ["k1", "k1", "k2", "k2", "k2"],
        c.SELLER: ["s1", "s1", "s2", "s2", "s3"],
    }
)


def bundle(family: str, second: int = 0) -> artifacts.Bundle:
    config = TrainingConfig(
        k=2,
        validation_last_n=1,
        candidates=({"family": "popularity"}, {"family": family}),
        candidates_per_user=3,
        similar_per_item=2,
        bought_together_per_item=2,
    )
    train = frame(ROWS)
    test = frame([("u0", "b", 9), ("u1", "d", 9)])
    evaluation, model, data = evaluate(train, test, config, {"kind": "hand-built"}, items=ITEMS)
    purchases = pd.DataFrame({c.USER: ["u1", "u1", "u2", "u2"], c.ITEM: ["a", "b", "a", "b"]})
    return artifacts.build_bundle(
        model, data, evaluation, config, items=ITEMS, purchases=purchases,
        revision="abc123", now=datetime(2026, 1, 2, 3, 4, second, tzinfo=UTC),
    )  # fmt: skip


def test_a_version_reads_back_as_the_format_says(tmp_path: Path) -> None:
    written = bundle("lightfm")
    folder = artifacts.write_version(tmp_path, written)
    loaded = artifacts.load_version(tmp_path, written.version)

    manifest = loaded["manifest.json"]
    assert folder.name == written.version == manifest["version"]
    assert written.version.startswith("20260102T030400Z-")
    assert manifest["format"] == 1 and manifest["git_revision"] == "abc123"
    assert manifest["created_at"] == "2026-01-02T03:04:00Z"
    assert manifest["data_partitions"]["rows"] == len(frame(ROWS))
    assert TrainingConfig.from_dict(manifest["config"]).k == 2
    users, items = loaded["id_maps.json"]["users"], loaded["id_maps.json"]["items"]
    recs = loaded["recommendations.npz"]
    assert recs["items"].dtype == np.int32 and recs["scores"].dtype == np.float32
    assert recs["items"].shape == (len(users), 3)
    u1_seen = {"a", "b", "c"}
    assert not {items[i] for i in recs["items"][users.index("u1")] if i >= 0} & u1_seen
    bought = loaded["bought_together.npz"]
    assert items[bought["items"][items.index("a")][0]] == "b"
    assert loaded["items.json"]["c"] == {"category_id": "k2", "seller_id": "s2"}
    assert loaded["popularity.json"]["global"][0] == "a"
    assert set(loaded["metrics.json"]["table"]) == {"popularity", "lightfm"}
    assert loaded["metrics.json"]["winner"] == manifest["model_family"]
    assert loaded["metrics.json"]["flags"]["train_positives_excluded"] is True
    if manifest["model_family"] == "lightfm":
        assert loaded["embeddings.npz"]["item_embeddings"].shape[0] == len(items)
        assert loaded["features.json"]["item_features"][: len(items)] == items


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    broken = bundle("ease")
    broken.json_files["metrics.json"] = {"table": object()}  # not serialisable
    with pytest.raises(TypeError):
        artifacts.write_version(tmp_path, broken)
    assert list(tmp_path.iterdir()) == []


def test_pointers_swap_to_complete_versions_only(tmp_path: Path) -> None:
    first = artifacts.write_version(tmp_path, bundle("ease", second=1)).name
    second = artifacts.write_version(tmp_path, bundle("ease", second=2)).name
    artifacts.publish(tmp_path, first)
    artifacts.set_pointer(tmp_path, second, "CHALLENGER")
    assert artifacts.read_pointer(tmp_path) == first
    assert (tmp_path / "LATEST").read_text() == first + "\n"
    artifacts.publish(tmp_path, second)  # promote
    artifacts.publish(tmp_path, first)  # roll back
    assert artifacts.read_pointer(tmp_path, "LATEST") == first
    assert artifacts.read_pointer(tmp_path, "CHALLENGER") == second
    with pytest.raises(artifacts.ArtifactError, match="no complete version"):
        artifacts.publish(tmp_path, "20990101T000000Z-ease-missing")
    assert artifacts.versions(tmp_path) == [first, second]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [first, second, "LATEST", "CHALLENGER"]
    )
    assert json.loads((tmp_path / first / "manifest.json").read_text())["version"] == first


def test_a_winner_without_embeddings_publishes_the_best_embedding_model_s(
    tmp_path: Path,
) -> None:
    config = TrainingConfig(
        k=2,
        validation_last_n=1,
        candidates=({"family": "ease"}, {"family": "als", "factors": 4}, {"family": "popularity"}),
        candidates_per_user=3,
    )
    evaluation, _, data = evaluate(
        frame(ROWS), frame([("u0", "b", 9), ("u1", "d", 9)]), config, {"kind": "hand-built"}
    )
    evaluation.winner = "ease"  # the simulated shop's usual winner, whichever won here
    winner = model_from_dict({"family": "ease"}).fit(data)
    chosen = embedding_candidate(evaluation)
    assert chosen is not None and chosen["family"] == "als"
    embedder = model_from_dict(chosen, seed=config.seed).fit(data)

    written = artifacts.build_bundle(winner, data, evaluation, config, embedder=embedder)
    artifacts.write_version(tmp_path, written)
    artifacts.publish(tmp_path, written.version)
    loaded = artifacts.load_version(tmp_path, written.version)

    users = loaded["id_maps.json"]["users"]
    vectors = loaded["embeddings.npz"]["user_embeddings"]
    assert loaded["manifest.json"]["model_family"] == "ease"
    assert loaded["manifest.json"]["embeddings"]["model"] == "als(factors=4)"
    assert loaded["manifest.json"]["embeddings"]["winner"] is False
    assert loaded["metrics.json"]["embeddings"] == loaded["manifest.json"]["embeddings"]
    assert vectors.shape == (len(users), 4) and np.abs(vectors).sum(axis=1).all()
    assert loaded["embeddings.npz"]["item_embeddings"].shape == (len(data.item_ids), 4)
    # the winner's lists, not the embedding model's, are served
    expected, _ = recommend_all(winner, data, 3)
    assert (loaded["recommendations.npz"]["items"] == expected).all()
    published = published_user_embeddings(tmp_path)
    assert published is not None and published.users == users
    assert (np.stack(published.for_customers(pd.Series(users))) == vectors).all()


def test_no_embedding_candidate_leaves_the_winner_without() -> None:
    written = bundle("ease")

    assert "embeddings.npz" not in written.npz_files and "embeddings" not in written.manifest
