"""Suites for a recommender version before it is published (artifact format 1 of
``ml/README.md``): the lists point into the id maps, hold no repeats, carry finite scores
best first, leave the user's training positives out; the id maps have unique ids; every
user gets a candidate; the top 10 reaches a share of the catalogue.

The caller loads the version and passes plain arrays and lists; ``recommender_frames``
summarises each list (one row per user, one per item) so GE validates a frame the size of
the id maps, not of every entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd

from expectations.severity import ERROR, WARN
from expectations.suites.common import dataset_rule, new_suite

BUILDER_VERSION = 1
USERS = "recommender_users"
ITEMS = "recommender_items"
PADDING = -1
TOP_K = 10
# Share of the catalogue the users' top 10 reaches at least; below it the model
# recommends a handful of hits to everybody (recorded, not blocking).
COVERAGE_FLOOR = 0.05
# Users whose lists are compared with their training positives.
POSITIVES_SAMPLE = 2000
# Outputs of the item side, with the name of their score array.
ITEM_LISTS = {"similar": "scores", "bought_together": "lift"}


# Lists summarised this many rows at a time, so a large version needs little memory.
CHUNK_ROWS = 50_000


def list_summary(items: np.ndarray, scores: np.ndarray, n_items: int) -> pd.DataFrame:
    """``summarise_lists`` over chunks of ``CHUNK_ROWS`` lists."""
    parts = [
        summarise_lists(
            items[start : start + CHUNK_ROWS], scores[start : start + CHUNK_ROWS], n_items
        )
        for start in range(0, max(len(items), 1), CHUNK_ROWS)
    ]
    return pd.concat(parts, ignore_index=True)


def summarise_lists(items: np.ndarray, scores: np.ndarray, n_items: int) -> pd.DataFrame:
    """Per list (row): the first index outside the id map (padding aside), the first
    repeated index, how many scores are not finite, the largest rise of the score from
    one entry to the next (positive when the list is not best first) and its length."""
    items = np.asarray(items).astype(np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    real = items != PADDING
    outside = real & ((items < 0) | (items >= n_items))
    ordered = np.sort(np.where(real, items, np.iinfo(np.int64).min), axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != np.iinfo(np.int64).min)
    masked = np.where(real, scores, np.nan)
    rises = np.diff(masked, axis=1)
    has_rise = (~np.isnan(rises)).any(axis=1)
    rise = np.full(len(items), np.nan)
    if has_rise.any():
        rise[has_rise] = np.nanmax(rises[has_rise], axis=1)
    return pd.DataFrame(
        {
            "index_outside_map": _first(items, outside),
            "repeated_index": _first(ordered[:, 1:], repeated),
            "non_finite_scores": (real & ~np.isfinite(scores)).sum(axis=1),
            "score_rise": rise,
            "length": real.sum(axis=1),
        }
    )


def _first(values: np.ndarray, where: np.ndarray) -> pd.Series:
    """The first value of each row where ``where`` holds, else null."""
    found = where.any(axis=1) if where.shape[1] else np.zeros(len(values), bool)
    first = np.full(len(values), pd.NA, dtype=object)
    if found.any():
        first[found] = values[found, where[found].argmax(axis=1)]
    return pd.Series(first, dtype="Int64")


def recommender_frames(
    *,
    user_ids: Sequence[str | None],
    item_ids: Sequence[str | None],
    recommendations: dict[str, np.ndarray],
    similar: dict[str, np.ndarray],
    bought_together: dict[str, np.ndarray],
    positives: pd.DataFrame,
    sample: int = POSITIVES_SAMPLE,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The batches of ``recommender_suites``: one row per user (id, their candidate list
    summarised, the first training positive recommended to a sampled user) and one per
    item (id, similar and bought-together lists summarised, whether any top 10 holds it).
    ``positives``: the training pairs (``user_id``, ``item_id``) as the id maps spell them."""
    n_items = len(item_ids)
    rec_items = np.asarray(recommendations["items"])
    users = list_summary(rec_items, recommendations["scores"], n_items).add_prefix(
        "recommendations_"
    )
    users.insert(0, "user_id", pd.Series(list(user_ids[: len(users)]), dtype=object))
    users["recommended_positive"] = _recommended_positives(
        user_ids, item_ids, rec_items, positives, sample, seed
    )
    items = pd.DataFrame({"item_id": pd.Series(list(item_ids), dtype=object)})
    for name, score in ITEM_LISTS.items():
        arrays = similar if name == "similar" else bought_together
        summary = list_summary(arrays["items"], arrays[score], n_items)
        summary.index = range(len(summary))
        items = items.join(summary.add_prefix(f"{name}_"), how="outer")
    top = rec_items[:, :TOP_K]
    top = top[(top >= 0) & (top < n_items)]
    items["in_top_10"] = np.isin(np.arange(len(items)), top).astype(float)
    return {USERS: users, ITEMS: items}


def _recommended_positives(
    user_ids: Sequence[str | None],
    item_ids: Sequence[str | None],
    rec_items: np.ndarray,
    positives: pd.DataFrame,
    sample: int,
    seed: int,
) -> pd.Series:
    """For a sample of users, the first item of their list they interacted with in
    training (null when none); null for users outside the sample."""
    found = pd.Series(pd.NA, index=range(len(rec_items)), dtype=object)
    rows = np.arange(min(len(rec_items), len(user_ids)))
    if len(rows) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(rows, sample, replace=False))
    row_of = {user_ids[row]: row for row in rows if user_ids[row] is not None}
    index_of = {item: index for index, item in enumerate(item_ids)}
    mine = positives[positives["user_id"].isin(list(row_of))]
    pairs = pd.DataFrame(
        {"row": mine["user_id"].map(row_of), "index": mine["item_id"].map(index_of)}
    ).dropna()
    n_items = max(len(item_ids), 1)
    known = pairs["row"].to_numpy(np.int64) * n_items + pairs["index"].to_numpy(np.int64)
    lists = rec_items[rows].astype(np.int64)
    hit = (lists >= 0) & (lists < len(item_ids)) & np.isin(rows[:, None] * n_items + lists, known)
    first = _first(lists, hit)
    for row, index in zip(rows, first, strict=True):
        if not pd.isna(index):
            found[row] = item_ids[index]
    return found


def _list_rules(prefix: str, what: str) -> list[Any]:
    return [
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeNull,
            f"{prefix}_index_within_id_map",
            f"every index of {what} is a row of id_maps.items (or {PADDING} padding)",
            ERROR,
            column=f"{prefix}_index_outside_map",
        ),
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeNull,
            f"{prefix}_no_repeats",
            f"no list of {what} repeats an item",
            ERROR,
            column=f"{prefix}_repeated_index",
        ),
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeBetween,
            f"{prefix}_scores_finite",
            f"every score of {what} is finite",
            ERROR,
            column=f"{prefix}_non_finite_scores",
            min_value=0,
            max_value=0,
        ),
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeBetween,
            f"{prefix}_scores_non_increasing",
            f"the scores of {what} never rise along a list (best first)",
            ERROR,
            column=f"{prefix}_score_rise",
            max_value=0,
        ),
    ]


def _id_rules(column: str, what: str, *, nullable: bool) -> list[Any]:
    rules = [
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeUnique,
            f"{what}_ids_unique",
            f"id_maps.{what}s has no id twice",
            ERROR,
            column=column,
        ),
        dataset_rule(
            gx.expectations.ExpectColumnValueLengthsToBeBetween,
            f"{what}_ids_not_empty",
            f"no id of id_maps.{what}s is empty",
            ERROR,
            column=column,
            min_value=1,
        ),
    ]
    if not nullable:
        rules.append(
            dataset_rule(
                gx.expectations.ExpectColumnValuesToNotBeNull,
                f"{what}_ids_present",
                f"every row of id_maps.{what}s has an id",
                ERROR,
                column=column,
            )
        )
    return rules


def recommender_suites(*, n_users: int, n_items: int) -> dict[str, Any]:
    """The suites of a version with ``n_users`` and ``n_items`` in its id maps (erased
    users' ids are null; an empty catalogue leaves users without candidates)."""
    users = [
        dataset_rule(
            gx.expectations.ExpectTableRowCountToEqual,
            "one_list_per_user",
            "recommendations has one row per user of id_maps.users",
            ERROR,
            value=n_users,
        ),
        *_id_rules("user_id", "user", nullable=True),
        *_list_rules("recommendations", "the candidate lists"),
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeNull,
            "training_positives_excluded",
            "no sampled user is recommended an item they interacted with in training",
            ERROR,
            column="recommended_positive",
        ),
    ]
    if n_items:
        users.append(
            dataset_rule(
                gx.expectations.ExpectColumnValuesToBeBetween,
                "every_user_has_candidates",
                "every user has at least one candidate",
                ERROR,
                column="recommendations_length",
                min_value=1,
            )
        )
    items = [
        dataset_rule(
            gx.expectations.ExpectTableRowCountToEqual,
            "one_list_per_item",
            "similar and bought_together have one row per item of id_maps.items",
            ERROR,
            value=n_items,
        ),
        *_id_rules("item_id", "item", nullable=False),
        *_list_rules("similar", "similar items"),
        *_list_rules("bought_together", "bought together"),
    ]
    if n_items:
        items.append(
            dataset_rule(
                gx.expectations.ExpectColumnMeanToBeBetween,
                "catalogue_coverage",
                f"the users' top {TOP_K} reach at least {COVERAGE_FLOOR:.0%} of the catalogue",
                WARN,
                column="in_top_10",
                min_value=COVERAGE_FLOOR,
            )
        )
    return {
        USERS: new_suite(USERS, BUILDER_VERSION, users),
        ITEMS: new_suite(ITEMS, BUILDER_VERSION, items),
    }
