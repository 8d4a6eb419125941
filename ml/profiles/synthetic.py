"""Synthetic profile inputs at any scale, vectorised (the benchmark's million customers,
and tests that need months of history the small simulated shop does not have).

Each customer has a sign-up day, a visit rate, a day after which they stop coming (churn),
a favourite top-level category and seller, a price taste and a conversion rate. Visits are
spread over their active days; a visit views items, may search, may add to the cart, and a
cart may become a paid order. So recent visits say more about the next month's purchase
than past orders alone do, as in the shop simulator, where shoppers churn by a hazard.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.profiles.inputs import ProfileInputs

CATEGORIES = ["home", "fashion", "electronics", "sports", "books", "toys", "beauty", "garden"]
SUBCATEGORIES = 3
DAY = np.timedelta64(1, "D")


def synthetic_inputs(
    customers: int,
    *,
    days: int = 180,
    products: int = 5_000,
    sellers: int = 400,
    seed: int = 0,
    end: str = "2026-06-30",
) -> ProfileInputs:
    """Input frames for ``customers`` accounts over ``days`` days ending at ``end``."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(end) - days * DAY
    ids = np.char.add("c", np.char.zfill(np.arange(customers).astype(str), 7)).astype(object)

    # catalogue: products spread over categories and sellers, log-normal prices
    category = rng.integers(0, len(CATEGORIES), products)
    sub = rng.integers(0, SUBCATEGORIES, products)
    product_ids = np.char.add("p", np.arange(products).astype(str)).astype(object)
    seller_ids = np.char.add("s", np.arange(sellers).astype(str)).astype(object)
    product_seller = rng.integers(0, sellers, products)
    price = np.round(np.exp(rng.normal(8.0, 0.8, products))).astype(np.int64)
    leaf = np.char.add(np.array(CATEGORIES)[category], np.char.add("/", sub.astype(str)))
    products_frame = pd.DataFrame(
        {
            "product_id": product_ids,
            "category_id": leaf.astype(object),
            "category_path": leaf.astype(object),
            "price_minor": price,
        }
    )
    by_category = [np.flatnonzero(category == k) for k in range(len(CATEGORIES))]

    # customers
    signup_day = rng.uniform(0, days * 0.8, customers)
    churn_day = signup_day + rng.exponential(days * 0.6, customers)
    rate = np.exp(rng.normal(-2.3, 0.9, customers))  # visits per active day
    favourite = rng.integers(0, len(CATEGORIES), customers)
    conversion = rng.beta(2, 6, customers)
    active = np.clip(np.minimum(churn_day, days) - signup_day, 0, None)
    visits = rng.poisson(rate * active)

    # sessions: uniform over each customer's active days
    owner = np.repeat(np.arange(customers), visits)
    n = len(owner)
    day = signup_day[owner] + rng.uniform(0, 1, n) * active[owner]
    at = start + (day * 86_400).astype("timedelta64[s]")
    views = rng.poisson(3, n) + 1
    searches = rng.poisson(0.8, n)
    carted = rng.random(n) < 0.25 + 0.5 * conversion[owner]
    sessions = pd.DataFrame(
        {
            "user_id": ids[owner],
            "session_id": np.char.add("v", np.arange(n).astype(str)).astype(object),
            "session_start_at": pd.to_datetime(at).tz_localize("UTC"),
            "item_views": views,
            "searches": searches,
            "add_to_carts": carted.astype(np.int64),
            "channel": np.array(
                ["direct", "organic", "paid_search", "email", "social"], dtype=object
            )[rng.integers(0, 5, n)],
            "locale": np.array(["en-GB", "de-DE", "fr-FR", "es-ES", "en"], dtype=object)[
                rng.integers(0, 5, n)
            ],
        }
    )

    # each session views one product, mostly of the favourite category
    own_category = np.where(rng.random(n) < 0.7, favourite[owner], rng.integers(0, 8, n))
    viewed = _pick(rng, by_category, own_category)

    # carts become paid orders, of the viewed product (or another of the same category)
    ordered = carted & (rng.random(n) < conversion[owner])
    o = np.flatnonzero(ordered)
    order_product = np.where(
        rng.random(len(o)) < 0.5, viewed[o], _pick(rng, by_category, own_category[o])
    )
    quantity = rng.integers(1, 3, len(o))
    order_items = pd.DataFrame(
        {
            "order_id": np.char.add("o", np.arange(len(o)).astype(str)).astype(object),
            "buyer_id": ids[owner[o]],
            "seller_id": seller_ids[product_seller[order_product]],
            "line_total_minor": price[order_product] * quantity,
            "placed_at": at[o] + np.timedelta64(10, "m"),
            "is_paid": np.ones(len(o), dtype=bool),
        }
    )
    order_items["placed_at"] = pd.to_datetime(order_items["placed_at"], utc=True)

    interactions = pd.DataFrame(
        {
            "user_id": np.concatenate([ids[owner], ids[owner[o]]]),
            "product_id": np.concatenate([product_ids[viewed], product_ids[order_product]]),
            "interaction_weight": np.concatenate(
                [views.astype(float), 5.0 * quantity + carted[o].astype(float) * 3.0]
            ),
            "last_interaction_at": np.concatenate([at, at[o] + np.timedelta64(10, "m")]),
        }
    )
    interactions["last_interaction_at"] = pd.to_datetime(
        interactions["last_interaction_at"], utc=True
    )

    asked = rng.random(n) < 0.03
    reviewed = rng.random(len(o)) < 0.3
    questions = pd.DataFrame({"asker_id": ids[owner[asked]], "asked_at": at[asked]})
    reviews = pd.DataFrame(
        {
            "buyer_id": order_items["buyer_id"].to_numpy()[reviewed],
            "reviewed_at": at[o][reviewed] + np.timedelta64(7, "D"),
        }
    )
    for frame, column in ((questions, "asked_at"), (reviews, "reviewed_at")):
        frame[column] = pd.to_datetime(frame[column], utc=True)

    orders_paid = np.bincount(owner[o], minlength=customers)
    spend = np.bincount(owner[o], weights=order_items["line_total_minor"], minlength=customers)
    customers_frame = pd.DataFrame(
        {
            "customer_id": ids,
            "is_erased": np.zeros(customers, dtype=bool),
            "signed_up_at": pd.to_datetime(
                start + (signup_day * 86_400).astype("timedelta64[s]")
            ).tz_localize("UTC"),
            "orders_paid": orders_paid,
            "lifetime_value_minor": spend.astype(np.int64),
        }
    )
    return ProfileInputs(
        customers=customers_frame,
        rfm=rfm_scores(order_items),
        order_items=order_items,
        products=products_frame,
        interactions=interactions,
        sessions=sessions,
        questions=questions,
        reviews=reviews,
    )


def _pick(
    rng: np.random.Generator, by_category: list[np.ndarray], category: np.ndarray
) -> np.ndarray:
    """A random product of each given category."""
    sizes = np.array([len(members) for members in by_category])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate(by_category)
    return flat[offsets[category] + (rng.random(len(category)) * sizes[category]).astype(int)]


def rfm_scores(order_items: pd.DataFrame) -> pd.DataFrame:
    """``customer_rfm``'s columns for the synthetic buyers (scores by rank in fifths, as the
    mart computes them)."""
    paid = order_items[order_items["is_paid"]]
    per = paid.groupby("buyer_id").agg(
        last=("placed_at", "max"),
        frequency=("order_id", "nunique"),
        monetary=("line_total_minor", "sum"),
    )
    recency = (per["last"].max() - per["last"]).dt.days
    n = max(len(per) - 1, 1)

    def score(values: pd.Series) -> pd.Series:
        ranked = values.rank(method="min")
        return np.minimum(5, 1 + np.floor(5.0 * (ranked - 1) / n)).astype(int)

    scores = pd.DataFrame(
        {
            "customer_id": per.index.to_numpy(),
            "recency_days": recency.to_numpy(),
            "recency_score": score(-recency).to_numpy(),
            "frequency_score": score(per["frequency"]).to_numpy(),
            "monetary_score": score(per["monetary"]).to_numpy(),
        }
    )
    scores["rfm_code"] = (
        scores["recency_score"].astype(str)
        + scores["frequency_score"].astype(str)
        + scores["monetary_score"].astype(str)
    )
    r, f = scores["recency_score"], scores["frequency_score"]
    scores["rfm_segment"] = np.select(
        [
            (r >= 4) & (f >= 4),
            (r >= 3) & (f >= 3),
            (r >= 4) & (f <= 2),
            (r <= 2) & (f >= 3),
            (r <= 2),
        ],
        ["champions", "loyal", "new_or_promising", "at_risk", "hibernating"],
        "needs_attention",
    )
    return scores
