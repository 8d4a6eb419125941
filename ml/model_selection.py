"""Splitters: train/test frames and a description of how they were made (recorded in
``metrics.json``). Time splits are the default; the random split is for data without
timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml import columns as c
from ml.data import item_order


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    description: dict[str, Any]


def leave_last_n(frame: pd.DataFrame, n: int) -> Split:
    """Per user, the ``n`` most recent rows (ties by item id, the larger id later) are the
    test; users with at most ``n`` rows keep them all in training.

    Examples
    --------
    >>> rows = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "b", "c"],
    ...                      "timestamp": [1, 2, 2]})
    >>> leave_last_n(rows, 2).test["item_id"].tolist()
    ['b', 'c']
    """
    order = item_order(frame)
    position = order.groupby(c.USER, sort=False).cumcount()
    size = order.groupby(c.USER, sort=False)[c.ITEM].transform("size")
    in_test = (position < n) & (size > n)
    test = order[in_test].sort_index()
    train = order[~in_test].sort_index()
    return Split(train, test, {"kind": "leave_last_n", "n": n})


def time_cutoff(frame: pd.DataFrame, cutoff: Any) -> Split:
    """Rows at or after ``cutoff`` are the test, the earlier ones the training set."""
    later = frame[c.TIMESTAMP] >= cutoff
    return Split(frame[~later], frame[later], {"kind": "time_cutoff", "cutoff": str(cutoff)})


def time_fraction(frame: pd.DataFrame, fraction: float) -> Split:
    """A global cut-off date chosen so that about ``fraction`` of the rows are after it."""
    cutoff = frame[c.TIMESTAMP].quantile(1.0 - fraction, interpolation="higher")
    split = time_cutoff(frame, cutoff)
    return Split(split.train, split.test, {**split.description, "fraction": fraction})


def random_split(frame: pd.DataFrame, fraction: float, seed: int) -> Split:
    """A seeded random ``fraction`` of the rows is the test."""
    rng = np.random.default_rng(seed)
    in_test = rng.random(len(frame)) < fraction
    return Split(
        frame[~in_test],
        frame[in_test],
        {"kind": "random", "fraction": fraction, "seed": seed},
    )
