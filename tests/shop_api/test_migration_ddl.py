"""Migrations hold their own DDL: they import no application code, build exactly the
search schema they built when they were written, and each downgrade restores the schema
of the revision below it."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine

from shop_api.core.config import normalise_database_url
from shop_api.core.migrations import ALEMBIC_INI, alembic_config
from tests.conftest import create_postgres_database, postgres_unavailable_reason
from tests.shop_api.schema_snapshot import FIXTURE, schema_snapshot, search_schema_snapshot

VERSIONS = ALEMBIC_INI.parent / "alembic" / "versions"
PROJECT_PACKAGES = {"shop_api", "mercado_cli", "simulator", "orchestration", "ml", "tests"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A brand-new, empty database of its own and an engine on it."""
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        reason = postgres_unavailable_reason()
        if reason:
            pytest.skip(reason)
        url, drop = create_postgres_database()
        url = normalise_database_url(url)
    engine = create_engine(url)
    yield url, engine
    engine.dispose()
    if drop is not None:
        drop()  # type: ignore[operator]


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("migration", sorted(VERSIONS.glob("*.py")), ids=lambda path: path.stem)
def test_a_migration_imports_no_application_code(migration: Path) -> None:
    """A migration must build the same schema whatever the application code becomes."""
    project = {
        module for module in imported_modules(migration)
        if module.split(".")[0] in PROJECT_PACKAGES
    }  # fmt: skip

    assert project == set()


def test_each_revision_builds_the_recorded_search_schema(fresh: tuple[str, Engine]) -> None:
    """The triggers, functions, full-text tables and indexes after each revision are the
    ones recorded from the code these migrations had when they were written."""
    url, engine = fresh
    recorded = json.loads(FIXTURE.read_text())[engine.dialect.name]

    for revision, expected in recorded.items():
        command.upgrade(alembic_config(url), revision)
        with engine.connect() as connection:
            assert search_schema_snapshot(connection) == expected, f"after {revision}"


def test_later_migrations_keep_the_search_schema(fresh: tuple[str, Engine]) -> None:
    """At head, the search objects are still those of the last recorded revision (a
    SQLite batch migration that rebuilds ``listings`` would drop its triggers)."""
    url, engine = fresh
    recorded = json.loads(FIXTURE.read_text())[engine.dialect.name]

    command.upgrade(alembic_config(url), "head")

    with engine.connect() as connection:
        assert search_schema_snapshot(connection) == recorded[list(recorded)[-1]]


def test_each_downgrade_restores_the_schema_below_it(fresh: tuple[str, Engine]) -> None:
    url, engine = fresh
    config = alembic_config(url)
    command.upgrade(config, "0001")
    on_the_way_up = {}
    for revision in ("0001", "0002", "0003", "0004", "0005", "0006"):
        command.upgrade(config, revision)
        with engine.connect() as connection:
            on_the_way_up[revision] = schema_snapshot(connection)

    for revision in ("0005", "0004", "0003", "0002", "0001"):
        command.downgrade(config, revision)
        with engine.connect() as connection:
            assert schema_snapshot(connection) == on_the_way_up[revision], f"back at {revision}"
