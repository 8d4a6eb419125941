"""The ``profiles`` schema's writers, the published embeddings they carry, and the two
assets on the built simulated shop."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.profiles.build import COLUMNS, build_profiles
from ml.profiles.embeddings import published_user_embeddings
from ml.profiles.inputs import ProfileInputs
from ml.profiles.segments import segment
from orchestration.loads.profiles import previous_segments, write_profiles, write_segments
from tests.ml.profiles.conftest import small_inputs  # noqa: F401 (fixture)
from tests.orchestration.conftest import Home
from tests.recommender_artifacts import publish


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("set TimeZone = 'UTC'")
    yield connection
    connection.close()


def with_embeddings(root: Path, users: list[str | None], vectors: np.ndarray) -> None:
    folder = publish(root, "v1", users={u or "gone": [] for u in users})
    (folder / "id_maps.json").write_text(json.dumps({"users": users, "items": []}))
    np.savez(folder / "embeddings.npz", user_embeddings=vectors.astype(np.float32))


def test_published_embeddings_go_to_known_customers_only(
    tmp_path: Path,
    small_inputs: ProfileInputs,  # noqa: F811
) -> None:
    with_embeddings(tmp_path, ["bob", None, "ann"], np.array([[1, 0], [9, 9], [0, 1]]))

    embeddings = published_user_embeddings(tmp_path)
    built = build_profiles(small_inputs, embeddings).profiles.set_index("customer_id")

    assert embeddings is not None and embeddings.version == "v1"
    assert list(built.loc["ann", "embedding"]) == [0.0, 1.0]
    assert list(built.loc["bob", "embedding"]) == [1.0, 0.0]
    assert built.loc["dee", "embedding"] is None  # unknown to the model
    assert (built["embedding_version"] == "v1").all()


def test_no_published_model_or_one_without_embeddings_gives_none(tmp_path: Path) -> None:
    assert published_user_embeddings(tmp_path) is None
    publish(tmp_path, "v2", users={"ann": []})
    assert published_user_embeddings(tmp_path) is None


def test_profiles_table_types_and_embedding_as_float_list(
    conn: duckdb.DuckDBPyConnection,
    small_inputs: ProfileInputs,  # noqa: F811
) -> None:
    profiles = build_profiles(small_inputs).profiles
    profiles["embedding"] = [np.array([0.5, 1.5], dtype=np.float32), None, None]

    write_profiles(conn, profiles)

    types = dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'profiles' and table_name = 'customer_profiles'"
        ).fetchall()
    )
    assert list(types) == COLUMNS
    assert types["embedding"] == "FLOAT[]"
    assert types["as_of"] == "TIMESTAMP WITH TIME ZONE"
    rows = conn.execute(
        "select customer_id, embedding from profiles.customer_profiles order by customer_id"
    ).fetchall()
    assert rows == [("ann", [0.5, 1.5]), ("bob", None), ("dee", None)]


def test_a_failed_write_leaves_the_previous_table(
    conn: duckdb.DuckDBPyConnection,
    small_inputs: ProfileInputs,  # noqa: F811
) -> None:
    profiles = build_profiles(small_inputs).profiles
    write_profiles(conn, profiles)
    broken = profiles.assign(orders_paid="not a number")

    with pytest.raises(duckdb.Error):
        write_profiles(conn, broken)

    assert conn.execute("select count(*) from profiles.customer_profiles").fetchone() == (3,)


def test_segments_kept_across_runs_and_matched(conn: duckdb.DuckDBPyConnection) -> None:
    from ml.profiles.synthetic import synthetic_inputs

    profiles = build_profiles(synthetic_inputs(1500, seed=2)).profiles
    assert previous_segments(conn) is None
    first = segment(profiles)
    write_segments(conn, first.segments, first.members, datetime(2026, 6, 1, tzinfo=UTC), None)
    second = segment(profiles, previous_segments(conn))
    write_segments(conn, second.segments, second.members, datetime(2026, 6, 2, tzinfo=UTC), None)

    runs = conn.execute(
        "select run_at, count(*) from profiles.segments group by run_at order by run_at"
    ).fetchall()
    assert [count for _, count in runs] == [len(first.segments)] * 2
    latest = previous_segments(conn)
    assert latest is not None and latest["name"].tolist() == sorted(
        first.segments["name"], key=lambda n: first.segments.set_index("name").loc[n, "segment_id"]
    )
    members = conn.execute("select count(*) from profiles.customer_segments").fetchone()
    assert members == (len(profiles),)
    assert pd.Series(second.segments["matched"]).all()


def test_an_empty_shop_writes_empty_tables(
    conn: duckdb.DuckDBPyConnection,
    small_inputs: ProfileInputs,  # noqa: F811
) -> None:
    empty = ProfileInputs(
        **{name: frame.iloc[0:0] for name, frame in small_inputs.frames().items()}
    )

    built = build_profiles(empty)
    run = segment(built.profiles)
    write_profiles(conn, built.profiles)
    write_segments(conn, run.segments, run.members, datetime(2026, 6, 1, tzinfo=UTC), None)

    assert built.propensity["status"] == "skipped"
    for table in ("customer_profiles", "segments", "customer_segments"):
        assert conn.execute(f"select count(*) from profiles.{table}").fetchall() == [(0,)]


@pytest.mark.slow
def test_pipeline_run_builds_profiles_and_segments(built_home: Home) -> None:
    """`mercado pipeline run` on the simulated shop: a profile for every customer not
    erased, each in a named segment (no model published: null embeddings)."""
    with built_home.read() as conn:
        customers = {
            row[0]
            for row in conn.execute(
                "select customer_id from marts.dim_customers where not is_erased"
            ).fetchall()
        }
        profiles = conn.execute(
            "select customer_id, embedding, rfm_segment, top_category "
            "from profiles.customer_profiles"
        ).df()
        members = conn.execute(
            "select segment_id, segment_name, count(*) from profiles.customer_segments group by all"
        ).fetchall()
        segments = conn.execute("select segment_id, name, size from profiles.segments").fetchall()

    assert set(profiles["customer_id"]) == customers
    assert profiles["embedding"].isna().all()
    assert profiles["rfm_segment"].notna().any() and profiles["top_category"].notna().any()
    assert sorted(members) == sorted(segments)
    assert sum(size for _, _, size in segments) == len(profiles)
