"""Volume anomalies: events per hour and event name against the trailing median of the
same hour of the week (Monday 20:00 is compared with the Mondays 20:00 before it).

Severity by consequence: one event name collapsing while the rest of the traffic is
normal is broken instrumentation, and every mart counting it would be wrong (error); the
whole traffic falling is an outage or a quiet hour, real, and only warned. Purchases
falling to zero while the shop keeps taking orders is an error with its own message.
Hours without enough history pass with "insufficient history".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from expectations.results import Outcome
from expectations.severity import ERROR, WARN

SUITE = "raw_events_volume"


@dataclass(frozen=True)
class VolumeRules:
    """Thresholds of the volume checks (defaults suit hourly traffic of a live shop)."""

    weeks: int = 4  # trailing same-hour-of-week observations considered
    min_history: int = 3  # fewer observations than this: insufficient history
    min_expected: float = 20.0  # hours whose median is lower are too thin to judge
    drop_ratio: float = 0.1  # a count at or below this share of its median is a drop
    traffic_normal: float = 0.5  # the hour's total at least this share of its median
    min_orders: int = 3  # orders in the window before missing purchases are an error
    hours: int = 24  # complete hours evaluated, ending before the last (partial) hour


def evaluated_hours(last_event: datetime, rules: VolumeRules) -> list[pd.Timestamp]:
    """The complete hours before the hour of ``last_event`` (that one is still filling)."""
    last = pd.Timestamp(last_event).floor("h")
    return [last - pd.Timedelta(hours=n) for n in range(rules.hours, 0, -1)]


def _grid(counts: pd.DataFrame) -> pd.DataFrame:
    """hour x event_name counts, every hour from the first to the last, zeros filled."""
    grid = counts.pivot_table(
        index="hour", columns="event_name", values="events", aggfunc="sum", fill_value=0
    )
    hours = pd.date_range(grid.index.min(), grid.index.max(), freq="h")
    return grid.reindex(hours, fill_value=0)


def check_volume(
    counts: pd.DataFrame, hours: list[pd.Timestamp], rules: VolumeRules = VolumeRules()
) -> Outcome:
    """``counts`` has ``hour`` (UTC, hour start), ``event_name``, ``events``."""
    outcome = Outcome(
        suite=SUITE,
        check="volume_by_event_name",
        description="events per hour and name near the trailing same-hour-of-week median",
        severity=WARN,
        success=True,
        expectation="volume_anomaly",
    )
    if counts.empty:
        outcome.note = "insufficient history: no events"
        return outcome
    grid = _grid(counts.assign(hour=pd.to_datetime(counts["hour"])))
    week = 24 * 7
    history = [grid.shift(week * k) for k in range(1, rules.weeks + 1)]
    stacked = pd.concat(history, keys=range(len(history)))
    medians = stacked.groupby(level=1).median()
    observations = stacked.groupby(level=1).count()
    totals = grid.sum(axis=1)
    total_medians = pd.concat(
        [totals.shift(week * k) for k in range(1, rules.weeks + 1)], axis=1
    ).median(axis=1)
    judged = 0
    anomalies = []
    for hour in (h for h in hours if h in grid.index):
        for name in grid.columns:
            if observations.at[hour, name] < rules.min_history:
                continue
            median = float(medians.at[hour, name])
            if median < rules.min_expected:
                continue
            judged += 1
            count = int(grid.at[hour, name])
            if count > rules.drop_ratio * median:
                continue
            traffic = float(totals.at[hour]) / max(float(total_medians.at[hour]), 1.0)
            anomalies.append(
                {
                    "hour": hour.isoformat(),
                    "event_name": name,
                    "events": count,
                    "median": median,
                    "traffic_share": round(traffic, 2),
                    "kind": "instrumentation" if traffic >= rules.traffic_normal else "traffic",
                }
            )
    outcome.element_count = judged
    outcome.unexpected_count = len(anomalies)
    outcome.sample = anomalies[:10]
    if not judged:
        outcome.note = "insufficient history"
        return outcome
    if anomalies:
        outcome.success = False
        broken = sorted({a["event_name"] for a in anomalies if a["kind"] == "instrumentation"})
        if broken:
            outcome.severity = ERROR
            outcome.note = (
                f"{', '.join(broken)} fell by {1 - rules.drop_ratio:.0%} or more against the "
                "same hours of previous weeks while other events continued: instrumentation "
                "is probably broken"
            )
        else:
            outcome.note = (
                "traffic fell in some hours (every event name): an outage or a quiet hour"
            )
    return outcome


def check_purchases(
    counts: pd.DataFrame, orders: pd.DataFrame, hours: list[pd.Timestamp], rules: VolumeRules
) -> Outcome:
    """Purchases must not vanish while orders continue (``orders``: ``hour``, ``orders``)."""
    outcome = Outcome(
        suite=SUITE,
        check="purchases_follow_orders",
        description="purchase events continue while the shop takes orders",
        severity=ERROR,
        success=True,
        expectation="volume_anomaly",
    )
    if not hours:
        outcome.note = "insufficient history: no complete hour"
        return outcome
    start, end = hours[0], hours[-1] + pd.Timedelta(hours=1)
    counts = counts.assign(hour=pd.to_datetime(counts["hour"]))
    orders = orders.assign(hour=pd.to_datetime(orders["hour"]))
    purchases = counts[counts["event_name"] == "purchase"]
    before = purchases[
        (purchases["hour"] < start)
        & (purchases["hour"] >= start - pd.Timedelta(days=7 * rules.weeks))
    ]["events"].sum()
    if before == 0:
        outcome.note = "insufficient history: no purchase events before the window"
        return outcome
    in_window = purchases[(purchases["hour"] >= start) & (purchases["hour"] < end)]["events"].sum()
    placed = orders[(orders["hour"] >= start) & (orders["hour"] < end)]["orders"].sum()
    outcome.element_count = int(placed)
    outcome.observed = {"purchase_events": int(in_window), "orders": int(placed)}
    if in_window == 0 and placed >= rules.min_orders:
        outcome.success = False
        outcome.unexpected_count = int(placed)
        outcome.note = (
            f"purchase events fell to zero between {start.isoformat()} and {end.isoformat()} "
            f"while the shop took {int(placed)} orders: purchase tracking is broken"
        )
    return outcome


def window_start(hours: list[pd.Timestamp], rules: VolumeRules) -> datetime:
    """Earliest hour the checks read: the trailing weeks before the first evaluated hour."""
    return (hours[0] - pd.Timedelta(days=7 * rules.weeks)).to_pydatetime() - timedelta(hours=1)
