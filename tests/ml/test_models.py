"""Models behind one interface: exact top-k on hand-built data, configs that round-trip,
seeded fits that repeat."""

from __future__ import annotations

import numpy as np
import pytest
from lightfm import LightFM

from ml.config import TrainingConfig
from ml.data import TrainingData
from ml.models import MODELS, model_from_dict
from ml.models.factors import LightFMHybrid
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


# 2-d item vectors and biases: a and b point one way, c and d the other, e between them
# and held back by its bias.
PINNED_ITEMS = {"a": (1.0, 0.0), "b": (0.9, 0.1), "c": (0.0, 1.0), "d": (0.1, 0.9), "e": (0.5, 0.5)}
PINNED_ITEM_BIASES = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": -0.2}
PINNED_USERS = {"u1": (0.0, 1.0), "u4": (1.0, 0.0), "u6": (0.6, 0.4)}


def pinned_lightfm(data: TrainingData) -> LightFMHybrid:
    """LightFM whose embeddings are set by hand (after RecTools' DeterministicLightFM):
    with no epochs, its scores are exactly the pinned dot products plus item biases."""

    class PinnedLightFM(LightFM):
        def _initialize(self, no_components: int, no_item_features: int, no_user_features: int):
            super()._initialize(no_components, no_item_features, no_user_features)
            self.item_embeddings = np.array(
                [PINNED_ITEMS[i] for i in data.item_ids], dtype=np.float32
            )
            self.item_biases = np.array(
                [PINNED_ITEM_BIASES[i] for i in data.item_ids], dtype=np.float32
            )
            self.user_embeddings = np.array(
                [PINNED_USERS.get(u, (0.0, 0.0)) for u in data.user_ids], dtype=np.float32
            )

    class PinnedHybrid(LightFMHybrid):
        estimator = PinnedLightFM

    return PinnedHybrid(components=2, epochs=0, use_features=False).fit(data)


def test_lightfm_with_pinned_embeddings_recommends_the_exact_top_k(shop: TrainingData) -> None:
    model = pinned_lightfm(shop)
    items, scores = recommend_all(model, shop, 3)
    top = {u: [shop.item_ids[i] for i in items[shop.user_ids.index(u)]] for u in PINNED_USERS}

    # u4 (seen c, d) points at a: a 1.0, b 0.9, e 0.5 - 0.2. u1 (seen a, b) points at c.
    # u6 (seen a, d): b 0.58, c 0.40, e 0.30.
    assert top == {"u4": ["a", "b", "e"], "u1": ["c", "d", "e"], "u6": ["b", "c", "e"]}
    np.testing.assert_allclose(scores[shop.user_ids.index("u6")], [0.58, 0.40, 0.30], rtol=1e-6)
    served = model.embeddings()
    assert served["item_biases"][shop.item_ids.index("e")] == np.float32(-0.2)
