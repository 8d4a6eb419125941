"""Months of shopper history without the shop, as the profiles read it from the warehouse.

The population's shoppers (``population.make_population``: activity, join day, churn,
category preferences, budget, favourite sellers, loyalty) visit on the calendar's days
(``calendar.day_multiplier``), look at lists of their preferred categories' listings and
click, add to the cart and check out by the formulas of ``behaviour`` (utility-driven
clicks, ``sigmoid(utility - 0.8) * 0.1 * mood`` per item viewed, the cart's checkout
chance, 12% leaving at payment, questions on 0.4% of item pages, reviews after delivery).
What they do is written straight as the frames of
``ml.profiles.inputs`` (sessions, interactions, paid order items, customers, RFM),
without the API, events and dbt: months of history in seconds, for the propensity
model's 60-day time split, which the API-driven simulation cannot reach in a test.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from ml.profiles.inputs import ProfileInputs
from ml.profiles.synthetic import rfm_scores
from simulator.behaviour import sigmoid
from simulator.calendar import day_multiplier, poisson, season, session_second
from simulator.population import Item, Population, PopulationConfig, Shopper, make_population
from simulator.vocabulary import DEFAULT_CATEGORY_TREE, leaf_categories

LIST_SIZE = 8
MAX_PAGES = 6
# interaction weights per signal (the dbt var's order of magnitude)
VIEW, CART, PURCHASE = 1.0, 3.0, 5.0


@dataclass
class _State:
    cart: list[int] = field(default_factory=list)
    bought_sellers: set[int] = field(default_factory=set)
    orders: int = 0
    spend: int = 0
    first_visit: datetime | None = None


def category_paths() -> dict[str, str]:
    """``top/leaf`` of every leaf category (the marts' ``category_path``)."""
    paths = {}
    for top, (_name, children) in DEFAULT_CATEGORY_TREE.items():
        for leaf in leaf_categories(children) if children else [top]:
            paths[leaf] = f"{top}/{leaf}"
    return paths


class _World:
    def __init__(self, population: Population, rng: random.Random) -> None:
        self.population = population
        self.rng = rng
        self.by_category: dict[str, list[int]] = {}
        for item in population.items:
            self.by_category.setdefault(item.category, []).append(item.index)
        self.sessions: list[tuple] = []
        self.interactions: list[tuple] = []
        self.order_items: list[tuple] = []
        self.questions: list[tuple] = []
        self.reviews: list[tuple] = []

    def utility(self, shopper: Shopper, state: _State, item: Item) -> float:
        value = shopper.utility(item, self.population.sellers[item.seller])
        if item.seller in state.bought_sellers and item.seller not in shopper.favourite_sellers:
            value += 0.6 * shopper.loyalty
        return value

    def listed(self, shopper: Shopper, day: int) -> list[Item]:
        """A page's list: listings on sale that day of a category the shopper likes."""
        items = self.population.items
        category = self.rng.choices(self.population.categories, weights=shopper.preferences)[0]
        on_sale = [
            i
            for i in self.by_category.get(category, [])
            if items[i].created_day <= day
            and self.population.sellers[items[i].seller].join_day <= day
        ]
        chosen = self.rng.sample(on_sale, min(LIST_SIZE, len(on_sale)))
        return [items[i] for i in chosen]

    def session(self, shopper: Shopper, state: _State, day: int, at: datetime, key: str) -> None:
        rng, mood = self.rng, season(at.date()) ** 0.5
        state.first_visit = state.first_visit or at
        views = carts = searches = 0
        clock = at
        if not (state.cart and rng.random() < 0.25 + 0.5 * shopper.loyalty):
            for _ in range(MAX_PAGES):
                shown = self.listed(shopper, day)
                if not shown:
                    break
                scores = [
                    self.utility(shopper, state, item) - 0.12 * position
                    for position, item in enumerate(shown)
                ]
                best = max(scores)
                clock += timedelta(seconds=35)
                searches += rng.random() < 0.5  # half the lists are search results
                if rng.random() < sigmoid(best):
                    weights = [math.exp(2.0 * (score - best)) for score in scores]
                    item = rng.choices(shown, weights=weights)[0]
                    views += 1
                    self.interactions.append((shopper.key, item.key, VIEW, clock))
                    if rng.random() < 0.004:
                        self.questions.append((shopper.key, clock))
                    utility = self.utility(shopper, state, item)
                    if item.index not in state.cart and rng.random() < (
                        sigmoid(utility - 0.8) * 0.1 * mood
                    ):
                        state.cart.append(item.index)
                        carts += 1
                        self.interactions.append((shopper.key, item.key, CART, clock))
                if rng.random() < 0.3:
                    break
        if state.cart and (carts or rng.random() < 0.3):
            self.checkout(shopper, state, clock + timedelta(seconds=60), mood)
        self.sessions.append(
            (shopper.key, key, at, views, searches, carts, shopper.channel, shopper.locale)
        )

    def checkout(self, shopper: Shopper, state: _State, at: datetime, mood: float) -> None:
        rng, items = self.rng, self.population.items
        best = max(self.utility(shopper, state, items[i]) for i in state.cart)
        if rng.random() >= sigmoid(best + 0.3) * (0.35 + 0.3 * shopper.loyalty) * mood:
            return
        cart, state.cart = state.cart, []
        if rng.random() < 0.12:  # leaves at the payment step
            return
        if rng.random() < shopper.decline_rate and rng.random() < 0.35:
            return  # declined, and gave up
        order_id = f"order-{len(self.order_items):07d}-{shopper.index}"
        for index in cart:
            item = items[index]
            seller = self.population.sellers[item.seller]
            self.order_items.append((order_id, shopper.key, seller.key, item.price_minor, at, True))
            self.interactions.append((shopper.key, item.key, PURCHASE, at))
            state.bought_sellers.add(item.seller)
            state.spend += item.price_minor
        state.orders += 1
        if rng.random() < 0.3 + 0.25 * shopper.loyalty:  # after delivery (about 3 days)
            delay = timedelta(hours=72 + rng.lognormvariate(math.log(60), 0.8))
            self.reviews.append((shopper.key, at + delay))


def histories(
    shoppers: int, days: int, *, seed: int = 0, start: date = date(2026, 1, 5)
) -> ProfileInputs:
    """``days`` days of ``shoppers`` simulated shoppers from ``start``, as profile inputs."""
    rng = random.Random(seed)
    population = make_population(PopulationConfig(shoppers=shoppers, days=days), rng)
    world = _World(population, rng)
    states = [_State() for _ in population.shoppers]
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    for day in range(days):
        midnight = begin + timedelta(days=day)
        multiplier = day_multiplier(midnight.date())
        for shopper in population.shoppers:
            if not shopper.join_day <= day < shopper.churn_day:
                continue
            rate = shopper.activity * multiplier * (1.6 if shopper.join_day == day else 1.0)
            for number in range(poisson(rng, rate)):
                at = midnight + timedelta(seconds=session_second(rng))
                key = f"session-{shopper.index}-{day}-{number}"
                world.session(shopper, states[shopper.index], day, at, key)
    return _inputs(population, world, states)


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _inputs(population: Population, world: _World, states: list[_State]) -> ProfileInputs:
    visitors = [
        (s, st) for s, st in zip(population.shoppers, states, strict=True) if st.first_visit
    ]
    customers = _frame(
        [(s.key, False, st.first_visit, st.orders, st.spend) for s, st in visitors],
        ["customer_id", "is_erased", "signed_up_at", "orders_paid", "lifetime_value_minor"],
    )
    order_items = _frame(
        world.order_items,
        ["order_id", "buyer_id", "seller_id", "line_total_minor", "placed_at", "is_paid"],
    )
    paths = category_paths()
    products = _frame(
        [(i.key, i.category, paths[i.category], i.price_minor) for i in population.items],
        ["product_id", "category_id", "category_path", "price_minor"],
    )
    interactions = _frame(
        world.interactions, ["user_id", "product_id", "interaction_weight", "last_interaction_at"]
    )
    sessions = _frame(
        world.sessions,
        ["user_id", "session_id", "session_start_at", "item_views", "searches", "add_to_carts",
         "channel", "locale"],
    )  # fmt: skip
    return ProfileInputs(
        customers=customers,
        rfm=rfm_scores(order_items),
        order_items=order_items,
        products=products,
        interactions=interactions,
        sessions=sessions,
        questions=_frame(world.questions, ["asker_id", "asked_at"]),
        reviews=_frame(world.reviews, ["buyer_id", "reviewed_at"]),
    )
