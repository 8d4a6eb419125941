"""The recommender-output suites on a tiny hand-made version: a sound one passes, and each
way of breaking it fails the expectation that names the break."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from expectations.runner import validate_frame
from expectations.severity import ERROR, WARN
from expectations.suites.recommender import recommender_frames, recommender_suites

USERS = ["u0", "u1", None]  # u2 was erased: its key is null, its row stays
ITEMS = ["a", "b", "c", "d"]


def version() -> dict[str, Any]:
    """Users' lists exclude what they saw in training (u0: a; u1: b); -1 pads."""
    return {
        "user_ids": list(USERS),
        "item_ids": list(ITEMS),
        "recommendations": {
            "items": np.array([[1, 2, -1], [0, 3, 2], [3, -1, -1]], np.int32),
            "scores": np.array([[0.9, 0.5, -1], [0.8, 0.8, 0.1], [0.3, -1, -1]], np.float32),
        },
        "similar": {
            "items": np.array([[1, -1], [0, 2], [1, -1], [-1, -1]], np.int32),
            "scores": np.array([[0.7, -1], [0.7, 0.2], [0.2, -1], [-1, -1]], np.float32),
        },
        "bought_together": {
            "items": np.array([[1], [0], [-1], [-1]], np.int32),
            "lift": np.array([[2.0], [2.0], [-1], [-1]], np.float32),
        },
        "positives": pd.DataFrame({"user_id": ["u0", "u1"], "item_id": ["a", "b"]}),
    }


def validate(parts: dict[str, Any]) -> dict[str, Any]:
    suites = recommender_suites(n_users=len(parts["user_ids"]), n_items=len(parts["item_ids"]))
    batches = recommender_frames(**parts)
    return {
        o.check: o for name, suite in suites.items() for o in validate_frame(suite, batches[name])
    }


def failed(outcomes: dict[str, Any]) -> set[str]:
    return {check for check, outcome in outcomes.items() if not outcome.success}


def test_a_sound_version_passes_every_expectation() -> None:
    outcomes = validate(version())

    assert outcomes and all(o.success for o in outcomes.values()), [
        o for o in outcomes.values() if not o.success
    ]
    assert outcomes["catalogue_coverage"].observed == 1.0


def out_of_range(parts: dict[str, Any]) -> None:
    parts["recommendations"]["items"][1, 2] = len(ITEMS)


def repeated(parts: dict[str, Any]) -> None:
    parts["recommendations"]["items"][1, 2] = 0


def nan_score(parts: dict[str, Any]) -> None:
    parts["recommendations"]["scores"][0, 1] = np.nan


def rising(parts: dict[str, Any]) -> None:
    parts["similar"]["scores"][1] = [0.2, 0.7]


def positive(parts: dict[str, Any]) -> None:
    parts["recommendations"]["items"][0, 1] = 0


def duplicate_item_id(parts: dict[str, Any]) -> None:
    parts["item_ids"][3] = "a"


def empty_user_id(parts: dict[str, Any]) -> None:
    parts["user_ids"][1] = ""


def no_candidates(parts: dict[str, Any]) -> None:
    parts["recommendations"]["items"][2] = -1


@pytest.mark.parametrize(
    ("break_it", "expectation"),
    [
        (out_of_range, "recommendations_index_within_id_map"),
        (repeated, "recommendations_no_repeats"),
        (nan_score, "recommendations_scores_finite"),
        (rising, "similar_scores_non_increasing"),
        (positive, "training_positives_excluded"),
        (duplicate_item_id, "item_ids_unique"),
        (empty_user_id, "user_ids_not_empty"),
        (no_candidates, "every_user_has_candidates"),
    ],
)
def test_each_break_fails_the_expectation_that_names_it(
    break_it: Callable[[dict[str, Any]], None], expectation: str
) -> None:
    parts = version()
    break_it(parts)

    outcomes = validate(parts)

    assert failed(outcomes) == {expectation}
    assert outcomes[expectation].severity == ERROR
    assert outcomes[expectation].unexpected_count >= 1  # a duplicate counts both rows


def test_a_recommended_positive_is_shown_in_the_sample() -> None:
    parts = version()
    positive(parts)

    assert validate(parts)["training_positives_excluded"].sample == ["a"]


def test_an_empty_catalogue_leaves_users_without_candidates_and_passes() -> None:
    parts = version()
    parts["item_ids"] = []
    parts["recommendations"] = {"items": np.full((3, 3), -1), "scores": np.full((3, 3), -1.0)}
    for name in ("similar", "bought_together"):
        parts[name] = {k: v[:0] for k, v in parts[name].items()}
    parts["positives"] = parts["positives"][:0]

    assert failed(validate(parts)) == set()


def test_a_top_10_reaching_little_of_the_catalogue_is_a_warning() -> None:
    parts = version()
    parts["item_ids"] = ITEMS + [f"z{n}" for n in range(100)]
    for name in ("similar", "bought_together"):
        parts[name] = {
            k: np.pad(v, ((0, 100), (0, 0)), constant_values=-1) for k, v in parts[name].items()
        }

    outcomes = validate(parts)

    assert failed(outcomes) == {"catalogue_coverage"}
    assert outcomes["catalogue_coverage"].severity == WARN
