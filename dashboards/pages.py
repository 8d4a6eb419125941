"""One function per page: frames in, panels and tiles out (no I/O, so each page can be
tested on tiny frames). Each panel names its source; an empty source gives the panel's
"no data yet" note instead of a chart."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboards.panels import Page, Panel, Tile, count, figure, has_rows, money, percent, toggle
from dashboards.panels import wilson as wilson_interval
from dashboards.queries import Frame

Frames = Mapping[str, Frame]
AFTER_RUN = "it fills after `mercado pipeline run`"
TOP = 15
RUNS_SHOWN = 30


def _week(days: pd.Series) -> pd.Series:
    """Monday of each day's ISO week."""
    return pd.to_datetime(days).dt.to_period("W-SUN").dt.start_time


def _dominant_currency(orders: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Orders in the currency most orders use (amounts in different currencies never add)."""
    if orders.empty:
        return orders, ""
    currency = str(orders.groupby("currency")["orders"].sum().idxmax())
    return orders[orders["currency"] == currency], currency


def kpi_series(frames: Frames) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """GMV, orders, AOV and session conversion by day and by week (Monday)."""
    orders, currency = _dominant_currency(frames["orders_daily"].data)
    funnel = frames["session_funnel"].data
    columns = ["day", "gmv", "orders", "sessions", "purchases"]
    parts = []
    if not orders.empty:
        parts.append(orders[["day", "gmv", "orders"]])
    if not funnel.empty:
        parts.append(
            funnel.rename(columns={"session_date": "day", "sessions_purchase": "purchases"})[
                ["day", "sessions", "purchases"]
            ]
        )
    if not parts:
        empty = pd.DataFrame(columns=[*columns, "aov", "conversion"])
        return empty, empty.copy(), currency
    daily = pd.concat(parts).assign(day=lambda d: pd.to_datetime(d["day"]))
    daily = daily.groupby("day", as_index=False).sum(min_count=1)
    daily = daily.reindex(columns=columns)
    weekly = daily.assign(day=_week(daily["day"])).groupby("day", as_index=False).sum(min_count=1)
    for frame in (daily, weekly):
        frame["aov"] = frame["gmv"] / frame["orders"].where(frame["orders"] > 0)
        frame["conversion"] = frame["purchases"] / frame["sessions"].where(frame["sessions"] > 0)
    return daily, weekly, currency


def kpis_page(frames: Frames) -> Page:
    daily, weekly, currency = kpi_series(frames)
    orders, funnel = frames["orders_daily"], frames["session_funnel"]
    specs = [
        ("GMV", "gmv", [orders], f"Paid order totals ({currency or 'no currency yet'}).", "bar"),
        ("Orders", "orders", [orders], "Paid orders.", "bar"),
        ("Average order value", "aov", [orders], f"GMV / paid orders ({currency}).", "line"),
        ("Conversion", "conversion", [funnel], "Sessions with a purchase / sessions.", "line"),
    ]
    panels = []
    for title, column, sources, description, kind in specs:
        fig = None
        if daily[column].notna().any():
            fig = figure(yaxis={"tickformat": ".1%"} if column == "conversion" else {})
            for frame, label, visible in ((daily, "day", True), (weekly, "week", False)):
                trace = go.Bar if kind == "bar" else go.Scatter
                fig.add_trace(
                    trace(
                        x=frame["day"],
                        y=frame[column],
                        name=f"{title} per {label}",
                        visible=visible,
                    )
                )
            toggle(fig, {"Day": [True, False], "Week": [False, True]})
            fig.update_layout(showlegend=False)
        source = sources[0].table
        panels.append(
            Panel(title, sources, fig, f"No data yet: {source} is empty; {AFTER_RUN}.", description)
        )
    totals = daily[["gmv", "orders", "sessions", "purchases"]].sum(min_count=1)
    tiles = [
        Tile("GMV", money(totals["gmv"], currency), "paid orders, whole period"),
        Tile("Orders", count(totals["orders"]), "paid"),
        Tile(
            "AOV",
            money(totals["gmv"] / totals["orders"] if totals["orders"] else float("nan"), currency),
        ),
        Tile(
            "Conversion",
            percent(
                totals["purchases"] / totals["sessions"] if totals["sessions"] else float("nan")
            ),
            "of sessions",
        ),
    ]
    return Page("kpis", "KPIs", "GMV, orders, average order value and conversion.", panels, tiles)


FUNNEL_STEPS = [
    ("Viewed an item", "view_item"),
    ("Added to cart", "add_to_cart"),
    ("Began checkout", "begin_checkout"),
    ("Purchased", "purchase"),
]


def funnel_page(frames: Frames) -> Page:
    sessions, users = frames["session_funnel"], frames["user_funnel"]
    panels = []
    for frame, prefix, unit in ((sessions, "sessions", "sessions"), (users, "users", "user-days")):
        columns = [f"{prefix}_{step}" for _, step in FUNNEL_STEPS]
        fig = None
        if has_rows(frame, *columns) and frame.data[columns].sum().sum() > 0:
            totals = frame.data[columns].sum()
            fig = figure()
            fig.add_trace(
                go.Funnel(
                    y=[label for label, _ in FUNNEL_STEPS],
                    x=totals.tolist(),
                    textinfo="value+percent initial",
                )
            )
        title = "Same-session funnel" if prefix == "sessions" else "Same-day user funnel"
        panels.append(
            Panel(
                title,
                [frame],
                fig,
                f"No data yet: {frame.table} is empty; {AFTER_RUN}.",
                f"{unit.capitalize()} reaching each step, whole period.",
            )
        )
    rates = ["view_to_cart_rate", "cart_to_checkout_rate", "checkout_to_purchase_rate"]
    fig = None
    if has_rows(sessions, "session_date") and sessions.data[rates].notna().any().any():
        fig = figure(yaxis={"tickformat": ".0%"})
        for rate in rates:
            fig.add_trace(
                go.Scatter(
                    x=sessions.data["session_date"],
                    y=sessions.data[rate],
                    name=rate.removesuffix("_rate").replace("_", " "),
                    mode="lines+markers",
                )
            )
    panels.append(
        Panel(
            "Step conversion by day",
            [sessions],
            fig,
            f"No data yet: {sessions.table} is empty; {AFTER_RUN}.",
            "Share of sessions at a step that reach the next one.",
        )
    )
    return Page(
        "funnel", "Funnel", "From viewing an item to paying, by session and by user.", panels
    )


def cohorts_page(frames: Frames) -> Page:
    frame = frames["cohorts"]
    fig = None
    if has_rows(frame, "retention_rate"):
        data = frame.data.assign(
            cohort=lambda d: (
                pd.to_datetime(d["cohort_month"]).dt.strftime("%Y-%m")
                + " ("
                + d["cohort_size"].astype(int).astype(str)
                + ")"
            )
        )
        grid = data.pivot(
            index="cohort", columns="months_since_first_order", values="retention_rate"
        )
        fig = figure(
            height=max(260, 28 * len(grid) + 120),
            xaxis={"title": "months since first paid order", "dtick": 1},
            yaxis={"title": "cohort (customers)", "autorange": "reversed", "type": "category"},
        )
        fig.add_trace(
            go.Heatmap(
                z=grid.values,
                x=grid.columns.tolist(),
                y=grid.index.tolist(),
                colorscale="Blues",
                zmin=0,
                zmax=1,
                texttemplate="%{z:.0%}",
                hovertemplate="%{y}, month %{x}: %{z:.1%}<extra></extra>",
                colorbar={"tickformat": ".0%"},
            )
        )
    panel = Panel(
        "Retention by cohort",
        [frame],
        fig,
        f"No data yet: {frame.table} is empty; it fills once customers have paid orders.",
        "Share of each month's new customers with a paid order N months later.",
    )
    return Page("cohorts", "Cohort retention", "Do new customers come back?", [panel])


def rfm_page(frames: Frames) -> Page:
    segments, scores = frames["rfm_segments"], frames["rfm_scores"]
    empty = "No data yet: marts.customer_rfm is empty; it fills once customers have paid orders."
    panels = []
    for column, title, description in (
        ("customers", "Customers by segment", "Customers in each RFM segment."),
        ("monetary", "Lifetime value by segment", "Sum of paid order totals of the segment."),
    ):
        fig = None
        if has_rows(segments, column):
            fig = figure(xaxis={"title": column})
            fig.add_trace(
                go.Bar(y=segments.data["rfm_segment"], x=segments.data[column], orientation="h")
            )
            fig.update_yaxes(autorange="reversed")
        panels.append(Panel(title, [segments], fig, empty, description))
    fig = None
    if has_rows(scores, "customers"):
        grid = scores.data.pivot_table(
            index="frequency_score", columns="recency_score", values="customers", fill_value=0
        )
        fig = figure(
            xaxis={"title": "recency score (5 = most recent)", "dtick": 1},
            yaxis={"title": "frequency score (5 = most orders)", "dtick": 1},
        )
        fig.add_trace(
            go.Heatmap(
                z=grid.values,
                x=grid.columns.tolist(),
                y=grid.index.tolist(),
                colorscale="Purples",
                texttemplate="%{z}",
            )
        )
    panels.append(
        Panel(
            "Recency x frequency", [scores], fig, empty, "Customers by recency and frequency score."
        )
    )
    return Page(
        "rfm", "RFM segments", "Customers by recency, frequency and monetary value.", panels
    )


def _hbar(labels: pd.Series, values: pd.Series, title: str, **trace: object) -> go.Figure:
    fig = figure(
        height=max(260, 22 * len(labels) + 100),
        xaxis={"title": title},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    fig.add_trace(go.Bar(y=labels, x=values, orientation="h", **trace))
    return fig


def search_page(frames: Frames) -> Page:
    terms, daily = frames["search_terms"], frames["search_daily"]
    empty = f"No data yet: {terms.table} is empty; it fills once shoppers search."
    top = zero = None
    if has_rows(terms, "searches"):
        best = terms.data.nlargest(TOP, "searches")
        top = _hbar(
            best["search_term"],
            best["searches"],
            "searches",
            customdata=best["searches_with_result_click"],
            hovertemplate="%{y}: %{x} searches, %{customdata} with a result click<extra></extra>",
        )
        misses = terms.data[terms.data["zero_result_searches"] > 0].nlargest(
            TOP, "zero_result_searches"
        )
        if not misses.empty:
            zero = _hbar(
                misses["search_term"],
                misses["zero_result_searches"],
                "searches without results",
                marker_color="#dc2626",
            )
    rate = None
    if has_rows(daily, "searches"):
        data = daily.data.assign(rate=lambda d: d["zero_result_searches"] / d["searches"])
        rate = figure(yaxis={"tickformat": ".0%", "title": "zero-result rate"})
        rate.add_trace(
            go.Scatter(x=data["day"], y=data["rate"], mode="lines+markers", name="zero-result rate")
        )
    panels = [
        Panel("Top search terms", [terms], top, empty, "Most searched terms, last 30 days."),
        Panel(
            "Terms without results",
            [terms],
            zero,
            "No zero-result searches in the last 30 days (or no searches yet).",
            "Searches that returned nothing, last 30 days: catalogue gaps.",
        ),
        Panel(
            "Zero-result rate by day", [daily], rate, empty, "Share of searches without results."
        ),
    ]
    return Page("search", "Search", "What shoppers look for, and what they do not find.", panels)


def sellers_page(frames: Frames) -> Page:
    frame = frames["sellers"]
    empty = f"No data yet: {frame.table} is empty; {AFTER_RUN}."
    sales = speed = None
    if has_rows(frame, "gross_sales_minor") and frame.data["gross_sales_minor"].sum() > 0:
        top = frame.data.nlargest(TOP, "gross_sales_minor")
        sales = _hbar(
            top["seller_id"].astype(str).str[:8],
            top["gross_sales_minor"] / 100,
            "gross sales",
            customdata=top[["orders_paid", "units_sold"]],
            hovertemplate="%{y}: %{x:,.2f} (%{customdata[0]} orders, "
            "%{customdata[1]} units)<extra></extra>",
        )
    if has_rows(frame, "avg_hours_to_ship", "average_rating"):
        data = frame.data.dropna(subset=["avg_hours_to_ship", "average_rating"])
        speed = figure(
            xaxis={"title": "mean hours from payment to shipping"},
            yaxis={"title": "mean review rating"},
        )
        speed.add_trace(
            go.Scatter(
                x=data["avg_hours_to_ship"],
                y=data["average_rating"],
                mode="markers",
                text=data["seller_id"].astype(str).str[:8],
                marker={"size": 6 + 14 * data["orders_paid"] / max(1, data["orders_paid"].max())},
                hovertemplate="%{text}: %{x:.0f} h, rating %{y:.1f}<extra></extra>",
            )
        )
    panels = [
        Panel("Top sellers by gross sales", [frame], sales, empty, "Paid sales, whole period."),
        Panel(
            "Shipping speed and ratings",
            [frame],
            speed,
            "No data yet: no seller has both shipped orders and reviews.",
            "One point per seller (size: paid orders).",
        ),
    ]
    return Page(
        "sellers", "Seller performance", "Sales, shipping speed and reviews by seller.", panels
    )


def ab_summary(recs: pd.DataFrame) -> pd.DataFrame:
    """Totals per (arm, model version), with 95% Wilson intervals of the rates."""
    data = recs.assign(ab_arm=recs["ab_arm"].fillna("unassigned"))
    totals = data.groupby(["ab_arm", "model_version"], as_index=False)[
        ["impressions", "clicks", "attributed_add_to_carts", "attributed_revenue_minor"]
    ].sum()
    for rate, successes in (("ctr", "clicks"), ("add_to_cart_rate", "attributed_add_to_carts")):
        totals[rate] = totals[successes] / totals["impressions"].where(totals["impressions"] > 0)
        bounds = [
            wilson_interval(int(k), int(n))
            for k, n in zip(totals[successes], totals["impressions"], strict=True)
        ]
        totals[f"{rate}_low"] = [low for low, _ in bounds]
        totals[f"{rate}_high"] = [high for _, high in bounds]
    arm_order = totals["ab_arm"].map({"champion": 0, "challenger": 1}).fillna(2)
    return (
        totals.assign(_order=arm_order)
        .sort_values(["_order", "model_version"])
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def recommendations_page(frames: Frames) -> Page:
    frame = frames["recommendations"]
    empty = (
        f"No data yet: {frame.table} is empty; it fills once shoppers see recommendations "
        "of a published model (`mercado ml train`)."
    )
    recs = frame.data
    ready = has_rows(frame, "model_version", "impressions")
    panels = []
    for column, low, high, title, description in (
        (
            "click_through_rate",
            "click_through_rate_ci_low",
            "click_through_rate_ci_high",
            "Click-through rate by model version",
            "Clicks / items shown, by day, with 95% intervals.",
        ),
        (
            "add_to_cart_rate",
            "add_to_cart_rate_ci_low",
            "add_to_cart_rate_ci_high",
            "Add-to-cart rate by model version",
            "Attributed cart additions / items shown, by day, with 95% intervals.",
        ),
    ):
        fig = None
        if ready and recs[column].notna().any():
            fig = figure(yaxis={"tickformat": ".1%"})
            for version, rows in recs.groupby("model_version", sort=True):
                fig.add_trace(
                    go.Scatter(
                        x=rows["activity_date"],
                        y=rows[column],
                        name=str(version),
                        mode="lines+markers",
                        error_y={
                            "type": "data",
                            "symmetric": False,
                            "array": rows[high] - rows[column],
                            "arrayminus": rows[column] - rows[low],
                        },
                    )
                )
        panels.append(Panel(title, [frame], fig, empty, description))
    revenue = None
    if ready:
        totals = recs.groupby("model_version", as_index=False)["attributed_revenue_minor"].sum()
        revenue = figure(yaxis={"title": "attributed revenue"})
        revenue.add_trace(
            go.Bar(
                x=totals["model_version"].astype(str), y=totals["attributed_revenue_minor"] / 100
            )
        )
        revenue.update_xaxes(type="category")
    panels.append(
        Panel(
            "Attributed revenue by model version",
            [frame],
            revenue,
            empty,
            "Recommended items bought after a click, whole period.",
        )
    )
    ab = None
    if ready:
        summary = ab_summary(recs)
        labels = summary["ab_arm"] + ": " + summary["model_version"].astype(str)
        ab = figure(yaxis={"tickformat": ".1%"}, barmode="group")
        for rate, name in (("ctr", "click-through rate"), ("add_to_cart_rate", "add-to-cart rate")):
            ab.add_trace(
                go.Bar(
                    x=labels,
                    y=summary[rate],
                    name=name,
                    customdata=summary[["impressions"]],
                    hovertemplate="%{x}: %{y:.2%} of %{customdata[0]} items shown<extra></extra>",
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": summary[f"{rate}_high"] - summary[rate],
                        "arrayminus": summary[rate] - summary[f"{rate}_low"],
                    },
                )
            )
        ab.update_xaxes(type="category")
    panels.append(
        Panel(
            "A/B comparison: champion vs challenger",
            [frame],
            ab,
            empty,
            "Totals per arm and model version, 95% Wilson intervals.",
        )
    )
    return Page(
        "recommendations",
        "Recommendations",
        "How each model version's recommendations do: clicks, carts, revenue.",
        panels,
    )


def audiences_page(frames: Frames) -> Page:
    frame = frames["audiences"]
    empty = f"No data yet: no audience has been published ({frame.table})."
    data = frame.data
    sizes = trend = churn = None
    if has_rows(frame, "members"):
        latest = data.groupby("audience").tail(1)
        sizes = _hbar(
            latest["audience"],
            latest["members"],
            "members (latest version)",
            customdata=latest[["version", "status"]],
            hovertemplate="%{y}: %{x:,} members (version %{customdata[0]}, "
            "%{customdata[1]})<extra></extra>",
        )
        trend = figure(yaxis={"title": "members"})
        churn = figure(yaxis={"title": "adds (+) and removes (-)"}, barmode="relative")
        for index, (name, rows) in enumerate(data.groupby("audience", sort=True)):
            color = {"marker_color": f"hsl({(index * 67) % 360}, 65%, 45%)"}
            trend.add_trace(
                go.Scatter(
                    x=rows["created_at"],
                    y=rows["members"],
                    name=str(name),
                    mode="lines+markers",
                    customdata=rows[["version"]],
                    hovertemplate="%{customdata[0]}: %{y:,}<extra></extra>",
                )
            )
            churn.add_trace(
                go.Bar(
                    x=rows["created_at"],
                    y=rows["adds"],
                    name=f"{name} adds",
                    legendgroup=str(name),
                    **color,
                )
            )
            churn.add_trace(
                go.Bar(
                    x=rows["created_at"],
                    y=-rows["removes"],
                    name=f"{name} removes",
                    legendgroup=str(name),
                    opacity=0.55,
                    **color,
                )
            )
    panels = [
        Panel(
            "Audience sizes", [frame], sizes, empty, "Members in each audience's latest version."
        ),
        Panel("Members over versions", [frame], trend, empty, "One point per published version."),
        Panel(
            "Adds and removes per version",
            [frame],
            churn,
            empty,
            "Members added and removed since the previous version.",
        ),
    ]
    return Page(
        "audiences", "Audiences", "Published audiences: sizes and churn by version.", panels
    )


def _run_label(data: pd.DataFrame) -> pd.Series:
    started = pd.to_datetime(data["run_started_at"], utc=True)
    return started.dt.strftime("%m-%d %H:%M") + " " + data["run_id"].astype(str).str[:8]


def _last_runs(data: pd.DataFrame) -> pd.DataFrame:
    runs = data.drop_duplicates("run_id").sort_values("run_started_at")["run_id"].tail(RUNS_SHOWN)
    return data[data["run_id"].isin(runs)].sort_values("run_started_at")


OUTCOMES = {2: "passed", 1: "warning", 0: "error"}
OUTCOME_COLORS = {"passed": "#16a34a", "warning": "#f59e0b", "error": "#dc2626"}


def check_statuses(checks: pd.DataFrame) -> pd.DataFrame:
    """The last runs' check results, with a run label and a status: 2 passed, 1 failed
    with a warning, 0 failed and blocked what is downstream (ERROR)."""
    return _last_runs(checks).assign(
        run=_run_label,
        check=lambda d: d["asset"] + ":" + d["check_name"],
        status=lambda d: (
            d["passed"].map({True: 2}).fillna(d["severity"].map({"ERROR": 0}).fillna(1))
        ).astype(int),
    )


def quality_page(frames: Frames) -> Page:
    frame = frames["check_results"]
    empty = f"No data yet: {frame.table} is empty; {AFTER_RUN} with checks."
    outcomes = failing = None
    tiles: list[Tile] = []
    failed_empty = empty
    if has_rows(frame, "passed"):
        data = check_statuses(frame.data)
        runs = list(dict.fromkeys(data["run"]))
        counts = data.assign(outcome=data["status"].map(OUTCOMES))
        counts = counts.groupby(["run", "outcome"]).size().unstack(fill_value=0).reindex(runs)
        outcomes = figure(
            barmode="stack", xaxis={"type": "category", "title": "run"}, yaxis={"title": "checks"}
        )
        for outcome, color in OUTCOME_COLORS.items():
            if outcome in counts.columns:
                outcomes.add_trace(
                    go.Bar(x=runs, y=counts[outcome], name=outcome, marker_color=color)
                )
        ever_failed = data.groupby("check")["status"].transform("min") < 2
        failed = data[ever_failed]
        failed_empty = f"No check failed in the last {len(runs)} run(s)."
        if not failed.empty:
            pivot = failed.pivot_table(index="check", columns="run", values="status", aggfunc="min")
            pivot = pivot.reindex(columns=[r for r in runs if r in pivot.columns])
            failing = figure(
                height=max(260, 22 * len(pivot) + 140),
                xaxis={"type": "category", "title": "run"},
                yaxis={"type": "category", "automargin": True},
                margin={"l": 20, "r": 20, "t": 30, "b": 90},
            )
            failing.add_trace(
                go.Heatmap(
                    z=pivot.values, x=pivot.columns.tolist(),
                    y=[label if len(label) <= 60 else label[:57] + "..." for label in pivot.index],
                    customdata=[[c] * len(pivot.columns) for c in pivot.index],
                    zmin=0, zmax=2, xgap=1, ygap=1,
                    colorscale=[[0, OUTCOME_COLORS["error"]], [0.5, OUTCOME_COLORS["warning"]],
                                [1, OUTCOME_COLORS["passed"]]],
                    colorbar={"tickvals": [0, 1, 2], "ticktext": ["error", "warning", "passed"]},
                    hovertemplate="%{customdata}<br>run %{x}<extra></extra>",
                )
            )  # fmt: skip
        last = data[data["run"] == runs[-1]]
        tiles = [
            Tile("Checks, last run", count(len(last)), runs[-1]),
            Tile("Passed", count((last["status"] == 2).sum())),
            Tile("Warnings", count((last["status"] == 1).sum()), "failed, recorded"),
            Tile("Errors", count((last["status"] == 0).sum()), "failed, blocked downstream"),
        ]
    panels = [
        Panel(
            "Check outcomes per run",
            [frame],
            outcomes,
            empty,
            "Every asset check (dbt tests and quality suites) evaluated in each run.",
        ),
        Panel(
            "Checks that failed",
            [frame],
            failing,
            failed_empty,
            "The checks that failed in any of the last runs, run by run: amber failed with a "
            "warning, red failed and blocked what is downstream.",
        ),
    ]
    return Page("quality", "Data quality", "Asset check results over time.", panels, tiles)


def cost_page(frames: Frames) -> Page:
    frame = frames["asset_costs"]
    empty = f"No data yet: {frame.table} is empty; {AFTER_RUN}."
    per_run = seconds = rows = size = None
    if has_rows(frame, "seconds"):
        data = _last_runs(frame.data).assign(run=_run_label)
        heavy = data.groupby("asset")["seconds"].sum().nlargest(8).index
        data = data.assign(group=data["asset"].where(data["asset"].isin(heavy), "other assets"))
        stacked = data.groupby(["run", "group"], sort=False)["seconds"].sum().unstack(fill_value=0)
        per_run = figure(
            barmode="stack",
            xaxis={"type": "category", "title": "run"},
            yaxis={"title": "seconds"},
            legend={"orientation": "v", "x": 1.02, "y": 1},
        )
        for group in stacked.columns:
            color = "#9ca3af" if group == "other assets" else None
            per_run.add_trace(
                go.Bar(x=stacked.index.tolist(), y=stacked[group], name=group, marker_color=color)
            )
        last = frame.data[frame.data["run_id"] == data["run_id"].iloc[-1]]
        seconds = _hbar(
            last.nlargest(TOP, "seconds")["asset"],
            last.nlargest(TOP, "seconds")["seconds"],
            "seconds",
        )
        if last["rows"].notna().any():
            top = last.dropna(subset=["rows"]).nlargest(TOP, "rows")
            rows = _hbar(top["asset"], top["rows"], "rows")
        if last["bytes"].notna().any():
            top = last.dropna(subset=["bytes"]).nlargest(TOP, "bytes")
            size = _hbar(
                top["asset"],
                top["bytes"] / 2**20,
                "MiB",
                hovertemplate="%{y}: %{x:.2f} MiB<extra></extra>",
            )
    panels = [
        Panel(
            "Seconds per run",
            [frame],
            per_run,
            empty,
            "Time spent per asset in each run (the 8 costliest assets, the rest together).",
        ),
        Panel("Seconds per asset, last run", [frame], seconds, empty, "The costliest assets."),
        Panel(
            "Rows per asset, last run",
            [frame],
            rows,
            "No row counts in the last run.",
            "Rows of each table the run wrote.",
        ),
        Panel(
            "Size per asset, last run",
            [frame],
            size,
            "No sizes in the last run.",
            "Bytes of each table in the warehouse (DuckDB's storage) after the run.",
        ),
    ]
    return Page("cost", "Pipeline cost", "Seconds, rows and bytes per asset per run.", panels)


PAGES: list[Callable[[Frames], Page]] = [
    kpis_page,
    funnel_page,
    cohorts_page,
    rfm_page,
    search_page,
    sellers_page,
    recommendations_page,
    audiences_page,
    quality_page,
    cost_page,
]
