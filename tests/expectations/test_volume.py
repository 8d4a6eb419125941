"""Volume anomalies against the trailing same-hour-of-week median."""

from __future__ import annotations

import pandas as pd

from expectations.severity import ERROR, WARN
from expectations.volume import VolumeRules, check_purchases, check_volume, evaluated_hours

RULES = VolumeRules()
LAST_WEEK_HOUR = pd.Timestamp("2026-06-29 20:00")


def _counts(weeks: int, latest: dict[str, int], usual: dict[str, int]) -> pd.DataFrame:
    """``usual`` events per name at 20:00 on the same weekday for ``weeks`` weeks, then
    ``latest`` at LAST_WEEK_HOUR, and one event at 22:00 (so 20:00 is complete)."""
    rows = []
    for week in range(weeks, 0, -1):
        hour = LAST_WEEK_HOUR - pd.Timedelta(days=7 * week)
        rows += [{"hour": hour, "event_name": n, "events": c} for n, c in usual.items()]
    rows += [{"hour": LAST_WEEK_HOUR, "event_name": n, "events": c} for n, c in latest.items()]
    rows.append(
        {"hour": LAST_WEEK_HOUR + pd.Timedelta(hours=2), "event_name": "page_view", "events": 1}
    )
    return pd.DataFrame(rows)


def _hours() -> list[pd.Timestamp]:
    return evaluated_hours(LAST_WEEK_HOUR + pd.Timedelta(hours=2, minutes=5), RULES)


def test_a_95_percent_drop_in_one_event_name_is_an_error() -> None:
    counts = _counts(4, {"page_view": 100, "add_to_cart": 2}, {"page_view": 100, "add_to_cart": 40})
    outcome = check_volume(counts, _hours(), RULES)
    assert not outcome.success and outcome.severity == ERROR
    assert "add_to_cart" in outcome.note
    assert outcome.sample[0]["event_name"] == "add_to_cart"


def test_a_drop_of_all_traffic_is_a_warning() -> None:
    counts = _counts(4, {"page_view": 3, "add_to_cart": 1}, {"page_view": 100, "add_to_cart": 40})
    outcome = check_volume(counts, _hours(), RULES)
    assert not outcome.success and outcome.severity == WARN


def test_normal_traffic_passes() -> None:
    counts = _counts(4, {"page_view": 90, "add_to_cart": 35}, {"page_view": 100, "add_to_cart": 40})
    outcome = check_volume(counts, _hours(), RULES)
    assert outcome.success and outcome.element_count == 2


def test_too_little_history_passes_saying_so() -> None:
    counts = _counts(2, {"page_view": 100, "add_to_cart": 0}, {"page_view": 100, "add_to_cart": 40})
    outcome = check_volume(counts, _hours(), RULES)
    assert outcome.success and outcome.note == "insufficient history"


def test_purchases_falling_to_zero_while_orders_continue_fail_clearly() -> None:
    counts = _counts(4, {"page_view": 100}, {"page_view": 100, "purchase": 5})
    orders = pd.DataFrame({"hour": [LAST_WEEK_HOUR, LAST_WEEK_HOUR], "orders": [4, 3]})
    outcome = check_purchases(counts, orders, _hours(), RULES)
    assert not outcome.success and outcome.severity == ERROR
    assert "purchase events fell to zero" in outcome.note and "7 orders" in outcome.note


def test_purchases_without_orders_or_history_pass() -> None:
    counts = _counts(4, {"page_view": 100}, {"page_view": 100, "purchase": 5})
    none = pd.DataFrame({"hour": [], "orders": []})
    assert check_purchases(counts, none, _hours(), RULES).success
    never = _counts(4, {"page_view": 100}, {"page_view": 100})
    orders = pd.DataFrame({"hour": [LAST_WEEK_HOUR], "orders": [9]})
    outcome = check_purchases(never, orders, _hours(), RULES)
    assert outcome.success and outcome.note.startswith("insufficient history")
