"""What profiles are built from: frames shaped like the marts they come from.

The Dagster asset reads them from the warehouse (``READS``); the benchmark and tests build
them by hand (``ml.profiles.synthetic``). Only the columns listed are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# frame -> (mart, columns); the asset reads exactly these
READS: dict[str, tuple[str, list[str]]] = {
    "customers": (
        "marts.dim_customers",
        ["customer_id", "is_erased", "signed_up_at", "orders_paid", "lifetime_value_minor"],
    ),
    "rfm": (
        "marts.customer_rfm",
        [
            "customer_id",
            "recency_days",
            "recency_score",
            "frequency_score",
            "monetary_score",
            "rfm_code",
            "rfm_segment",
        ],
    ),
    "order_items": (
        "marts.fct_order_items",
        ["order_id", "buyer_id", "seller_id", "line_total_minor", "placed_at", "is_paid"],
    ),
    "products": (
        "marts.dim_products",
        ["product_id", "category_id", "category_path", "price_minor"],
    ),
    "interactions": (
        "marts.interactions",
        ["user_id", "product_id", "interaction_weight", "last_interaction_at"],
    ),
    "sessions": (
        "marts.fct_sessions",
        [
            "user_id",
            "session_id",
            "session_start_at",
            "item_views",
            "searches",
            "add_to_carts",
            "channel",
            "locale",
        ],
    ),
    "questions": ("staging.stg_raw__questions", ["asker_id", "asked_at"]),
    "reviews": ("staging.stg_raw__reviews", ["buyer_id", "reviewed_at"]),
}

# rows worth reading: accounts only (devices never logged in have no profile)
FILTERS = {
    "interactions": "user_id is not null",
    "sessions": "user_id is not null",
    "order_items": "is_paid",
}


@dataclass(frozen=True)
class ProfileInputs:
    """One frame per ``READS`` entry (columns as listed there)."""

    customers: pd.DataFrame
    rfm: pd.DataFrame
    order_items: pd.DataFrame
    products: pd.DataFrame
    interactions: pd.DataFrame
    sessions: pd.DataFrame
    questions: pd.DataFrame
    reviews: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in READS}


def read_sql(name: str) -> str:
    """The query that reads one input frame from the warehouse."""
    relation, columns = READS[name]
    where = f" where {FILTERS[name]}" if name in FILTERS else ""
    return f"select {', '.join(columns)} from {relation}{where}"
