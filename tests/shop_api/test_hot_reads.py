"""The search page read on the asyncpg driver itself gives SQLAlchemy's rows, and is taken
only where SQLAlchemy tracks nothing it would bypass (shop_api.core.hot_reads)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from shop_api.core.db import create_async_read_engine, create_async_write_engine
from shop_api.core.hot_reads import fetch_rows, runs_on_driver
from shop_api.listings import repository
from shop_api.models import ListingCondition
from shop_api.search.backends import search_backend_for
from tests.factories import Actor, Factory, unique_word

T = TypeVar("T")
BACKEND = search_backend_for("postgresql")


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("the driver path is asyncpg's: nothing to compare on SQLite")
    return database_url


def in_async_session(
    make_engine: Callable[[str], AsyncEngine | None], url: str, work: Callable[[Session], T]
) -> T:
    """``work`` on a session of one of the app's asyncio engines, as the endpoints run it."""

    async def run() -> T:
        engine = make_engine(url)
        assert engine is not None
        try:
            async with async_sessionmaker(engine)() as session:
                return await session.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def comparable(rows: Sequence[Sequence[Any]]) -> list[tuple[str, ...]]:
    """Rows as strings: an enum member and its value, asyncpg's UUID and uuid.UUID alike."""
    return [tuple(str(value) for value in row) for row in rows]


FILTER_CASES = [
    pytest.param({}, id="words"),
    pytest.param({"sort": "newest"}, id="newest"),
    pytest.param({"sort": "price_desc", "min_price": 2_000}, id="price"),
    pytest.param({"condition": ListingCondition.refurbished}, id="condition"),
    pytest.param({"category": "cameras"}, id="category-slug"),
]


@pytest.mark.parametrize("filters", FILTER_CASES)
def test_the_driver_gives_sqlalchemys_rows(
    postgres_url: str, factory: Factory, seller: Actor, filters: dict[str, Any]
) -> None:
    word = unique_word()
    for price, condition in ((1_500, "used"), (2_500, "refurbished"), (3_500, "new")):
        listing = factory.listing(
            seller, title=f"{word} camera", price_minor=price, condition=condition
        )
        factory.image(seller, listing["id"])
    search = repository.SearchFilters(query=word, **filters)

    def page(session: Session) -> tuple[bool, Sequence[Sequence[Any]], int]:
        rows, total = repository.search(session, BACKEND, search, limit=2, offset=0)
        return runs_on_driver(session.connection()), rows, total

    # The read engine's sessions take the driver path; the write engine's, in a
    # transaction, go through SQLAlchemy: the same asyncpg, so the same float rounding.
    on_driver, driver_rows, driver_total = in_async_session(
        create_async_read_engine, postgres_url, page
    )
    through_sqlalchemy, rows, total = in_async_session(
        create_async_write_engine, postgres_url, page
    )

    assert on_driver and not through_sqlalchemy
    assert driver_rows and (driver_total, comparable(driver_rows)) == (total, comparable(rows))


def test_a_session_in_a_transaction_reads_through_sqlalchemy(postgres_url: str) -> None:
    """The write engine's sessions begin a transaction: a driver read would leave it."""
    assert not in_async_session(
        create_async_write_engine,
        postgres_url,
        lambda session: runs_on_driver(session.connection()),
    )


def test_a_missing_value_is_refused_as_sqlalchemy_would(postgres_url: str) -> None:
    statement, _count = repository._text_statements(
        BACKEND, repository._Shape(True, "relevance", False, True, True, True, True, True)
    )

    def without_words(session: Session) -> object:
        return fetch_rows(session.connection(), statement, {"limit": 1, "offset": 0})

    with pytest.raises(ArgumentError, match="match"):
        in_async_session(create_async_read_engine, postgres_url, without_words)


def test_a_value_the_database_refuses_raises_sqlalchemys_error(postgres_url: str) -> None:
    """As through SQLAlchemy: its DBAPIError, a data exception (SQLSTATE class 22) that
    the API answers with a 422 (test_errors)."""
    search = repository.SearchFilters(query="lamp", category="lamps\x00")

    def page(session: Session) -> object:
        return repository.search(session, BACKEND, search, limit=20, offset=0)

    with pytest.raises(DBAPIError) as raised:
        in_async_session(create_async_read_engine, postgres_url, page)
    assert raised.value.orig.__cause__.sqlstate.startswith("22")
