"""Typed access to what SQLAlchemy annotates more widely than the shop uses it.

A mapped class's ``__table__`` is annotated as any ``FromClause`` (a class may be mapped
to a join or a subquery; the shop's models are all mapped to tables), and
``Session.execute`` as returning a plain ``Result`` (an ORM query's result has no row
count; an INSERT, UPDATE or DELETE without RETURNING gives a ``CursorResult``, which
has one). These helpers check which it is, so the type checker knows it too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.orm import DeclarativeBase


def table_of(model: type[DeclarativeBase]) -> Table:
    """The table a model is mapped to, for Core statements on it."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is mapped to {type(table).__name__}, not a table")
    return table


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """How many rows an executed INSERT, UPDATE or DELETE matched."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count (not a DML statement)")
    return result.rowcount
