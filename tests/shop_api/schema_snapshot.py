"""A database's schema as plain data, to compare what migrations build.

SQLite: every ``sqlite_master`` entry (tables, indexes, triggers, FTS5 shadow tables)
with its SQL. PostgreSQL: columns, constraints, indexes, triggers and functions from the
catalogs, each in PostgreSQL's own rendering (``pg_get_*def``), so the comparison does
not depend on how the DDL was spelled. Whitespace runs are collapsed to one space.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

# What the search migrations (0002, 0004-0006) create besides triggers and functions.
SEARCH_TABLES = frozenset({"listings_fts", "listing_search_docs", "listing_search_keys"})
SEARCH_COLUMNS = frozenset({"search_document"})  # on listings (0002 on PostgreSQL)
SEARCH_LISTING_INDEXES = frozenset({"ix_listings_search_document"})
SEARCH_ROUTINE_PREFIX = "listings_search"  # their triggers and functions

_POSTGRES_QUERIES = {
    "columns": """
        SELECT table_name, column_name, data_type, udt_name, is_nullable,
               coalesce(column_default, ''), coalesce(generation_expression, ''),
               coalesce(character_maximum_length, 0)
        FROM information_schema.columns WHERE table_schema = 'public'
        ORDER BY table_name, column_name
    """,
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        ORDER BY 1, 2
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
        ORDER BY 1, 2
    """,
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2
    """,
    "functions": """
        SELECT proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace ORDER BY 1
    """,
}


def _clean(value: Any) -> Any:
    return re.sub(r"\s+", " ", value).strip() if isinstance(value, str) else value


def schema_snapshot(connection: Connection) -> dict[str, list[list[Any]]]:
    """The schema of the connected database, per kind of object, in a stable order."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).all()
        return {"sqlite_master": [[_clean(value) for value in row] for row in rows]}
    return {
        kind: [[_clean(value) for value in row] for row in connection.exec_driver_sql(query)]
        for kind, query in _POSTGRES_QUERIES.items()
    }


def _search_table(name: str) -> bool:
    return name in SEARCH_TABLES or name.startswith("listings_fts_")


def search_schema_snapshot(connection: Connection) -> dict[str, list[list[Any]]]:
    """The part of the schema that migrations write by hand (full-text search): its
    tables, columns, constraints, indexes, triggers and functions. The rest is compared
    with the models (``test_migrations``)."""
    snapshot = schema_snapshot(connection)
    if connection.dialect.name == "sqlite":
        return {
            "sqlite_master": [
                row
                for row in snapshot["sqlite_master"]
                if (row[0] == "trigger" and row[1].startswith(SEARCH_ROUTINE_PREFIX))
                or _search_table(row[1])
                or _search_table(row[2])
            ]
        }
    return {
        "columns": [
            row for row in snapshot["columns"] if _search_table(row[0]) or row[1] in SEARCH_COLUMNS
        ],
        "constraints": [row for row in snapshot["constraints"] if _search_table(row[0])],
        "indexes": [
            row
            for row in snapshot["indexes"]
            if _search_table(row[0]) or row[1] in SEARCH_LISTING_INDEXES
        ],
        "triggers": [
            row for row in snapshot["triggers"] if row[1].startswith(SEARCH_ROUTINE_PREFIX)
        ],
        "functions": [
            row for row in snapshot["functions"] if row[0].startswith(SEARCH_ROUTINE_PREFIX)
        ],
    }


FIXTURE = Path(__file__).parent / "fixtures" / "search_schema_by_revision.json"


def dump_fixture(snapshots: dict[str, dict[str, dict[str, list[list[Any]]]]]) -> str:
    """JSON with one schema object per line, so a difference reads as a one-line diff."""
    lines = ["{"]
    for d_index, (dialect, revisions) in enumerate(snapshots.items()):
        lines.append(f" {json.dumps(dialect)}: {{")
        for r_index, (revision, kinds) in enumerate(revisions.items()):
            lines.append(f"  {json.dumps(revision)}: {{")
            for k_index, (kind, rows) in enumerate(kinds.items()):
                lines.append(f"   {json.dumps(kind)}: [")
                lines += [
                    f"    {json.dumps(row)}{',' if i < len(rows) - 1 else ''}"
                    for i, row in enumerate(rows)
                ]
                lines.append(f"   ]{',' if k_index < len(kinds) - 1 else ''}")
            lines.append(f"  }}{',' if r_index < len(revisions) - 1 else ''}")
        lines.append(f" }}{',' if d_index < len(snapshots) - 1 else ''}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def capture(revisions: list[str]) -> None:
    """Write the fixture: the search schema after upgrading fresh SQLite and PostgreSQL
    databases to each revision in turn. Run it (``python -m tests.shop_api.schema_snapshot
    0001 0002 ...``) only to record a new migration's schema, never to make a test pass."""
    from alembic import command
    from sqlalchemy import create_engine

    from shop_api.core.config import normalise_database_url
    from shop_api.core.migrations import alembic_config
    from tests.conftest import create_postgres_database

    snapshots: dict[str, dict[str, dict[str, list[list[Any]]]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for dialect in ("sqlite", "postgresql"):
            drop = None
            if dialect == "sqlite":
                url = f"sqlite:///{directory}/fresh.db"
            else:
                url, drop = create_postgres_database()
                url = normalise_database_url(url)
            engine = create_engine(url)
            snapshots[dialect] = {}
            for revision in revisions:
                command.upgrade(alembic_config(url), revision)
                with engine.connect() as connection:
                    snapshots[dialect][revision] = search_schema_snapshot(connection)
            engine.dispose()
            if drop is not None:
                drop()  # type: ignore[operator]
    FIXTURE.write_text(dump_fixture(snapshots))


if __name__ == "__main__":
    capture(sys.argv[1:])
