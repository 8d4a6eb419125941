"""Suites for the shop's tables in the warehouse, generated from their contracts.

The contract (keys, enum values, money columns, foreign keys) is read from the shop's
own models by orchestration and passed in; nothing here is typed again.
"""

from __future__ import annotations

from typing import Any

import great_expectations as gx

from expectations.contracts import TableContract
from expectations.severity import ERROR
from expectations.suites.common import (
    MIN_BAD_ROWS_FOR_ERROR,
    dataset_rule,
    new_suite,
    row_rule,
    unexpected_rows,
)

BUILDER_VERSION = 1
DEFAULT_MAX_BAD_SHARE = 0.05


def shop_suite(
    contract: TableContract, *, schema: str = "raw", max_bad_share: float = DEFAULT_MAX_BAD_SHARE
) -> Any:
    """The suite of one shop table: present and unique keys, non-negative money, known
    statuses, references that resolve (``schema`` holds the referenced tables)."""
    rules: list[Any] = []
    for column in contract.key:
        rules.append(
            row_rule(
                gx.expectations.ExpectColumnValuesToNotBeNull,
                f"{column}_present",
                f"key {column} is present",
                column=column,
            )
        )
    if len(contract.key) == 1:
        rules.append(
            dataset_rule(
                gx.expectations.ExpectColumnValuesToBeUnique,
                "key_unique",
                f"key {contract.key[0]} is unique",
                ERROR,
                column=contract.key[0],
            )
        )
    for column in contract.money:
        rules.append(
            row_rule(
                gx.expectations.ExpectColumnValuesToBeBetween,
                f"{column}_not_negative",
                f"{column} (money, minor units) is not negative",
                column=column,
                min_value=0,
            )
        )
    for column, values in sorted(contract.enums.items()):
        rules.append(
            row_rule(
                gx.expectations.ExpectColumnValuesToBeInSet,
                f"{column}_known",
                f"{column} is one of the shop's values",
                column=column,
                value_set=list(values),
            )
        )
    for column, (table, target) in sorted(contract.references.items()):
        rules.append(
            unexpected_rows(
                f"{column}_resolves",
                f"{column} names an existing {table}.{target}",
                f"{column} is not null and {column} not in "
                f"(select {target} from {schema}.{table} where {target} is not null)",
            )
        )
    return new_suite(
        contract.table,
        BUILDER_VERSION,
        rules,
        max_bad_share=max_bad_share,
        min_bad_rows=MIN_BAD_ROWS_FOR_ERROR,
        key=list(contract.key),
    )
