"""Models behind one interface: exact top-k on hand-built data, configs that round-trip,
seeded fits that repeat."""

from __future__ import annotations

import numpy as np
import pytest

from ml.config import TrainingConfig
from ml.data import TrainingData
from ml.models import MODELS, model_from_dict
from ml.outputs import recommend_all


def top_ids(data: TrainingData, config: dict, user: str, k: int = 2) -> list[str]:
    model = model_from_dict(config, seed=1).fit(data)
    items, _ = recommend_all(model, data, k)
    row = data.user_ids.index(user)
    return [data.item_ids[i] for i in items[row] if i >= 0]


def test_popularity_recommends_the_most_seen_unseen_items(shop: TrainingData) -> None:
    # a: 4 users, b: 3, d: 3, c: 2, e: 1; u4 has seen c and d; ties by first appearance.
    assert top_ids(shop, {"family": "popularity"}, "u4", 3) == ["a", "b", "e"]


def test_item_knn_recommends_what_co_occurs(shop: TrainingData) -> None:
    assert top_ids(shop, {"family": "item_knn"}, "u1", 1) == ["e"]  # only u3 links b to e
    assert top_ids(shop, {"family": "item_knn"}, "u6", 2) == ["b", "c"]


def test_ease_follows_the_most_recent_interest_when_profiles_decay(shop: TrainingData) -> None:
    # u6 saw a (long ago) and d (last): without decay both pulls count alike; with a short
    # half-life d's partner c comes first.
    decayed = {"family": "ease", "regularization": 1.0, "profile_half_life": 0.5}
    assert top_ids(shop, decayed, "u6", 1) == ["c"]


def test_category_popularity_stays_in_the_users_categories(shop: TrainingData) -> None:
    # u6 knows shoes (a) and books (d): b and c come before the toy e.
    assert top_ids(shop, {"family": "category_popularity"}, "u6", 3) == ["b", "c", "e"]
    # u1 knows shoes only, all seen: among the rest, d is the one popular lately (t=9).
    assert top_ids(shop, {"family": "category_popularity"}, "u1", 1) == ["d"]


def test_training_positives_are_never_recommended(shop: TrainingData) -> None:
    for config in TrainingConfig().candidates:
        model = model_from_dict(config, seed=1).fit(shop)
        items, _ = recommend_all(model, shop, 5)
        for row, user in enumerate(shop.user_ids):
            seen = set(shop.positives[row].indices)
            assert not seen & set(items[row][items[row] >= 0]), (config, user)


@pytest.mark.parametrize("family", sorted(MODELS))
def test_model_configs_round_trip(family: str) -> None:
    model = model_from_dict({"family": family}, seed=5)
    again = model_from_dict(model.to_dict())
    assert again == model and again.to_dict() == model.to_dict()


def test_training_config_round_trips_and_refuses_unknown_keys() -> None:
    config = TrainingConfig(k=5, candidates=({"family": "ease", "regularization": 10.0},))
    assert TrainingConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown training config keys: colour"):
        TrainingConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="unknown model family"):
        model_from_dict({"family": "magic"})


@pytest.mark.parametrize("family", ["als", "lightfm"])
def test_seeded_fits_repeat(shop: TrainingData, family: str) -> None:
    first = model_from_dict({"family": family, "seed": 3}).fit(shop).score(np.arange(6))
    second = model_from_dict({"family": family, "seed": 3}).fit(shop).score(np.arange(6))
    np.testing.assert_allclose(first, second, rtol=1e-5)


def test_ease_on_a_large_catalogue_recommends_only_its_most_active_items(
    shop: TrainingData,
) -> None:
    # Most active: a (4 users), then b and d (3 each); c and e are never scored.
    model = model_from_dict({"family": "ease", "max_items": 3}).fit(shop)
    items, _ = recommend_all(model, shop, 3)
    for row, user in enumerate(shop.user_ids):
        listed = {shop.item_ids[i] for i in items[row] if i >= 0}
        seen = {shop.item_ids[i] for i in shop.positives[row].indices}
        assert listed == {"a", "b", "d"} - seen, user
