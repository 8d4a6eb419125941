"""Row-level expectations pushed down as SQL (DuckDB), for batches too big for pandas.

Each row-level expectation of a suite becomes a predicate that is true on the rows that
fail it, with GE's semantics (nulls pass every rule but ``not_be_null``; a regex matches
anywhere unless anchored). ``tests/expectations`` checks that the compiled predicates
fail exactly the rows GE itself fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expectations.severity import CHECK, ROW_LEVEL

UNEXPECTED_PREFIX = "SELECT * FROM {batch} WHERE "


@dataclass(frozen=True)
class RowRule:
    """A compiled row-level rule: its check name, reason text and failing predicate."""

    check: str
    reason: str
    failing: str


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"no SQL literal for {value!r}")


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def failing_predicate(expectation: Any) -> str:
    """SQL true on rows that fail ``expectation`` (a row-level GE expectation)."""
    kind = type(expectation).__name__
    if kind == "UnexpectedRowsExpectation":
        query = expectation.unexpected_rows_query
        if not query.startswith(UNEXPECTED_PREFIX):
            raise ValueError(f"row rules are written {UNEXPECTED_PREFIX!r}...: {query!r}")
        return query.removeprefix(UNEXPECTED_PREFIX)
    column = _quote(expectation.column)
    if kind == "ExpectColumnValuesToNotBeNull":
        return f"{column} is null"
    if kind == "ExpectColumnValuesToBeInSet":
        values = ", ".join(_literal(v) for v in expectation.value_set)
        return f"{column} not in ({values})"
    if kind == "ExpectColumnValuesToMatchRegex":
        return f"not regexp_matches({column}, {_literal(expectation.regex)})"
    if kind in ("ExpectColumnValuesToBeBetween", "ExpectColumnValueLengthsToBeBetween"):
        value = f"length({column})" if "Lengths" in kind else column
        parts = []
        if expectation.min_value is not None:
            parts.append(
                f"{value} {'<=' if expectation.strict_min else '<'} {expectation.min_value}"
            )
        if expectation.max_value is not None:
            parts.append(
                f"{value} {'>=' if expectation.strict_max else '>'} {expectation.max_value}"
            )
        return " or ".join(parts) or "false"
    raise ValueError(f"{kind} has no SQL form")


def row_rules(suite: Any) -> list[RowRule]:
    """The suite's row-level expectations, compiled (null-safe: unknown counts as passing)."""
    return [
        RowRule(
            check=e.meta[CHECK],
            reason=e.description or e.meta[CHECK],
            failing=f"coalesce(({failing_predicate(e)}), false)",
        )
        for e in suite.expectations
        if (e.meta or {}).get(ROW_LEVEL)
    ]


def any_failing(rules: list[RowRule]) -> str:
    return " or ".join(rule.failing for rule in rules) or "false"


def reasons_list(rules: list[RowRule]) -> str:
    """SQL list of the reasons a row fails (``check: reason`` for each failed rule)."""
    cases = ", ".join(
        f"case when {rule.failing} then {_literal(rule.check + ': ' + rule.reason)} end"
        for rule in rules
    )
    return f"list_filter([{cases}], lambda r: r is not null)"
