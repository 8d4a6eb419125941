"""Segments: named by their traits, and the same ids and names on a second run over
slightly changed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.profiles.build import build_profiles
from ml.profiles.segments import SegmentConfig, segment
from ml.profiles.synthetic import synthetic_inputs


@pytest.fixture(scope="module")
def profiles() -> pd.DataFrame:
    built = build_profiles(synthetic_inputs(4000, seed=5))
    return built.profiles


def changed(profiles: pd.DataFrame, seed: int) -> pd.DataFrame:
    """2% of customers gone, 2% of the rest with one more order, prices nudged."""
    rng = np.random.default_rng(seed)
    kept = profiles[rng.random(len(profiles)) > 0.02].copy()
    more = rng.random(len(kept)) < 0.02
    kept.loc[more, "orders_paid"] += 1
    kept["price_percentile"] = (kept["price_percentile"] + rng.normal(0, 0.01, len(kept))).clip(
        0, 1
    )
    return kept.sample(frac=1.0, random_state=seed)  # row order does not matter either


def test_first_run_numbers_segments_and_names_them_uniquely(profiles: pd.DataFrame) -> None:
    run = segment(profiles)

    assert sorted(run.segments["segment_id"]) == list(range(1, 9))
    assert run.segments["name"].is_unique
    assert run.segments["size"].sum() == len(profiles) == len(run.members)
    assert not run.segments["matched"].any()
    assert set(run.members["segment_id"]) == set(run.segments["segment_id"])


def test_names_describe_the_members(profiles: pd.DataFrame) -> None:
    run = segment(profiles)
    joined = run.members.merge(profiles, on="customer_id")

    for _, row in run.segments.iterrows():
        members = joined[joined["segment_id"] == row["segment_id"]]
        if "without a purchase" in row["name"]:
            assert members["orders_paid"].median() == 0
        if "frequent" in row["name"]:
            assert members["orders_paid"].median() >= 2
        if "low-price" in row["name"]:
            assert members["price_percentile"].mean() < 0.4


def test_second_run_on_slightly_changed_data_keeps_ids_and_names(profiles: pd.DataFrame) -> None:
    first = segment(profiles)
    second = segment(changed(profiles, seed=1), previous=first.segments)

    assert second.segments["matched"].all()
    before = first.segments.set_index("segment_id")["name"].to_dict()
    after = second.segments.set_index("segment_id")["name"].to_dict()
    assert after == before
    # customers present both times mostly stay in their segment
    both = first.members.merge(second.members, on="customer_id")
    assert (both["segment_id_x"] == both["segment_id_y"]).mean() > 0.95


def test_a_new_cluster_gets_a_fresh_id_and_matched_ones_keep_theirs(profiles: pd.DataFrame) -> None:
    first = segment(profiles, config=SegmentConfig(clusters=4))
    second = segment(profiles, previous=first.segments, config=SegmentConfig(clusters=5))

    kept = second.segments[second.segments["matched"]]
    assert len(kept) >= 3
    previous = first.segments.set_index("segment_id")["name"]
    assert all(previous[row.segment_id] == row.name for row in kept.itertuples())
    fresh = second.segments[~second.segments["matched"]]
    assert (fresh["segment_id"] > first.segments["segment_id"].max()).all()
    assert second.segments["name"].is_unique
