"""Suites for key marts: reconciliation with raw and the order-value distribution.

Bounds come from the data the mart is built from (raw counts and sums, the trailing
order values), which the caller measures and passes in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import great_expectations as gx

from expectations.severity import ERROR, WARN
from expectations.suites.common import dataset_rule, new_suite

BUILDER_VERSION = 1
NAME = "fct_orders"
QUANTILES = (0.25, 0.5, 0.75)
# Quantiles of recent order values may move by this factor from the trailing window's.
DISTRIBUTION_FACTOR = 3.0
MIN_ORDERS_FOR_DISTRIBUTION = 30


def orders_suite(
    *, raw_orders: int, raw_total_minor: int, reference_quantiles: Sequence[float] | None
) -> Any:
    """``fct_orders`` against raw: every order once, the same money, totals that add up;
    and recent order values within ``DISTRIBUTION_FACTOR`` of the trailing quantiles
    (``reference_quantiles`` at ``QUANTILES``; None when history is too short)."""
    rules = [
        dataset_rule(
            gx.expectations.ExpectTableRowCountToEqual,
            "orders_reconcile_with_raw",
            "one row per order admitted to raw.shop_orders",
            ERROR,
            value=raw_orders,
        ),
        dataset_rule(
            gx.expectations.ExpectColumnSumToBeBetween,
            "gmv_reconciles_with_raw",
            "sum of total_minor equals raw.shop_orders'",
            ERROR,
            column="total_minor",
            min_value=raw_total_minor,
            max_value=raw_total_minor,
        ),
        dataset_rule(
            gx.expectations.ExpectColumnValuesToBeBetween,
            "totals_add_up",
            "total = subtotal - discount + shipping + tax (to the minor unit)",
            ERROR,
            column="total_gap_minor",
            min_value=-1,
            max_value=1,
        ),
    ]
    if reference_quantiles is not None:
        ranges = [
            [value / DISTRIBUTION_FACTOR, value * DISTRIBUTION_FACTOR]
            for value in reference_quantiles
        ]
        rules.append(
            dataset_rule(
                gx.expectations.ExpectColumnQuantileValuesToBeBetween,
                "order_value_distribution",
                f"recent order-value quartiles within {DISTRIBUTION_FACTOR:g}x of the "
                "trailing window's",
                WARN,
                column="recent_total_minor",
                quantile_ranges={"quantiles": list(QUANTILES), "value_ranges": ranges},
            )
        )
    return new_suite(NAME, BUILDER_VERSION, rules)
