"""What training serves: caps and diversity, bought-together lift, cold start, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import columns as c
from ml.data import TrainingData
from ml.models import model_from_dict
from ml.outputs import (
    bought_together,
    cold_start_user,
    explain,
    nearest_items,
    new_item_embedding,
    popularity,
    similar_items,
)


def test_bought_together_ranks_by_lift_among_pairs_with_enough_support() -> None:
    # 5 baskets. a in 4, b in 2 (both with a), c in 2 (both with a), d in 1 (with a).
    buys = pd.DataFrame(
        [("o1", "a"), ("o1", "b"), ("o2", "a"), ("o2", "b"), ("o3", "a"), ("o3", "c"),
         ("o4", "a"), ("o4", "c"), ("o4", "d"), ("o5", "c"), ("o5", "c")],
        columns=["basket_id", c.ITEM],
    )  # fmt: skip
    items, lift = bought_together(buys, ["a", "b", "c", "d"], 3, min_support=2, basket="basket_id")
    # lift(a, b) = 2 x 5 / (4 x 2) = 1.25; lift(a, c) = 2 x 5 / (4 x 3) = 0.833; d: support 1.
    assert items[0].tolist() == [1, 2, -1]
    np.testing.assert_allclose(lift[0][:2], [1.25, 10 / 12], rtol=1e-6)
    assert items[3].tolist() == [-1, -1, -1]


def test_similar_items_are_the_co_occurring_ones(shop: TrainingData) -> None:
    items, scores = similar_items(shop, 2)
    a, b = shop.item_ids.index("a"), shop.item_ids.index("b")
    assert items[b][0] == a and scores[b][0] > scores[b][1]


def test_a_new_user_gets_popular_items_of_their_context_marked_as_fallback(
    shop: TrainingData,
) -> None:
    popular = popularity(shop, 10, segments=pd.Series({"u4": "north", "u5": "north"}))
    assert popular["by_category"]["books"] == ["d", "c"]
    assert popular["by_segment"]["north"][:2] == ["c", "d"]
    picks = cold_start_user(popular, 3, category="books", exclude=["d"])
    assert [(p.item_id, p.reason, p.fallback) for p in picks] == [
        ("c", "popular_in:books", True),
        ("a", "popular", True),
        ("b", "popular", True),
    ]


def test_a_new_listing_is_placed_by_its_features(shop: TrainingData) -> None:
    model = model_from_dict({"family": "lightfm", "epochs": 40, "seed": 1}).fit(shop)
    features = model.feature_embeddings()
    feature_map = shop.dataset.mapping()[3]
    tokens = ["category:media", "category:media/books", "title:novel"]
    vector, bias = new_item_embedding(
        tokens, feature_map, features["item_feature_embeddings"], features["item_feature_biases"]
    )
    expected = features["item_feature_embeddings"][[feature_map[t] for t in tokens]].mean(axis=0)
    np.testing.assert_allclose(vector, expected, rtol=1e-6)
    rows = [feature_map[t] for t in tokens]
    assert bias == pytest.approx(float(features["item_feature_biases"][rows].mean()))
    nearest = nearest_items(vector, model.embeddings()["item_embeddings"], 2)
    assert {shop.item_ids[i] for i in nearest} == {"c", "d"}
    assert new_item_embedding(["unknown:token"], feature_map, *features_pair(features))[1] == 0.0


def features_pair(features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return features["item_feature_embeddings"], features["item_feature_biases"]


@pytest.mark.parametrize(
    ("item", "reason"),
    [(2, "bought_with:x1"), (3, "similar_to:x0"), (4, "for_you")],
)
def test_each_recommendation_carries_its_reason(item: int, reason: str) -> None:
    item_ids = ["x0", "x1", "x2", "x3", "x4"]
    similar = np.array([[3, 2], [-1, -1], [-1, -1], [-1, -1], [-1, -1]])
    bought = np.array([[-1, -1], [2, -1], [-1, -1], [-1, -1], [-1, -1]])
    assert explain([item], [1, 0], similar, bought, item_ids) == [reason]
