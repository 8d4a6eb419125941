"""What the dashboards read from the warehouse: one query per frame, each naming its
source table and the column that says how recent its data is.

Queries aggregate in DuckDB, so a page carries the points it draws, not the marts' rows.
A table that does not exist yet (a fresh warehouse, a feature not run) reads as an empty
frame with the query's columns, and the page shows "no data yet".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd


@dataclass(frozen=True)
class Query:
    name: str
    table: str  # schema.table the frame comes from, shown under each chart
    sql: str
    date_column: str | None = None  # max(date_column) of the table: "data through ..."


@dataclass(frozen=True)
class Frame:
    """A query's result with where it came from and how recent it is."""

    table: str
    data: pd.DataFrame
    through: date | datetime | None = None


QUERIES = [
    Query(
        "orders_daily",
        "marts.fct_orders",
        """
        select order_date as day, currency,
            count(*) filter (where is_paid) as orders,
            coalesce(sum(total_minor) filter (where is_paid), 0) / 100.0 as gmv
        from marts.fct_orders group by all order by day
        """,
        "order_date",
    ),
    Query(
        "session_funnel",
        "marts.fct_session_funnel_daily",
        "select * from marts.fct_session_funnel_daily order by session_date",
        "session_date",
    ),
    Query(
        "user_funnel",
        "marts.fct_user_funnel_daily",
        "select * from marts.fct_user_funnel_daily order by activity_date",
        "activity_date",
    ),
    Query(
        "cohorts",
        "marts.cohort_retention",
        "select * from marts.cohort_retention order by cohort_month, months_since_first_order",
        "cohort_month",
    ),
    Query(
        "rfm_segments",
        "marts.customer_rfm",
        """
        select rfm_segment, count(*) as customers, sum(monetary_minor) / 100.0 as monetary,
            avg(recency_days) as avg_recency_days, avg(frequency) as avg_frequency
        from marts.customer_rfm group by all order by customers desc
        """,
        "as_of_date",
    ),
    Query(
        "rfm_scores",
        "marts.customer_rfm",
        "select recency_score, frequency_score, count(*) as customers "
        "from marts.customer_rfm group by all",
        "as_of_date",
    ),
    Query(
        "search_terms",
        "marts.fct_search_terms",
        """
        select search_term, sum(searches) as searches,
            sum(zero_result_searches) as zero_result_searches,
            sum(searches_with_result_click) as searches_with_result_click
        from marts.fct_search_terms
        where search_date > (select max(search_date) from marts.fct_search_terms) - 30
        group by all
        """,
        "search_date",
    ),
    Query(
        "search_daily",
        "marts.fct_search_terms",
        """
        select search_date as day, sum(searches) as searches,
            sum(zero_result_searches) as zero_result_searches
        from marts.fct_search_terms group by all order by day
        """,
        "search_date",
    ),
    Query("sellers", "marts.seller_performance", "select * from marts.seller_performance"),
    Query(
        "recommendations",
        "marts.recommendation_performance",
        "select * from marts.recommendation_performance order by activity_date, model_version",
        "activity_date",
    ),
    Query(
        "check_results",
        "ops.check_results",
        "select * from ops.check_results order by evaluated_at",
        "evaluated_at",
    ),
    Query(
        "asset_costs",
        "ops.asset_costs",
        "select * from ops.asset_costs order by run_started_at, asset",
        "run_started_at",
    ),
]


def existing_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    rows = conn.execute("select table_schema, table_name from information_schema.tables").fetchall()
    return {f"{schema}.{name}" for schema, name in rows}


def read_frames(conn: duckdb.DuckDBPyConnection) -> dict[str, Frame]:
    """Every query's frame (empty when its table is missing), by query name."""
    tables = existing_tables(conn)
    frames = {}
    for query in QUERIES:
        if query.table not in tables:
            frames[query.name] = Frame(query.table, pd.DataFrame())
            continue
        data = conn.execute(query.sql).df()
        through = None
        if query.date_column:
            through = conn.execute(
                f"select max({query.date_column}) from {query.table}"
            ).fetchall()[0][0]
        frames[query.name] = Frame(query.table, data, through)
    return frames


def mart_keys() -> list[list[str]]:
    """Asset keys (``[schema, table]``) of the marts the pages read, for lineage."""
    return [q.table.split(".") for q in QUERIES if q.table.startswith("marts.")]
