"""ml.serving: version folders are checked before they serve; pointers are followed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from ml.serving import (
    ArtifactError,
    Candidate,
    ModelStore,
    forget_users,
    load_version,
    pick,
    write_pointer,
)
from tests.recommender_artifacts import publish, write_version


def test_a_version_answers_its_lookups_best_first(tmp_path: Path):
    folder = write_version(
        tmp_path, "v1",
        users={"u1": ["a", "b", "c"], "client:d1": ["c"]},
        similar={"a": ["b", "c"]},
        bought_together={"a": ["c"]},
        popular=["c", "a"],
        by_category={"cat": ["b"]},
        items={"a": {"category_id": "cat", "seller_id": "s1"}},
    )  # fmt: skip

    model = load_version(folder)

    assert model.version == "v1"
    assert [c.item_id for c in model.for_user("u1") or []] == ["a", "b", "c"]
    assert [c.item_id for c in model.for_user("client:d1") or []] == ["c"]
    assert model.for_user("nobody") is None
    assert [c.item_id for c in model.similar_to("a") or []] == ["b", "c"]
    assert model.similar_to("b") == []  # known, nothing similar
    assert model.similar_to("zz") is None
    assert [c.item_id for c in model.bought_with("a") or []] == ["c"]
    assert [c.item_id for c in model.popular()] == ["c", "a"]
    assert [c.item_id for c in model.popular("cat")] == ["b"]
    assert list(model.popular("other")) == []
    assert model.items["a"].seller_id == "s1"
    scores = [c.score for c in model.for_user("u1") or []]
    assert scores == sorted(scores, reverse=True)


def _break(folder: Path, how: str) -> None:
    if how == "missing_file":
        (folder / "similar.npz").unlink()
    elif how == "index_out_of_range":
        np.savez(folder / "similar.npz", items=np.full((2, 3), 7, np.int32),
                 scores=np.zeros((2, 3), np.float32))  # fmt: skip
    elif how == "wrong_rows":
        np.savez(folder / "recommendations.npz", items=np.zeros((5, 3), np.int32),
                 scores=np.zeros((5, 3), np.float32))  # fmt: skip
    elif how == "unknown_format":
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 2}))
    elif how == "truncated_npz":
        data = (folder / "recommendations.npz").read_bytes()
        (folder / "recommendations.npz").write_bytes(data[: len(data) // 2])
    elif how == "truncated_json":
        (folder / "id_maps.json").write_text('{"users": ["u1"')


@pytest.mark.parametrize(
    "how",
    [
        "missing_file",
        "index_out_of_range",
        "wrong_rows",
        "unknown_format",
        "truncated_json",
        "truncated_npz",
    ],
)
def test_a_broken_folder_is_refused(tmp_path: Path, how: str):
    folder = write_version(tmp_path, "v1", users={"u1": ["a", "b"]})
    _break(folder, how)
    with pytest.raises(ArtifactError):
        load_version(folder)


def test_the_store_follows_latest_and_keeps_serving_when_the_new_folder_is_broken(
    tmp_path: Path,
):
    store = ModelStore(tmp_path, check_seconds=0, background=False)
    assert store.served().champion is None  # nothing published yet

    publish(tmp_path, "v1", users={"u1": ["a"]})
    assert store.served().champion.version == "v1"

    broken = write_version(tmp_path, "v2", users={"u1": ["b"]})
    _break(broken, "missing_file")
    write_pointer(tmp_path, "LATEST", "v2")
    assert store.served().champion.version == "v1"

    publish(tmp_path, "v3", users={"u1": ["c"]})
    publish(tmp_path, "v4", "CHALLENGER", users={"u1": ["d"]})
    served = store.served()
    assert (served.champion.version, served.challenger.version) == ("v3", "v4")

    (tmp_path / "CHALLENGER").unlink()
    assert store.served().challenger is None
    assert store.served().champion.version == "v3"


def test_the_store_loads_in_the_background_and_never_serves_a_pointer_outside_its_root(
    tmp_path: Path,
):
    store = ModelStore(tmp_path, check_seconds=0)
    publish(tmp_path, "v1", users={"u1": ["a"]})
    deadline = time.monotonic() + 10
    while store.served().champion is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.served().champion.version == "v1"

    write_pointer(tmp_path, "LATEST", "../elsewhere")
    assert store.refresh().champion.version == "v1"


def test_pick_skips_unavailable_excluded_and_capped_sellers():
    candidates = [Candidate(item, 1.0) for item in ["a", "b", "c", "d", "e", "a", "f"]]
    sellers = {"a": "s1", "b": "s1", "c": "s1", "e": "s2", "f": "s3"}  # d: not on sale

    picked = pick(candidates, 4, sellers=sellers, excluded={"b"}, max_per_seller=1)

    assert [c.item_id for c in picked] == ["a", "e", "f"]


def test_pick_caps_each_category_for_diversity_across_the_parts_of_a_list():
    candidates = [Candidate(item, 1.0) for item in ["a", "b", "c", "d", "e"]]
    sellers = {item: f"s-{item}" for item in "abcde"}
    categories = {"a": "shoes", "b": "shoes", "c": "books", "d": "shoes", "e": None}
    per_category: dict[str, int] = {}
    seen: set[str] = set()

    first = pick(candidates[:2], 2, sellers=sellers, categories=categories,
                 max_per_category=1, per_category=per_category, seen=seen)  # fmt: skip
    rest = pick(candidates[2:], 3, sellers=sellers, categories=categories,
                max_per_category=1, per_category=per_category, seen=seen)  # fmt: skip

    assert [c.item_id for c in first] == ["a"]
    assert [c.item_id for c in rest] == ["c", "e"]  # d: a second shoe; e: no category


def test_forgetting_a_user_nulls_their_key_everywhere_and_the_store_reloads(tmp_path: Path):
    folder = publish(tmp_path, "v1", users={"u1": ["a"], "u2": ["b"]})
    features = {"user_features": ["u1", "u2", "region:DE"], "item_features": ["a", "b"]}
    (folder / "features.json").write_text(json.dumps(features))
    store = ModelStore(tmp_path, check_seconds=0, background=False)
    assert store.served().champion.knows_user("u1")

    counts = forget_users(tmp_path, ["u1"])

    assert counts == {"versions": 1, "entries_erased": 2}
    assert json.loads((folder / "id_maps.json").read_text())["users"] == [None, "u2"]
    assert json.loads((folder / "features.json").read_text())["user_features"] == [
        None, "u2", "region:DE"
    ]  # fmt: skip
    served = store.served().champion  # same pointer, rewritten maps: reloaded
    assert not served.knows_user("u1")
    assert [c.item_id for c in served.for_user("u2") or []] == ["b"]
    assert forget_users(tmp_path, ["u1"]) == {"versions": 0, "entries_erased": 0}


def test_a_row_reads_as_its_candidates_whatever_its_padding():
    from ml.serving import PADDING, TopK

    item_ids = np.array(["a", "b", "c", "d"], dtype=object)
    table = TopK(
        np.array([[2, PADDING, 0, PADDING], [3, 1, 0, 2]], np.int32),
        np.array([[0.9, -1, 0.5, -1], [0.8, 0.7, 0.6, 0.5]], np.float32),
    )

    padded, full = table.row(0, item_ids), table.row(1, item_ids)

    assert list(padded) == [Candidate("c", pytest.approx(0.9)), Candidate("a", 0.5)]
    assert (len(padded), padded[1], padded[-1]) == (2, Candidate("a", 0.5), Candidate("a", 0.5))
    assert [c.item_id for c in full] == ["d", "b", "a", "c"]
    assert [c.item_id for c in full[1:3]] == ["b", "a"]
    assert full[0] == Candidate("d", pytest.approx(0.8)) and len(full) == 4
