"""Lookalikes on hand-built vectors whose cosine ranking can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ml.profiles.lookalike import lookalikes


def profiles(vectors: dict[str, list[float] | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": list(vectors),
            "embedding": [
                None if v is None else np.array(v, dtype=np.float32) for v in vectors.values()
            ],
        }
    )


@pytest.fixture
def people() -> pd.DataFrame:
    # seed s1, s2 point along x (their mean direction is (1, 0)); the others at known angles
    return profiles(
        {
            "s1": [2.0, 0.1],
            "s2": [1.0, -0.05],
            "a": [3.0, 0.0],  # cos 1
            "b": [1.0, 1.0],  # cos 0.7071
            "c": [0.0, 5.0],  # cos 0
            "d": [-1.0, 0.0],  # cos -1
            "e": [1.0, np.sqrt(3.0)],  # cos 0.5
            "unknown": None,
            "zero": [0.0, 0.0],
        }
    )


def test_nearest_customers_by_cosine_to_the_seed_direction(people: pd.DataFrame) -> None:
    found = lookalikes(people, ["s1", "s2"], 3)

    assert list(found["customer_id"]) == ["a", "b", "e"]
    assert found["similarity"].to_numpy() == pytest.approx([1.0, np.sqrt(0.5), 0.5], abs=1e-3)


def test_seed_excluded_and_customers_without_embedding_skipped(people: pd.DataFrame) -> None:
    found = lookalikes(people, ["s1", "s2"], 100)

    assert list(found["customer_id"]) == ["a", "b", "e", "c", "d"]


def test_ties_broken_by_customer_id() -> None:
    tied = profiles({"s": [1.0, 0.0], "z": [2.0, 0.0], "m": [5.0, 0.0], "x": [0.0, 1.0]})

    assert list(lookalikes(tied, ["s"], 2)["customer_id"]) == ["m", "z"]


def test_embeddings_as_lists_like_duckdb_returns_them() -> None:
    listed = pd.DataFrame(
        {"customer_id": ["s", "near", "far"], "embedding": [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]}
    )

    assert list(lookalikes(listed, ["s"], 1)["customer_id"]) == ["near"]


def test_seed_without_embeddings_finds_nobody(people: pd.DataFrame) -> None:
    assert lookalikes(people, ["unknown", "nobody"], 5).empty
    assert lookalikes(people, ["s1"], 0).empty


def test_exact_top_k_matches_a_full_sort_on_random_vectors() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(2000, 16)).astype(np.float32)
    frame = pd.DataFrame(
        {"customer_id": [f"c{i:04d}" for i in range(2000)], "embedding": list(vectors)}
    )
    seed = [f"c{i:04d}" for i in range(10)]

    found = lookalikes(frame, seed, 50)

    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    direction = unit[:10].mean(axis=0)
    cosine = unit[10:] @ (direction / np.linalg.norm(direction))
    expected = [f"c{i + 10:04d}" for i in np.argsort(-cosine)[:50]]
    assert list(found["customer_id"]) == expected


def test_an_arrow_list_column_as_the_audiences_read_it_gives_the_same_lookalikes(
    people: pd.DataFrame,
) -> None:
    arrow = pa.table(
        {
            "customer_id": list(people["customer_id"]),
            "embedding": pa.array(
                [v if isinstance(v, np.ndarray) else None for v in people["embedding"]],
                pa.list_(pa.float32()),
            ),
        }
    ).to_pandas(types_mapper=pd.ArrowDtype)

    expected = lookalikes(people, ["s1", "s2"], 100)
    found = lookalikes(arrow, ["s1", "s2"], 100)

    assert list(found["customer_id"]) == list(expected["customer_id"])
    assert found["similarity"].to_numpy() == pytest.approx(expected["similarity"].to_numpy())
