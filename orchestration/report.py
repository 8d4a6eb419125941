"""A few headline figures read from the marts (for ``mercado pipeline run`` and the demo).

Read-only; a mart that does not exist yet is reported as missing instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from orchestration.loads.warehouse import open_reader


def _query(conn: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]] | None:
    try:
        return conn.execute(sql).fetchall()
    except duckdb.CatalogException:
        return None


def mart_figures(database: Path | None = None, top: int = 5) -> dict[str, Any]:
    """Orders, GMV, customers, top search terms and both funnels, from the marts."""
    with open_reader(database) as conn:
        orders = _query(
            conn,
            "select count(*), count(*) filter (where is_paid), "
            "coalesce(sum(total_minor) filter (where is_paid), 0), "
            "string_agg(distinct currency, ',') from marts.fct_orders",
        )
        customers = _query(
            conn,
            "select count(*), count(*) filter (where orders_paid > 0) from marts.dim_customers",
        )
        terms = _query(
            conn,
            "select search_term, sum(searches) as n, sum(zero_result_searches) "
            f"from marts.fct_search_terms group by 1 order by n desc, 1 limit {int(top)}",
        )
        funnel = _query(
            conn,
            "select sum(sessions), sum(sessions_view_item), sum(sessions_add_to_cart), "
            "sum(sessions_begin_checkout), sum(sessions_purchase) "
            "from marts.fct_session_funnel_daily",
        )
        user_funnel = _query(
            conn,
            "select sum(users), sum(users_view_item), sum(users_add_to_cart), "
            "sum(users_begin_checkout), sum(users_purchase) from marts.fct_user_funnel_daily",
        )
        events = _query(conn, "select count(*) from raw.events")
    figures: dict[str, Any] = {}
    if events is not None:
        figures["raw_events"] = events[0][0]
    if orders is not None:
        placed, paid, gmv_minor, currencies = orders[0]
        figures.update(
            orders_placed=placed, orders_paid=paid, gmv_minor=gmv_minor, currency=currencies
        )
    if customers is not None:
        figures["customers"], figures["paying_customers"] = customers[0]
    if terms is not None:
        figures["top_search_terms"] = [(t, int(n), int(z or 0)) for t, n, z in terms]
    steps = ("view_item", "add_to_cart", "begin_checkout", "purchase")
    if funnel is not None:
        keys = ("sessions", *steps)
        figures["funnel"] = {k: int(v or 0) for k, v in zip(keys, funnel[0], strict=True)}
    if user_funnel is not None:
        keys = ("user_days", *steps)
        figures["user_funnel"] = {k: int(v or 0) for k, v in zip(keys, user_funnel[0], strict=True)}
    return figures


def format_figures(figures: dict[str, Any]) -> str:
    lines = []
    if "raw_events" in figures:
        lines.append(f"  events in raw          {figures['raw_events']:,}")
    if "orders_placed" in figures:
        gmv = figures["gmv_minor"] / 100
        lines.append(
            f"  orders                 {figures['orders_placed']:,} placed, "
            f"{figures['orders_paid']:,} paid; GMV {gmv:,.2f} {figures['currency'] or ''}"
        )
    if "customers" in figures:
        lines.append(
            f"  customers              {figures['customers']:,} "
            f"({figures['paying_customers']:,} with a paid order)"
        )
    if figures.get("top_search_terms"):
        terms = ", ".join(f"{t} ({n})" for t, n, _ in figures["top_search_terms"])
        lines.append(f"  top search terms       {terms}")
    if "funnel" in figures:
        f = figures["funnel"]
        lines.append(
            f"  funnel, same session   {f['sessions']:,} sessions → view item {f['view_item']:,} → "
            f"cart {f['add_to_cart']:,} → checkout {f['begin_checkout']:,} → "
            f"purchase {f['purchase']:,}"
        )
    if "user_funnel" in figures:
        f = figures["user_funnel"]
        lines.append(
            f"  funnel, users per day  {f['user_days']:,} user-days → view item "
            f"{f['view_item']:,} → cart {f['add_to_cart']:,} → checkout "
            f"{f['begin_checkout']:,} → purchase {f['purchase']:,}"
        )
    return "\n".join(lines) if lines else "  (no marts yet)"
