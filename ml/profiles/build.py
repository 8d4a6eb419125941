"""``build_profiles``: one row per customer (erased ones left out) as of the last activity
in the data: RFM (``customer_rfm``), lifetime value, category, price-band and seller
affinities, the last time of each signal, the recommender's user embedding and the
30-day purchase propensity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
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

# the channel and locale of each account's first session (``customer_id`` is the key)
FIRST_SESSIONS_SQL = """
select user_id as customer_id, first.channel, first.locale
from (
    select user_id, arg_min({'channel': channel, 'locale': locale}, (session_start_at, session_id))
        as first
    from sessions
    where user_id is not null
    group by user_id
)
"""

# what the profiles take from the other marts, per customer key
EXTRAS_SQL = """
select
    keys.customer_key,
    customers.orders_paid,
    customers.lifetime_value_minor,
    {rfm}
    pairs.signup_channel,
    pairs.region
from customer_keys as keys
left join customers on customers.customer_id = keys.customer_key
left join rfm on rfm.customer_id = keys.customer_key
left join _first_sessions as first on first.customer_id = keys.customer_key
left join _signup_pairs as pairs
    on first.channel is not distinct from pairs.channel
    and first.locale is not distinct from pairs.locale
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


def signup_columns(pairs: pd.DataFrame) -> pd.DataFrame:
    """``signup_channel`` and ``region`` of each distinct (channel, locale) pair by
    ``ml.data.signup_attributes``: a million accounts share a few dozen pairs, and the
    helper's per-row Python would cost seconds."""
    pairs = pairs[["channel", "locale"]].drop_duplicates().reset_index(drop=True)
    keys = pairs.index.astype(str)
    attributes = signup_attributes(
        pairs.assign(user_id=keys, session_id=keys, session_start_at=0)
    ).rename(columns={c.USER: "pair"})
    return pairs.assign(pair=keys).merge(attributes, on="pair").drop(columns="pair")


def extras(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per customer key (the index): paid orders and lifetime value, the RFM columns, and
    the sign-up channel and region of the first session; ``features.registered`` tables."""
    conn.execute(f"create or replace temp table _first_sessions as {FIRST_SESSIONS_SQL}")
    pairs = signup_columns(
        conn.execute("select distinct channel, locale from _first_sessions").df()
    )
    rfm = [
        name
        for (name,) in conn.execute("select column_name from (describe rfm)").fetchall()
        if name in COLUMNS and name != "customer_id"
    ]
    conn.register("_signup_pairs", pairs)
    try:
        rows = conn.execute(EXTRAS_SQL.format(rfm="".join(f"rfm.{name}, " for name in rfm))).df()
    finally:
        conn.unregister("_signup_pairs")
        conn.execute("drop table _first_sessions")
    return rows.set_index("customer_key")


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
        others = extras(conn).reindex(today["customer_key"].to_numpy())
    profiles = today.rename(columns={"orders": "orders_paid_as_of"})
    profiles["as_of"] = as_of
    for name in others.columns:
        profiles[name] = others[name].to_numpy()
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
