"""``build_profiles``: one row per customer (erased ones left out) as of the last activity
in the data: RFM (``customer_rfm``), lifetime value, category, price-band and seller
affinities, the last time of each signal, the recommender's user embedding and the
30-day purchase propensity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml import columns as c
from ml.data import signup_attributes
from ml.profiles.embeddings import UserEmbeddings
from ml.profiles.features import WINDOW_DAYS, features_as_of, last_activity, registered
from ml.profiles.inputs import ProfileInputs
from ml.profiles.propensity import PropensityConfig, train_and_score

# price bands by the customer's mean price percentile within categories
PRICE_BANDS = (("low", 1 / 3), ("mid", 2 / 3), ("high", 1.0))

# the first session of each account (ml.data.signup_attributes reads it)
FIRST_SESSIONS_SQL = """
select user_id, arg_min(session_id, (session_start_at, session_id)) as session_id,
    min(session_start_at) as session_start_at,
    arg_min(channel, (session_start_at, session_id)) as channel,
    arg_min(locale, (session_start_at, session_id)) as locale
from sessions
where user_id is not null
group by user_id
"""

COLUMNS = [
    "customer_id",
    "as_of",
    "signed_up_at",
    "signup_channel",
    "region",
    "orders_paid",
    "lifetime_value_minor",
    "recency_days",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "rfm_code",
    "rfm_segment",
    "top_category",
    "top_category_share",
    "category_shares",
    "price_percentile",
    "price_band",
    "top_seller_id",
    "top_seller_share",
    "last_view_at",
    "last_cart_at",
    "last_purchase_at",
    "last_search_at",
    "last_question_at",
    "last_review_at",
    f"sessions_{WINDOW_DAYS}d",
    f"item_views_{WINDOW_DAYS}d",
    f"cart_adds_{WINDOW_DAYS}d",
    f"searches_{WINDOW_DAYS}d",
    "purchase_propensity_30d",
    "embedding",
    "embedding_version",
]


@dataclass
class ProfileBuild:
    profiles: pd.DataFrame
    as_of: pd.Timestamp | None
    propensity: dict[str, Any] = field(default_factory=dict)


def default_as_of(last: pd.Timestamp) -> pd.Timestamp:
    """The midnight after the last activity: profiles cover whole days."""
    return last.floor("D") + pd.Timedelta(days=1)


def price_band(percentile: pd.Series) -> pd.Series:
    edges = [-np.inf] + [edge for _, edge in PRICE_BANDS[:-1]] + [np.inf]
    bands = pd.cut(percentile, edges, labels=[name for name, _ in PRICE_BANDS], right=False)
    return bands.astype(object).where(percentile.notna(), None)


def build_profiles(
    inputs: ProfileInputs,
    embeddings: UserEmbeddings | None = None,
    *,
    as_of: pd.Timestamp | None = None,
    propensity: PropensityConfig = PropensityConfig(),
) -> ProfileBuild:
    """Profiles of every customer signed up before ``as_of`` (default: the midnight after
    the last paid order or session). Customers the recommender does not know (or all of
    them, when no model with embeddings is published) get a null embedding."""
    with registered(inputs) as conn:
        last = last_activity(conn)
        if as_of is None:
            as_of = (
                default_as_of(last) if last is not None else pd.Timestamp.now(tz="UTC").floor("D")
            )
        today = features_as_of(conn, as_of)
        scored = train_and_score(conn, today, as_of, propensity)
        first_sessions = conn.execute(FIRST_SESSIONS_SQL).df()
    profiles = today.rename(columns={"orders": "orders_paid_as_of"})
    profiles["as_of"] = as_of
    signup = signup_attributes(first_sessions).rename(columns={c.USER: "customer_id"})
    customers = inputs.customers[["customer_id", "orders_paid", "lifetime_value_minor"]]
    rfm = inputs.rfm.drop(columns=[col for col in inputs.rfm if col not in COLUMNS])
    profiles = (
        profiles.merge(customers, on="customer_id", how="left")
        .merge(rfm, on="customer_id", how="left")
        .merge(signup, on="customer_id", how="left")
    )
    profiles["orders_paid"] = profiles["orders_paid"].fillna(0).astype("int64")
    profiles["lifetime_value_minor"] = profiles["lifetime_value_minor"].fillna(0).astype("int64")
    profiles["price_band"] = price_band(profiles["price_percentile"])
    profiles["purchase_propensity_30d"] = scored.scores if scored.scores is not None else np.nan
    if embeddings is not None:
        profiles["embedding"] = embeddings.for_customers(profiles["customer_id"])
        profiles["embedding_version"] = embeddings.version
    else:
        profiles["embedding"] = None
        profiles["embedding_version"] = None
    return ProfileBuild(profiles=profiles[COLUMNS], as_of=as_of, propensity=scored.metrics)
