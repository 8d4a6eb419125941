"""Helpers shared by the suite builders: versioning and row-level expectations."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import great_expectations as gx

from expectations.context import data_context
from expectations.severity import CHECK, ROW_LEVEL, WARN

# A quarantine is a systematic break (an error) only past a share of the batch *and* this
# many rows: in a small batch one poison row is already a large share.
MIN_BAD_ROWS_FOR_ERROR = 10
UUID_PATTERN = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


def row_rule(expectation_type: type, check: str, description: str, **kwargs: Any) -> Any:
    """A row-level expectation: rows failing it are quarantined (severity warning)."""
    return expectation_type(
        severity=WARN, description=description, meta={CHECK: check, ROW_LEVEL: True}, **kwargs
    )


def dataset_rule(
    expectation_type: type, check: str, description: str, severity: str, **kwargs: Any
) -> Any:
    """An expectation over the whole batch (uniqueness, bounds, distributions)."""
    return expectation_type(
        severity=severity, description=description, meta={CHECK: check}, **kwargs
    )


def unexpected_rows(check: str, description: str, failing: str) -> Any:
    """A row-level rule GE has no expectation for, as SQL: ``failing`` is true on bad rows."""
    return row_rule(
        gx.expectations.UnexpectedRowsExpectation,
        check,
        description,
        unexpected_rows_query=f"SELECT * FROM {{batch}} WHERE {failing}",
    )


def new_suite(name: str, builder_version: int, expectations: list[Any], **meta: Any) -> Any:
    """A suite whose version changes when its builder or any generated rule changes."""
    configs = [e.configuration.to_json_dict() for e in expectations]
    body = json.dumps([{k: v for k, v in c.items() if k != "id"} for c in configs], sort_keys=True)
    digest = hashlib.sha256(body.encode()).hexdigest()[:10]
    data_context()
    suite = gx.ExpectationSuite(name=name, meta={"version": f"{builder_version}.{digest}", **meta})
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite
