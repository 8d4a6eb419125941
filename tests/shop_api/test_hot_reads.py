"""Hot reads on the driver itself give SQLAlchemy's rows, and are taken only where
SQLAlchemy tracks or converts nothing it would bypass (shop_api.core.hot_reads)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from sqlalchemy import String, bindparam, event, select, type_coerce
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from shop_api.core.db import create_async_read_engine, create_async_write_engine
from shop_api.core.hot_reads import fetch_rows, runs_on_driver
from shop_api.listings import repository
from shop_api.models import Listing, ListingCondition, User
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


@pytest.fixture
def sqlite_app(app: FastAPI, database_url: str) -> FastAPI:
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite driver path")
    return app


def statements_seen_by_sqlalchemy(app: FastAPI, work: Callable[[Session], T]) -> tuple[int, T]:
    """``work`` on a read session of the app, and how many statements SQLAlchemy ran."""
    engine = app.state.database.engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.state.database.read_sessions() as session:
            result = work(session)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), result


def test_on_sqlite_a_read_with_nothing_to_convert_runs_on_the_driver_with_the_same_rows(
    sqlite_app: FastAPI, factory: Factory, seller: Actor
) -> None:
    listing = factory.listing(seller)
    statement = select(type_coerce(Listing.id, String), Listing.title, Listing.price_minor).where(
        type_coerce(Listing.id, String) == bindparam("id", type_=String)
    )
    stored_id = uuid.UUID(listing["id"]).hex

    on_driver, rows = statements_seen_by_sqlalchemy(
        sqlite_app, lambda session: fetch_rows(session.connection(), statement, {"id": stored_id})
    )
    through_sqlalchemy, expected = statements_seen_by_sqlalchemy(
        sqlite_app,
        lambda session: session.connection().execute(statement, {"id": stored_id}).all(),
    )

    assert (on_driver, through_sqlalchemy) == (0, 1)
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected]
    assert rows == [(stored_id, listing["title"], listing["price_minor"])]


def test_on_sqlite_a_read_with_values_to_convert_goes_through_sqlalchemy(
    sqlite_app: FastAPI, factory: Factory, seller: Actor
) -> None:
    listing = factory.listing(seller)
    statement = select(Listing.id, Listing.created_at).where(Listing.id == bindparam("id"))

    seen, rows = statements_seen_by_sqlalchemy(
        sqlite_app,
        lambda session: fetch_rows(
            session.connection(), statement, {"id": uuid.UUID(listing["id"])}
        ),
    )

    assert seen == 1
    assert rows[0][0] == uuid.UUID(listing["id"])
    assert isinstance(rows[0][1], datetime)


READ_COLUMNS = repository.readable_columns_statements(
    Listing.id, Listing.seller_id, Listing.category_id, Listing.title, Listing.price_minor
)


@pytest.mark.parametrize("caller", ["anonymous", "its seller", "another seller", "staff"])
def test_on_sqlite_a_listing_read_by_its_columns_runs_on_the_driver_with_uuids(
    sqlite_app: FastAPI, factory: Factory, seller: Actor, caller: str
) -> None:
    """The listing's columns as the caller may see it (a draft: its seller and staff)."""
    listing = factory.listing(seller, status="draft")
    callers = {
        "anonymous": None,
        "its seller": seller,
        "another seller": factory.user("seller"),
        "staff": factory.user("staff"),
    }
    actor = callers[caller]
    with sqlite_app.state.database.read_sessions() as session:
        user = session.get(User, actor.id) if actor is not None else None

    seen, row = statements_seen_by_sqlalchemy(
        sqlite_app,
        lambda session: repository.readable_columns(
            session, READ_COLUMNS, user, uuid.UUID(listing["id"])
        ),
    )

    assert seen == 0
    if caller in ("anonymous", "another seller"):
        assert row is None
    else:
        assert row is not None
        assert tuple(row) == (
            uuid.UUID(listing["id"]),
            uuid.UUID(listing["seller_id"]),
            uuid.UUID(listing["category_id"]),
            listing["title"],
            listing["price_minor"],
        )
