"""The warehouse and the collector agree on what an id from an event is.

The collector rejects events whose ``user_id`` or ``items[].item_id`` do not fit
``EventV1``'s id pattern; the warehouse's ``is_entity_id`` test applies dbt var
``entity_id_pattern`` with DuckDB's regular expressions. If the two drifted apart, an event
the collector accepted could fail the warehouse and block a pipeline run.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import yaml

from shop_api.tracking.events import ENTITY_ID_PATTERN

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
SAMPLES = [
    "5f0c6a52-2d0e-4f7e-9c1b-6d3f2b8a9e10",
    "5F0C6A52-2D0E-4F7E-9C1B-6D3F2B8A9E10",
    "5f0c6a522d0e4f7e9c1b6d3f2b8a9e10",
    "diginetica:123",
    "online_retail:BANK CHARGES",
    "online_retail:BANK  CHARGES",
    "online-retail:1",
    "Movielens:1",
    "movielens:",
    "movielens:1 ",
    "movielens:1\n",
    "demo-1",
    "demo:film-camera",
    "a:b:c",
    "",
]


def test_dbt_var_entity_id_pattern_is_the_collectors_pattern() -> None:
    project = yaml.safe_load(PROJECT.read_text(encoding="utf-8"))
    assert project["vars"]["entity_id_pattern"] == ENTITY_ID_PATTERN


@pytest.mark.parametrize("value", SAMPLES)
def test_duckdb_and_python_read_the_pattern_alike(value: str) -> None:
    [(in_duckdb,)] = duckdb.execute(
        "select regexp_matches(?, ?)", [value, ENTITY_ID_PATTERN]
    ).fetchall()
    assert in_duckdb == (re.fullmatch(ENTITY_ID_PATTERN, value) is not None)
