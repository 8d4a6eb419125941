"""The quality suites of this warehouse, built from the rules the shop already states.

The collector's event schema (``EventV1.model_json_schema()``) and the shop's models (keys,
enum values, ``*_minor`` money columns, foreign keys) are read here and handed to the
suite builders in ``expectations/`` as plain data; that package never imports the shop.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import types

from expectations.contracts import TableContract
from expectations.sql import RowRule, row_rules
from orchestration.loads.quarantine import ReplayResult, quarantine_tables, replay
from orchestration.loads.shop import shop_tables
from orchestration.settings import PipelineSettings

EVENTS_KEY = ("event_date", "event_id")
MONEY_SUFFIX = "_minor"


def shop_contracts() -> dict[str, TableContract]:
    """One contract per warehouse shop table (``shop_<name>``), from the shop's models."""
    tables = shop_tables()
    contracts = {}
    for spec in tables.values():
        columns = [c for c in spec.table.columns if c.name in spec.columns]
        contracts[spec.raw_name] = TableContract(
            table=spec.raw_name,
            key=spec.primary_key,
            enums={c.name: tuple(c.type.enums) for c in columns if isinstance(c.type, types.Enum)},
            money=tuple(c.name for c in columns if c.name.endswith(MONEY_SUFFIX)),
            references={
                fk.parent.name: (tables[fk.column.table.name].raw_name, fk.column.name)
                for fk in spec.table.foreign_keys
                if fk.column.table.name in tables and fk.parent.name in spec.columns
            },
        )
    return contracts


@functools.cache
def events_suite() -> Any:
    from expectations.suites.events import events_suite as build
    from shop_api.tracking.events import EventV1

    return build(EventV1.model_json_schema())


@functools.cache
def shop_suites() -> dict[str, Any]:
    from expectations.suites.shop import shop_suite

    return {table: shop_suite(contract) for table, contract in shop_contracts().items()}


def keys_and_rules(table: str) -> tuple[tuple[str, ...], list[RowRule]]:
    """The key and compiled row rules of a raw table (``events`` or ``shop_<name>``)."""
    if table == "events":
        return EVENTS_KEY, row_rules(events_suite())
    suites = shop_suites()
    if table not in suites:
        raise KeyError(f"no quality suite for raw.{table}")
    return tuple(suites[table].meta["key"]), row_rules(suites[table])


def replay_quarantine(
    conn: duckdb.DuckDBPyConnection, table: str | None = None
) -> list[ReplayResult]:
    """Re-admit the quarantined rows of ``table`` (default: every quarantine) that pass."""
    tables = [table] if table else quarantine_tables(conn)
    known = set(quarantine_tables(conn))
    results = []
    for name in tables:
        if name not in known:
            raise KeyError(f"no quarantine table quality.quarantine_{name}")
        key, rules = keys_and_rules(name)
        results.append(replay(conn, name, key, rules))
    return results


def quality_dirs(settings: PipelineSettings | None = None) -> tuple[Path, Path]:
    """Where validations are saved, and where the Data Docs page is published."""
    home = (settings or PipelineSettings()).shop.resolved_home
    return home / "quality" / "validations", home / "published" / "data_docs"
