"""Behaviour features of every customer as of a moment, computed by DuckDB over the input
frames (one query, no per-customer Python): what they bought, browsed, searched, asked and
reviewed before ``as_of``. The same query serves the propensity model's training cut-offs
and today's profiles, so the model is scored on the features it was trained on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa

from ml.profiles.inputs import READS, ProfileInputs

# recent-activity window of the counting features, in days
WINDOW_DAYS = 30

# Training cut-offs read a sample of customers: every source is filtered by a hash of the
# customer id (``$permille`` of 1000 buckets; 1000 keeps everyone).
SAMPLED = "hash({column}) % 1000 < $permille"

# Category affinity is over top-level categories (the first slug of the listing's
# category path); price affinity is the interaction-weighted mean of each listing's price
# percentile within its own category (0 cheapest, 1 dearest), so a cheap laptop and a
# cheap sofa count alike.
FEATURES_SQL = f"""
with
customers as (
    select customer_id, signed_up_at
    from customers
    where not coalesce(is_erased, false)
        and {SAMPLED.format(column="customer_id")}
        and (signed_up_at is null or signed_up_at < $as_of)
),
paid as (
    select buyer_id as customer_id, order_id, seller_id, line_total_minor, placed_at
    from order_items
    where is_paid and placed_at < $as_of and {SAMPLED.format(column="buyer_id")}
),
orders as (
    select
        customer_id,
        count(distinct order_id) as orders,
        count(distinct order_id) filter (
            where placed_at >= $as_of - interval {WINDOW_DAYS} day) as orders_{WINDOW_DAYS}d,
        sum(line_total_minor) as spend_minor,
        max(placed_at) as last_purchase_at,
        min(placed_at) as first_purchase_at
    from paid
    group by customer_id
),
by_seller as (
    select customer_id, seller_id, sum(line_total_minor) as spend
    from paid
    group by customer_id, seller_id
),
sellers as (
    select
        customer_id,
        seller_id as top_seller_id,
        spend / nullif(sum(spend) over (partition by customer_id), 0) as top_seller_share
    from by_seller
    qualify row_number() over (partition by customer_id order by spend desc, seller_id) = 1
),
products as (
    select
        product_id,
        split_part(category_path, '/', 1) as top_category,
        percent_rank() over (partition by category_id order by price_minor) as price_percentile
    from products
),
by_category as (
    select
        interactions.user_id as customer_id,
        products.top_category,
        sum(interactions.interaction_weight) as weight,
        sum(interactions.interaction_weight * products.price_percentile) as price_weight
    from interactions
    inner join products on interactions.product_id = products.product_id
    where interactions.last_interaction_at < $as_of
        and interactions.interaction_weight > 0
        and products.top_category <> ''
        and {SAMPLED.format(column="interactions.user_id")}
    group by all
),
category_totals as (
    select
        customer_id,
        -- the heaviest category; ties to the first name
        arg_min(top_category, (-weight, top_category)) as top_category,
        max(weight) / sum(weight) as top_category_share,
        sum(weight) as total,
        sum(price_weight) / sum(weight) as price_percentile
    from by_category
    group by customer_id
),
categories as (
    select
        category_totals.customer_id,
        any_value(category_totals.top_category) as top_category,
        any_value(category_totals.top_category_share) as top_category_share,
        cast(json_group_object(
            by_category.top_category, round(by_category.weight / category_totals.total, 4)
        ) as varchar) as category_shares,
        any_value(category_totals.price_percentile) as price_percentile
    from by_category
    inner join category_totals on by_category.customer_id = category_totals.customer_id
    group by category_totals.customer_id
),
visits as (
    select
        user_id as customer_id,
        max(session_start_at) filter (where item_views > 0) as last_view_at,
        max(session_start_at) filter (where add_to_carts > 0) as last_cart_at,
        max(session_start_at) filter (where searches > 0) as last_search_at,
        count(*) as sessions,
        count(*) filter (where session_start_at >= $as_of - interval {WINDOW_DAYS} day)
            as sessions_{WINDOW_DAYS}d,
        coalesce(sum(item_views) filter (
            where session_start_at >= $as_of - interval {WINDOW_DAYS} day), 0)
            as item_views_{WINDOW_DAYS}d,
        coalesce(sum(add_to_carts) filter (
            where session_start_at >= $as_of - interval {WINDOW_DAYS} day), 0)
            as cart_adds_{WINDOW_DAYS}d,
        coalesce(sum(searches) filter (
            where session_start_at >= $as_of - interval {WINDOW_DAYS} day), 0)
            as searches_{WINDOW_DAYS}d
    from sessions
    where user_id is not null and session_start_at < $as_of
        and {SAMPLED.format(column="user_id")}
    group by user_id
),
asked as (
    select asker_id as customer_id, max(asked_at) as last_question_at, count(*) as questions
    from questions
    where asked_at < $as_of and {SAMPLED.format(column="asker_id")}
    group by asker_id
),
reviewed as (
    select buyer_id as customer_id, max(reviewed_at) as last_review_at, count(*) as reviews
    from reviews
    where reviewed_at < $as_of and {SAMPLED.format(column="buyer_id")}
    group by buyer_id
)
select
    keys.customer_id,
    customers.customer_id as customer_key,
    customers.signed_up_at,
    coalesce(orders.orders, 0) as orders,
    coalesce(orders.orders_{WINDOW_DAYS}d, 0) as orders_{WINDOW_DAYS}d,
    coalesce(orders.spend_minor, 0) as spend_minor,
    orders.first_purchase_at,
    categories.top_category,
    categories.top_category_share,
    categories.category_shares,
    categories.price_percentile,
    sellers.top_seller_id,
    sellers.top_seller_share,
    visits.last_view_at,
    visits.last_cart_at,
    orders.last_purchase_at,
    visits.last_search_at,
    asked.last_question_at,
    reviewed.last_review_at,
    coalesce(visits.sessions, 0) as sessions,
    coalesce(visits.sessions_{WINDOW_DAYS}d, 0) as sessions_{WINDOW_DAYS}d,
    coalesce(visits.item_views_{WINDOW_DAYS}d, 0) as item_views_{WINDOW_DAYS}d,
    coalesce(visits.cart_adds_{WINDOW_DAYS}d, 0) as cart_adds_{WINDOW_DAYS}d,
    coalesce(visits.searches_{WINDOW_DAYS}d, 0) as searches_{WINDOW_DAYS}d,
    coalesce(asked.questions, 0) as questions,
    coalesce(reviewed.reviews, 0) as reviews
from customers
inner join customer_keys as keys on customers.customer_id = keys.customer_key
left join orders on customers.customer_id = orders.customer_id
left join sellers on customers.customer_id = sellers.customer_id
left join categories on customers.customer_id = categories.customer_id
left join visits on customers.customer_id = visits.customer_id
left join asked on customers.customer_id = asked.customer_id
left join reviewed on customers.customer_id = reviewed.customer_id
order by customers.customer_id
"""

LABEL_SQL = """
select distinct keys.customer_id
from order_items
inner join customer_keys as keys on order_items.buyer_id = keys.customer_key
where order_items.is_paid and order_items.placed_at >= $start and order_items.placed_at < $end
"""

LAST_ACTIVITY_SQL = """
select greatest(
    (select max(placed_at) from order_items where is_paid),
    (select max(session_start_at) from sessions)
)
"""


# the customer columns of each frame: registered as integer keys
CUSTOMER_COLUMNS = {
    "customers": "customer_id",
    "order_items": "buyer_id",
    "interactions": "user_id",
    "sessions": "user_id",
    "questions": "asker_id",
    "reviews": "buyer_id",
    "rfm": "customer_id",
}
KEYS_SQL = """
create table customer_keys as
select customer_id, row_number() over (order by customer_id) as customer_key
from (select distinct customer_id from frame where customer_id is not null)
"""


@contextmanager
def registered(inputs: ProfileInputs) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB (UTC) holding every input frame as a table of its name (copied
    once: scanning pandas' Python strings on every query would cost more than the query),
    its customer columns replaced by integer keys numbered in ``customer_id`` order
    (``customer_keys`` maps them back): every query groups and joins on integers, not
    strings. Rows of accounts that are not customers keep a null key."""
    conn = duckdb.connect()
    try:
        conn.execute("set TimeZone = 'UTC'")
        for name, frame in inputs.frames().items():
            columns = [column for column in READS[name][1] if column in frame]
            conn.register("frame", frame[columns])
            if name == "customers":
                conn.execute(KEYS_SQL)
            key = CUSTOMER_COLUMNS.get(name)
            if key is None:
                conn.execute(f"create table {name} as select * from frame")
            else:
                keyed = ", ".join(
                    f"keys.customer_key as {key}" if column == key else f"frame.{column}"
                    for column in columns
                )
                conn.execute(
                    f"create table {name} as select {keyed} from frame "
                    f"left join customer_keys as keys on frame.{key} = keys.customer_id"
                )
            conn.unregister("frame")
        yield conn
    finally:
        conn.close()


def features_as_of(
    conn: duckdb.DuckDBPyConnection, as_of: pd.Timestamp, permille: int = 1000
) -> pd.DataFrame:
    """One row per customer signed up before ``as_of`` (erased ones left out), ordered by
    ``customer_id`` (and its ``customer_key``): counts and recency timestamps of what
    happened before it. With
    ``permille`` < 1000, only that share of customers (a fixed hash sample)."""
    return conn.execute(FEATURES_SQL, {"as_of": as_of.to_pydatetime(), "permille": permille}).df()


def buyers_between(
    conn: duckdb.DuckDBPyConnection, start: pd.Timestamp, end: pd.Timestamp
) -> pa.Array:
    """Customers with a paid order placed in ``[start, end)``: the propensity label."""
    table = conn.sql(
        LABEL_SQL, params={"start": start.to_pydatetime(), "end": end.to_pydatetime()}
    ).to_arrow_table()
    return table["customer_id"].combine_chunks()


def last_activity(conn: duckdb.DuckDBPyConnection) -> pd.Timestamp | None:
    """The latest paid order or session: the profiles' ``as_of`` by default (like
    ``customer_rfm``, so a rebuild on the same data gives the same profiles)."""
    value = conn.execute(LAST_ACTIVITY_SQL).fetchone()
    if value is None or value[0] is None:
        return None
    return (
        pd.Timestamp(value[0]).tz_convert("UTC")
        if pd.Timestamp(value[0]).tzinfo
        else pd.Timestamp(value[0], tz="UTC")
    )
