"""One audience refreshed end to end: erasures applied to its files, members selected,
filtered by the shop's consent at publish time, the next version published and recorded.

The Dagster assets call ``refresh_audience``; ``refresh_run`` refreshes several audiences
with the work they share done once (the erased customers, the consenting customers'
identifiers, the definitions' ``prepare`` tables), as ``bench/audiences.py`` does. Both
need a warehouse connection that may write (the ``audiences.memberships`` record).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from audiences import memberships
from audiences.consent import ConsentSnapshot
from audiences.definition import AudienceDefinition
from audiences.membership import (
    MEMBER_SCHEMA,
    LookalikeFn,
    PreparedTables,
    create_eligible,
    drop_eligible,
    empty_members,
    identified_members,
    qualifying_table,
)
from audiences.publication import (
    Publication,
    publish,
    read_csv,
    read_latest,
    rewrite_without,
    versions,
)


@dataclass(frozen=True)
class Refresh:
    publication: Publication
    qualifying: int
    erased_rows: int


def audiences_root(home: Path) -> Path:
    """Where audiences are published: ``$MERCADO_HOME/published/audiences``."""
    return home / "published" / "audiences"


def warehouse_erased(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        row[0]
        for row in conn.execute(
            "select customer_id from marts.dim_customers where is_erased"
        ).fetchall()
    }


def erase(
    conn: duckdb.DuckDBPyConnection, audience_dir: Path, customer_ids: set[str]
) -> dict[str, int]:
    """Remove erased customers from every retained version of one audience and from the
    membership record (their hashes are found there, the files hold hashes only)."""
    emails, phones = memberships.forget(conn, audience_dir.name, customer_ids)
    return rewrite_without(audience_dir, emails, phones)


def previous_members(conn: duckdb.DuckDBPyConnection, audience_dir: Path) -> pa.Table:
    """The released version's members: from the record, else (record lost with a rebuilt
    warehouse) from its ``members.csv``, customers unknown."""
    latest = read_latest(audience_dir)
    if latest is None:
        return empty_members()
    if memberships.is_recorded(conn, audience_dir.name, latest):
        return memberships.members_of(conn, audience_dir.name, latest)
    hashes = read_csv(audience_dir / latest / "members.csv")
    unknown = pa.nulls(len(hashes), pa.string())
    return pa.table([unknown, hashes["Email"], hashes["Phone"]], schema=MEMBER_SCHEMA)


@dataclass
class RefreshRun:
    """Audiences refreshed against one consent snapshot; made by ``refresh_run``."""

    conn: duckdb.DuckDBPyConnection
    root: Path
    consent: ConsentSnapshot
    gone: set[str]
    eligible: str
    definitions: dict[str, AudienceDefinition] | None = None
    lookalike_fn: LookalikeFn | None = None
    prepared: PreparedTables = field(init=False)

    def __post_init__(self) -> None:
        self.prepared = PreparedTables(self.conn)

    def refresh(
        self,
        definition: AudienceDefinition,
        *,
        source_data_versions: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Refresh:
        """Publish the next version of ``definition`` under ``root/<name>`` (or nothing
        when unchanged and not due)."""
        conn = self.conn
        audience_dir = self.root / definition.name
        erasure = erase(conn, audience_dir, self.gone)
        memberships.prune(conn, definition.name, versions(audience_dir))
        ids = qualifying_table(conn, definition, self.definitions, self.lookalike_fn, self.prepared)
        members = identified_members(conn, definition, ids, eligible=self.eligible)
        publication = publish(
            audience_dir,
            definition,
            members,
            previous_members(conn, audience_dir),
            source_data_versions={
                **(source_data_versions or {}),
                "shop_consent_read_at": self.consent.read_at.isoformat(),
            },
            now=now,
        )
        if publication.version is not None:
            memberships.record(
                conn, definition.name, publication.version, publication.members,
                publication.removes,
            )  # fmt: skip
        return Refresh(publication, len(ids), erasure["rows"])


@contextmanager
def refresh_run(
    conn: duckdb.DuckDBPyConnection,
    root: Path,
    consent: ConsentSnapshot,
    *,
    definitions: dict[str, AudienceDefinition] | None = None,
    lookalike_fn: LookalikeFn | None = None,
    erased: set[str] | None = None,
) -> Iterator[RefreshRun]:
    """A run refreshing audiences under ``root``; its temporary tables are dropped on exit.
    ``erased`` defaults to the warehouse's erased customers; the shop's
    (``consent.erased``) are always added."""
    memberships.ensure_table(conn)
    gone = (warehouse_erased(conn) if erased is None else erased) | set(consent.erased)
    run = RefreshRun(
        conn, root, consent, gone, create_eligible(conn, consent.consenting_table),
        definitions, lookalike_fn,
    )  # fmt: skip
    try:
        yield run
    finally:
        run.prepared.close()
        drop_eligible(conn)


def refresh_audience(
    conn: duckdb.DuckDBPyConnection,
    root: Path,
    definition: AudienceDefinition,
    consent: ConsentSnapshot,
    *,
    definitions: dict[str, AudienceDefinition] | None = None,
    source_data_versions: dict[str, Any] | None = None,
    now: datetime | None = None,
    lookalike_fn: LookalikeFn | None = None,
    erased: set[str] | None = None,
) -> Refresh:
    """Publish the next version of one audience: a ``refresh_run`` of one."""
    with refresh_run(
        conn, root, consent, definitions=definitions, lookalike_fn=lookalike_fn, erased=erased
    ) as run:
        return run.refresh(definition, source_data_versions=source_data_versions, now=now)
