"""The demo's recommender chapter: which shoppers to show, what the shop serves them, and
how each served model version did (read from the marts)."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer

from orchestration.loads.warehouse import open_reader
from simulator.behaviour import PASSWORD

SAMPLE_K = 5


@dataclass(frozen=True)
class SampleShopper:
    key: str  # the simulator's shopper key
    email: str
    interactions: int
    top_categories: str  # their three favourite categories in the ground truth


def busiest_shoppers(home: Path, warehouse: Path, count: int = 2) -> list[SampleShopper]:
    """The simulated shoppers with the most interactions in the ``interactions`` mart: the
    ones a model has most to say about."""
    sim = home / "sim"
    with (sim / "id_map.csv").open(encoding="utf-8") as handle:
        key_of = {row["shop_id"]: row["key"] for row in csv.DictReader(handle)}
    with (sim / "truth" / "shoppers.csv").open(encoding="utf-8") as handle:
        truth = {row["shopper_key"]: row for row in csv.DictReader(handle)}
    with open_reader(warehouse) as conn:
        counts = conn.execute(
            "select user_key, count(*) as n from marts.interactions "
            "group by 1 order by n desc, user_key"
        ).fetchall()
    chosen = []
    for user_key, interactions in counts:
        row = truth.get(key_of.get(user_key, ""))
        if row is not None:
            top = row["top_categories"].replace("|", ", ")
            chosen.append(SampleShopper(row["shopper_key"], row["email"], interactions, top))
        if len(chosen) == count:
            break
    return chosen


def show_recommendations(
    base_url: str, shoppers: list[SampleShopper], published: str | None, timeout: float = 60.0
) -> list[str]:
    """Sign in as each shopper and print ``GET /recommendations`` as the shop serves it
    (once the fresh API has loaded ``published``: its first answers come from popularity
    while it loads in the background); returns the model versions that served."""
    served = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for shopper in shoppers:
            login = client.post(
                "/auth/token", data={"username": shopper.email, "password": PASSWORD}
            )
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            deadline = time.monotonic() + timeout
            while True:
                reply = client.get("/recommendations", params={"k": SAMPLE_K}, headers=headers)
                reply.raise_for_status()
                page = reply.json()
                if published is None or page["model_version"] == published:
                    break
                if time.monotonic() > deadline:
                    raise httpx.HTTPError(f"the API did not load model {published} in time")
                time.sleep(0.2)
            served.append(page["model_version"])
            kind = "personalised" if page["personalised"] else "not personalised"
            typer.echo(
                f"\n{shopper.key} ({shopper.interactions} interactions; truly likes "
                f"{shopper.top_categories})\n"
                f"  GET /recommendations?k={SAMPLE_K} → model {page['model_version']} "
                f"({kind}, arm {page['ab_arm']})"
            )
            for item in page["data"]:
                price = f"{item['price_minor'] / 100:,.2f} {item['currency']}"
                fallback = ", fallback" if item["fallback"] else ""
                typer.echo(
                    f"  {item['position'] + 1}. {item['title']} ({price})  "
                    f"reason: {item['reason']}{fallback}"
                )
    return served


def performance_by_version(warehouse: Path) -> list[tuple]:
    """``recommendation_performance`` summed per model version (``popular-v0`` is the
    storefront's own list, before a model serves): days served, impressions, clicks,
    click-through rate with its 95% Wilson interval, attributed add-to-carts and revenue;
    oldest first."""
    from scipy.stats import binomtest

    with open_reader(warehouse) as conn:
        rows = conn.execute(
            "select model_version, min(activity_date), max(activity_date), "
            "count(distinct activity_date), sum(impressions), sum(clicks), "
            "sum(attributed_add_to_carts), sum(attributed_revenue_minor) "
            "from marts.recommendation_performance group by 1 order by 2, 1"
        ).fetchall()
    summary = []
    for version, first, last, days, impressions, clicks, carts, revenue in rows:
        ctr = low = high = None
        if impressions:
            ctr = clicks / impressions
            interval = binomtest(min(clicks, impressions), impressions).proportion_ci(
                method="wilson"
            )
            low, high = interval.low, interval.high
        summary.append(
            (version, first, last, days, impressions, clicks, ctr, low, high, carts, revenue)
        )
    return summary


def format_performance(rows: list[tuple]) -> str:
    headers = (
        "list (model version)", "days", "impressions", "clicks", "CTR [95% CI]",
        "carts", "revenue",
    )  # fmt: skip
    lines = []
    for version, first, last, days, impressions, clicks, ctr, low, high, carts, revenue in rows:
        rate = "-" if ctr is None else f"{ctr:.1%} [{low:.1%}, {high:.1%}]"
        span = f"{days} ({first:%m-%d}..{last:%m-%d})"
        counts = (f"{impressions:,}", f"{clicks:,}", rate, f"{carts or 0:,}")
        lines.append((version, span, *counts, f"{(revenue or 0) / 100:,.2f}"))
    widths = [max(len(x) for x in column) for column in zip(headers, *lines, strict=True)]
    return "\n".join(
        ("  " + "  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True))).rstrip()
        for row in [headers, *lines]
    )
