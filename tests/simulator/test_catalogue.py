"""The simulated catalogue: what sellers offer, so that shoppers' searches and
recommendations have something to find in every category of the shop's tree."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from simulator.population import PopulationConfig, make_population
from simulator.vocabulary import VOCABULARY, leaf_categories


@pytest.mark.parametrize(
    ("shoppers", "sellers"),
    [(1, None), (20, None), (200, None), (40, 6), (300, 1)],
)
def test_every_leaf_category_and_product_noun_is_on_sale_from_the_first_day(
    shoppers: int, sellers: int | None
) -> None:
    config = PopulationConfig(shoppers=shoppers, days=7, sellers=sellers)
    population = make_population(config, random.Random(f"catalogue:{shoppers}"))
    open_from_start = {seller.index for seller in population.sellers if seller.join_day == 0}
    first_day = [
        item for item in population.items
        if item.created_day == 0 and item.seller in open_from_start
    ]  # fmt: skip
    assert {item.category for item in first_day} == set(leaf_categories())
    for slug, words in VOCABULARY.items():
        titles = [set(item.title.lower().split()) for item in first_day if item.category == slug]
        for noun in words.nouns:
            assert any(set(noun.replace("-", " ").split()) <= title for title in titles), noun


def test_popular_categories_have_more_listings_than_niche_ones() -> None:
    population = make_population(PopulationConfig(shoppers=2000, days=7), random.Random(7))
    listings = Counter(item.category for item in population.items)
    by_popularity = sorted(leaf_categories(), key=lambda slug: -VOCABULARY[slug].popularity)
    third = len(by_popularity) // 3
    popular = sum(listings[slug] for slug in by_popularity[:third])
    niche = sum(listings[slug] for slug in by_popularity[-third:])
    assert popular > 2 * niche
