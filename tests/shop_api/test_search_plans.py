"""PostgreSQL runs every search through one generic plan per shape; that plan must stay cheap.

The hot reads (``create_async_read_engine``) force generic plans, so a statement that only
a custom plan makes fast would be slow in production without failing any other test.
These tests prepare the real search statements as the asyncpg driver sends them and read
their generic plans.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Select, create_engine, text
from sqlalchemy.dialects.postgresql import asyncpg

from shop_api.core.db import create_async_read_engine
from shop_api.listings import repository
from shop_api.search.backends import search_backend_for

BACKEND = search_backend_for("postgresql")
# Every optional filter off, as the endpoint binds them.
ARGUMENTS = {
    "match": "'lamp'",
    "min_price": "NULL",
    "max_price": "NULL",
    "condition": "NULL",
    "seller_id": "NULL",
    "category_slug": "'home'",
    "category_id": "NULL",
    "limit": "20",
    "offset": "0",
    "top_rows": "20",
}


@pytest.fixture
def connection(database_url: str) -> Iterator[Connection]:
    if not database_url.startswith("postgresql"):
        pytest.skip("generic plans are a PostgreSQL matter")
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        connection.execute(text("SET plan_cache_mode = force_generic_plan"))
        yield connection
        connection.rollback()
    engine.dispose()


def sql_literal(value: object) -> str:
    value = getattr(value, "value", value)  # enum members
    return str(value) if isinstance(value, int) else "'{}'".format(str(value).replace("'", "''"))


def generic_plan(connection: Connection, statement: Select) -> list[str]:
    compiled = statement.compile(dialect=asyncpg.dialect())
    # The endpoint's values, or the statement's own (limits, the active status).
    values = [
        ARGUMENTS.get(name) or sql_literal(compiled.params[name]) for name in compiled.positiontup
    ]
    # The driver's own cursor, without parameters: the SQL holds a literal '%'.
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(f"PREPARE search_page AS {compiled.string}")
    try:
        cursor.execute(f"EXPLAIN (VERBOSE, COSTS OFF) EXECUTE search_page({', '.join(values)})")
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.execute("DEALLOCATE search_page")


@pytest.mark.parametrize("sort", ["relevance", "newest", "price_asc"])
@pytest.mark.parametrize("category", [False, True], ids=["any-category", "in-category"])
def test_a_text_search_parses_its_query_once(
    connection: Connection, sort: str, category: bool
) -> None:
    shape = repository._Shape(True, sort, category, True, True, True, True, True)
    statement, _count = repository._text_statements(BACKEND, shape)

    plan = generic_plan(connection, statement)

    # Whether the scan uses the index depends on the table's size; the parsing does not.
    parsing = [line for line in plan if "plainto_tsquery" in line]
    # Only InitPlans (run once per statement) parse the query: not the scan, not ts_rank.
    assert parsing and all(line.strip().startswith("Output: plainto_tsquery") for line in parsing)


def subplan_kind(plan: list[str], index: int) -> str | None:
    """``InitPlan`` or ``SubPlan``: the nearest such node above line ``index``, if any."""
    depth = len(plan[index]) - len(plan[index].lstrip())
    for line in reversed(plan[:index]):
        indent = len(line) - len(line.lstrip())
        if indent < depth:
            depth = indent
            for kind in ("InitPlan", "SubPlan"):
                if line.strip().startswith(kind):
                    return kind
    return None


@pytest.mark.parametrize("text_search", [True, False], ids=["words", "browse"])
def test_a_category_filter_finds_its_category_once(
    connection: Connection, text_search: bool
) -> None:
    """The search statement resolves the category (slug or id) and its subtree itself:
    once per statement, never per scanned listing."""
    shape = repository._Shape(text_search, "newest", True, True, True, True, True, True)
    statements = repository._text_statements if text_search else repository._browse_statements
    statement, _count = statements(BACKEND, shape)

    plan = generic_plan(connection, statement)

    scans = [i for i, line in enumerate(plan) if " on public.categories" in line]
    assert scans
    assert all(subplan_kind(plan, i) == "InitPlan" for i in scans)


def test_hot_reads_use_generic_plans(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("plan_cache_mode is a PostgreSQL setting")

    async def setting() -> str:
        engine = create_async_read_engine(database_url)
        assert engine is not None
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text("SHOW plan_cache_mode"))).scalar_one()
        finally:
            await engine.dispose()

    assert asyncio.run(setting()) == "force_generic_plan"
