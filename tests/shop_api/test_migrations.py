"""Migrations: they match the models exactly and walk down to nothing and back up, per backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, select

import shop_api.models  # noqa: F401  (registers every table on Base.metadata)
from shop_api.core.config import normalise_database_url
from shop_api.core.db import Base
from shop_api.core.migrations import alembic_config, is_at_head, upgrade_to_head
from shop_api.search.backends import search_backend_for
from shop_api.search.schema import is_search_object
from tests.conftest import create_postgres_database, postgres_unavailable_reason
from tests.factories import unique_word


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any):
    """The same filter as ``shop_api/alembic/env.py``: search objects are managed by hand."""
    return not is_search_object(name)


def schema_differences(engine: Engine) -> list[Any]:
    """What ``alembic check`` would report: autogenerate's diff between models and database."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        return compare_metadata(context, Base.metadata)


def revisions(url: str) -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database of its own (not the session's shared one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    reason = postgres_unavailable_reason()
    if reason:
        pytest.skip(reason)
    url, drop = create_postgres_database()
    try:
        yield normalise_database_url(url)
    finally:
        drop()  # type: ignore[operator]


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    engine = create_engine(empty_database_url)
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_session_database_matches_the_models(database_url: str) -> None:
    engine = create_engine(normalise_database_url(database_url))
    try:
        assert is_at_head(engine)
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_upgrade_from_nothing_matches_the_models(empty_database_url: str, engine: Engine) -> None:
    upgrade_to_head(empty_database_url)

    assert is_at_head(engine)
    assert schema_differences(engine) == []
    assert {table.name for table in Base.metadata.sorted_tables} <= table_names(engine)


def test_downgrade_to_base_and_upgrade_again(empty_database_url: str, engine: Engine) -> None:
    config = alembic_config(empty_database_url)
    upgrade_to_head(empty_database_url)

    command.downgrade(config, "base")

    leftovers = {name for name in table_names(engine) if not name.startswith("sqlite_")}
    assert leftovers == {"alembic_version"}
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            triggers = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).all()
        assert triggers == []

    upgrade_to_head(empty_database_url)

    assert is_at_head(engine)
    assert schema_differences(engine) == []


def test_every_revision_steps_up_and_down(empty_database_url: str, engine: Engine) -> None:
    config = alembic_config(empty_database_url)
    steps = revisions(empty_database_url)
    assert steps[0] == "0001"

    for revision in steps:
        command.upgrade(config, revision)
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == (revision,)
    for _ in steps:
        command.downgrade(config, "-1")

    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == ()


def test_search_migration_indexes_existing_listings(
    empty_database_url: str, engine: Engine
) -> None:
    """Listings written before full-text search existed are found once it is added, and
    stay found through the search-document migration (0004) and back down to 0002."""
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0001")
    word = unique_word()
    now = datetime.now(UTC)
    ids = {name: uuid.uuid4() for name in ("user", "category", "listing")}
    users = sa.table(
        "users",
        *(sa.column(name) for name in ("email", "display_name", "role", "is_active")),
        *(sa.column(name) for name in ("token_version", "marketing_consent")),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("modified_at", sa.DateTime(timezone=True)),
    )
    categories = sa.table(
        "categories",
        *(sa.column(name) for name in ("slug", "name", "path", "depth")),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("modified_at", sa.DateTime(timezone=True)),
    )
    listings = sa.table(
        "listings",
        *(sa.column(name) for name in ("title", "description", "price_minor", "currency")),
        *(sa.column(name) for name in ("stock", "condition", "attributes", "status")),
        *(sa.column(name, sa.Uuid()) for name in ("id", "seller_id", "category_id")),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("modified_at", sa.DateTime(timezone=True)),
    )
    stamps = {"created_at": now, "modified_at": now}
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(
                id=ids["user"],
                email="old@example.com",
                display_name="Old seller",
                role="seller",
                is_active=True,
                token_version=0,
                marketing_consent=False,
                **stamps,
            )
        )
        connection.execute(
            categories.insert().values(
                id=ids["category"], slug="old", name="Old", path="old", depth=0, **stamps
            )
        )
        connection.execute(
            listings.insert().values(
                id=ids["listing"],
                seller_id=ids["user"],
                category_id=ids["category"],
                title=f"Old {word} lamp",
                description="Listed before search existed.",
                price_minor=100,
                currency="USD",
                stock=1,
                condition="used",
                attributes="{}",
                status="active",
                **stamps,
            )
        )

    command.upgrade(config, "head")

    matches = search_backend_for(engine.dialect.name).matches([word])
    with engine.connect() as connection:
        found = connection.execute(select(matches.c.listing_id)).scalars().all()
    assert found == [ids["listing"]]

    command.downgrade(config, "0003")
    command.upgrade(config, "head")
    with engine.connect() as connection:
        found = connection.execute(select(matches.c.listing_id)).scalars().all()
    assert found == [ids["listing"]]


def test_consent_migration_splits_the_marketing_flag_and_restores_it(
    empty_database_url: str, engine: Engine
) -> None:
    """0014: each account's marketing flag, time and source become both ad purposes';
    going back, marketing holds only where both purposes are granted."""
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0013")
    granted_at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    users = sa.table(
        "users",
        *(sa.column(name) for name in ("email", "display_name", "role", "is_active")),
        *(sa.column(name) for name in ("token_version", "marketing_consent")),
        sa.column("marketing_consent_source"),
        sa.column("marketing_consent_at", sa.DateTime(timezone=True)),
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("modified_at", sa.DateTime(timezone=True)),
    )
    ids = {name: uuid.uuid4() for name in ("yes", "no", "half")}
    with engine.begin() as connection:
        for name, user_id in ids.items():
            connection.execute(
                users.insert().values(
                    id=user_id, email=f"{name}@example.com", display_name=name, role="shopper",
                    is_active=True, token_version=0, marketing_consent=name != "no",
                    marketing_consent_at=granted_at, marketing_consent_source=f"{name}_form",
                    created_at=granted_at, modified_at=granted_at,
                )
            )  # fmt: skip

    command.upgrade(config, "0014")

    split = sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        sa.column("email"),
        sa.column("phone"),
        *(
            column
            for purpose in ("ad_user_data_consent", "ad_personalization_consent")
            for column in (
                sa.column(purpose, sa.Boolean()),
                sa.column(f"{purpose}_at", sa.DateTime(timezone=True)),
                sa.column(f"{purpose}_source"),
            )
        ),
    )
    with engine.begin() as connection:
        rows = {row.id: row for row in connection.execute(select(split))}
        assert "marketing_consent" not in {
            column["name"] for column in inspect(connection).get_columns("users")
        }
        connection.execute(  # "half" withdraws one purpose later
            split.update()
            .where(split.c.email == "half@example.com")
            .values(
                ad_personalization_consent=False,
                ad_personalization_consent_at=datetime(2026, 4, 1, tzinfo=UTC),
                ad_personalization_consent_source="settings_page",
            )
        )
    yes, no = rows[ids["yes"]], rows[ids["no"]]
    assert (bool(yes.ad_user_data_consent), bool(yes.ad_personalization_consent)) == (True, True)
    assert (bool(no.ad_user_data_consent), bool(no.ad_personalization_consent)) == (False, False)
    assert yes.ad_user_data_consent_source == yes.ad_personalization_consent_source == "yes_form"
    assert yes.ad_user_data_consent_at.replace(tzinfo=UTC) == granted_at.replace(tzinfo=UTC)
    assert yes.phone is None

    command.downgrade(config, "0013")

    with engine.connect() as connection:
        restored = {
            row.email: (bool(row.marketing_consent), row.marketing_consent_source)
            for row in connection.execute(
                sa.text("SELECT email, marketing_consent, marketing_consent_source FROM users")
            )
        }
    assert restored == {
        "yes@example.com": (True, "yes_form"),
        "no@example.com": (False, "no_form"),
        "half@example.com": (False, "settings_page"),  # the later change's source
    }
