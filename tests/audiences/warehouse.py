"""A small hand-built warehouse with the tables audience definitions read, and a
customer-at-a-time writer, so each definition's SQL is tested on rows chosen for it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import duckdb

from audiences.identifiers import hashed_email, hashed_phone

SCHEMA = """
create schema if not exists marts;
create schema if not exists staging;
create schema if not exists profiles;
create table marts.dim_customers (
    customer_id varchar, role varchar, is_erased boolean, email varchar,
    email_sha256 varchar, phone_sha256 varchar,
    has_ad_user_data_consent boolean, has_ad_personalization_consent boolean,
    has_marketing_consent boolean, orders_paid bigint, last_order_at timestamp,
    signed_up_at timestamp
);
create table marts.customer_rfm (
    customer_id varchar, recency_score integer, frequency_score integer,
    monetary_score integer, rfm_segment varchar
);
create table marts.interactions (
    user_key varchar, user_id varchar, product_id varchar, interaction_date date,
    views bigint, cart_adds bigint, units_purchased bigint, interaction_weight double
);
create table marts.fct_orders (
    order_id varchar, buyer_id varchar, is_paid boolean, order_date date
);
create table marts.fct_order_items (
    order_item_id varchar, order_id varchar, listing_id varchar, seller_id varchar,
    buyer_id varchar, is_paid boolean, paid_at timestamp
);
create table marts.dim_products (product_id varchar, seller_id varchar, category_path varchar);
create table marts.seller_performance (
    seller_id varchar, review_count bigint, average_rating double
);
create table staging.stg_raw__questions (
    question_id varchar, listing_id varchar, asker_id varchar, asked_at timestamp
);
create table profiles.customer_profiles (
    customer_id varchar, segment_id integer, segment_name varchar, embedding float[]
);
"""

NOW = datetime.now(UTC).replace(tzinfo=None)
TODAY = NOW.date()


def new_id() -> str:
    return str(uuid.uuid4())


def build(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SCHEMA)


def customer(
    conn: duckdb.DuckDBPyConnection,
    *,
    consent: bool = True,
    erased: bool = False,
    phone: str | None = None,
    orders_paid: int = 0,
    last_order_days_ago: int | None = None,
    signed_up_days_ago: int = 400,
    role: str = "shopper",
    customer_id: str | None = None,
) -> str:
    """A row of ``dim_customers``; its email is ``<id>@example.com``."""
    customer_id = customer_id or new_id()
    email = None if erased else f"{customer_id}@example.com"
    last_order = (
        NOW - timedelta(days=last_order_days_ago) if last_order_days_ago is not None else None
    )
    conn.execute(
        "insert into marts.dim_customers values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            customer_id, role, erased, email,
            hashed_email(email), None if erased else hashed_phone(phone),
            consent and not erased, consent and not erased, consent and not erased,
            orders_paid, last_order, NOW - timedelta(days=signed_up_days_ago),
        ],
    )  # fmt: skip
    return customer_id


def interaction(
    conn: duckdb.DuckDBPyConnection,
    customer_id: str,
    product_id: str,
    *,
    days_ago: int,
    cart_adds: int = 0,
    weight: float = 1.0,
) -> None:
    conn.execute(
        "insert into marts.interactions values (?, ?, ?, ?, 1, ?, 0, ?)",
        [customer_id, customer_id, product_id, TODAY - timedelta(days=days_ago), cart_adds, weight],
    )


def order(
    conn: duckdb.DuckDBPyConnection,
    customer_id: str,
    *,
    days_ago: int,
    listing_id: str | None = None,
    seller_id: str | None = None,
    paid: bool = True,
) -> str:
    order_id = new_id()
    day: date = TODAY - timedelta(days=days_ago)
    conn.execute(
        "insert into marts.fct_orders values (?, ?, ?, ?)", [order_id, customer_id, paid, day]
    )
    conn.execute(
        "insert into marts.fct_order_items values (?, ?, ?, ?, ?, ?, ?)",
        [new_id(), order_id, listing_id or new_id(), seller_id or new_id(), customer_id, paid,
         NOW - timedelta(days=days_ago)],
    )  # fmt: skip
    return order_id


def product(
    conn: duckdb.DuckDBPyConnection, category_path: str, seller_id: str | None = None
) -> str:
    product_id = new_id()
    conn.execute(
        "insert into marts.dim_products values (?, ?, ?)", [product_id, seller_id, category_path]
    )
    return product_id
