"""Hand-built profile inputs: a few customers whose features can be worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.profiles.inputs import ProfileInputs


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column.endswith("_at"):
            out[column] = pd.to_datetime(out[column], utc=True)
    return out


@pytest.fixture
def small_inputs() -> ProfileInputs:
    """ann buys home twice (seller s1, then s2), browses fashion; bob only browses, cheap
    electronics; cid is erased; dee signs up after the cut-off used in tests (June 1st)."""
    customers = frame(
        [
            ("ann", False, "2026-01-01", 2, 9000),
            ("bob", False, "2026-02-01", 0, 0),
            ("cid", True, "2026-01-01", 1, 500),
            ("dee", False, "2026-06-10", 0, 0),
        ],
        ["customer_id", "is_erased", "signed_up_at", "orders_paid", "lifetime_value_minor"],
    )
    rfm = frame(
        [("ann", 5, 5, 4, 5, "545", "champions")],
        ["customer_id", "recency_days", "recency_score", "frequency_score", "monetary_score",
         "rfm_code", "rfm_segment"],
    )  # fmt: skip
    order_items = frame(
        [
            ("o1", "ann", "s1", 6000, "2026-03-01 10:00", True),
            ("o2", "ann", "s2", 3000, "2026-05-20 10:00", True),
            ("o3", "ann", "s2", 9999, "2026-06-05 10:00", True),  # after the cut-off
            ("o4", "cid", "s1", 500, "2026-03-01 10:00", True),
            ("o5", "bob", "s1", 700, "2026-04-01 10:00", False),  # never paid
        ],
        ["order_id", "buyer_id", "seller_id", "line_total_minor", "placed_at", "is_paid"],
    )
    products = frame(
        [
            ("p1", "c-sofa", "home/sofas", 100),
            ("p2", "c-sofa", "home/sofas", 300),
            ("p3", "c-dress", "fashion/dresses", 50),
            ("p4", "c-phone", "electronics/phones", 10),
            ("p5", "c-phone", "electronics/phones", 20),
        ],
        ["product_id", "category_id", "category_path", "price_minor"],
    )
    interactions = frame(
        [
            ("ann", "p2", 6.0, "2026-03-01 10:00"),
            ("ann", "p2", 3.0, "2026-05-20 10:00"),
            ("ann", "p3", 1.0, "2026-05-21 10:00"),
            ("bob", "p4", 2.0, "2026-05-25 10:00"),
            ("bob", "p3", 1.0, "2026-06-20 10:00"),  # after the cut-off
        ],
        ["user_id", "product_id", "interaction_weight", "last_interaction_at"],
    )
    sessions = frame(
        [
            ("ann", "v1", "2026-05-20 09:00", 3, 1, 1, "email", "en-GB"),
            ("ann", "v0", "2026-01-01 09:00", 1, 0, 0, "social", "de-AT"),
            ("bob", "v2", "2026-05-25 09:00", 2, 2, 0, "organic", "fr-FR"),
            ("bob", "v3", "2026-06-20 09:00", 1, 0, 1, "organic", "fr-FR"),
        ],
        ["user_id", "session_id", "session_start_at", "item_views", "searches", "add_to_carts",
         "channel", "locale"],
    )  # fmt: skip
    questions = frame([("bob", "2026-05-26 12:00")], ["asker_id", "asked_at"])
    reviews = frame([("ann", "2026-05-28 12:00")], ["buyer_id", "reviewed_at"])
    return ProfileInputs(
        customers=customers, rfm=rfm, order_items=order_items, products=products,
        interactions=interactions, sessions=sessions, questions=questions, reviews=reviews,
    )  # fmt: skip
