"""Alembic environment: URL from Settings (or the caller), metadata from the models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.schema import SchemaItem

import shop_api.models  # noqa: F401  (registers every table)
from shop_api.core.config import get_settings
from shop_api.core.db import Base, create_db_engine
from shop_api.search.schema import is_search_object

config = context.config
target_metadata = Base.metadata


def include_object(
    _obj: SchemaItem,
    name: str | None,
    _type: str,
    _reflected: bool,
    _compare_to: SchemaItem | None,
) -> bool:
    """Full-text search objects are dialect-specific and managed by hand in migrations
    (Alembic passes the arguments by position; only the name matters here)."""
    return not is_search_object(name)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url
    engine = create_db_engine(url, pool_size=1)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url,
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
