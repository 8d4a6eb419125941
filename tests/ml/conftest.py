"""Tiny hand-built interaction frames whose best recommendations can be worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ml import columns as c
from ml.data import TrainingData, build_training_data, weigh_events


def frame(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """(user, item, timestamp) rows, every one a positive of weight 1."""
    return weigh_events(pd.DataFrame(rows, columns=[c.USER, c.ITEM, c.TIMESTAMP]))


@pytest.fixture
def shop() -> TrainingData:
    """Items a and b go together (u1, u2, u3), c and d go together (u4, u5); u6 has seen a
    only, long ago, and d most recently. Sellers: s1 sells a, b, c; s2 sells d, e."""
    rows = [
        ("u1", "a", 1), ("u1", "b", 2),
        ("u2", "a", 1), ("u2", "b", 2),
        ("u3", "a", 1), ("u3", "b", 2), ("u3", "e", 3),
        ("u4", "c", 1), ("u4", "d", 2),
        ("u5", "c", 1), ("u5", "d", 2),
        ("u6", "a", 1), ("u6", "d", 9),
    ]  # fmt: skip
    items = pd.DataFrame(
        {
            c.ITEM: ["a", "b", "c", "d", "e"],
            c.CATEGORY: ["shoes", "shoes", "books", "books", "toys"],
            c.CATEGORY_PATH: [
                "fashion/shoes",
                "fashion/shoes",
                "media/books",
                "media/books",
                "toys",
            ],
            c.SELLER: ["s1", "s1", "s1", "s2", "s2"],
            c.PRICE: [10.0, 20.0, 30.0, 40.0, 50.0],
            c.TITLE: ["Red runner", "Blue runner", "Old novel", "New novel", "Wooden train"],
        }
    )
    return build_training_data(frame(rows), items=items)
