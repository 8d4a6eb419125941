"""One audience refreshed end to end: erasures applied to its files, members selected,
filtered by the shop's consent at publish time, the next version published and recorded.

The Dagster assets and ``bench/audiences.py`` both call ``refresh_audience``; it needs a
warehouse connection that may write (the ``audiences.memberships`` record).
"""

from __future__ import annotations

from dataclasses import dataclass
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
    empty_members,
    identified_members,
    qualifying_ids,
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
    """Publish the next version of ``definition`` under ``root/<name>`` (or nothing when
    unchanged and not due). ``erased`` defaults to the warehouse's erased customers; the
    shop's (``consent.erased``) are always added."""
    memberships.ensure_table(conn)
    audience_dir = root / definition.name
    gone = (warehouse_erased(conn) if erased is None else erased) | set(consent.erased)
    erasure = erase(conn, audience_dir, gone)
    memberships.prune(conn, definition.name, versions(audience_dir))
    ids = qualifying_ids(conn, definition, definitions, lookalike_fn)
    members = identified_members(conn, definition, ids, consent.consenting_table)
    publication = publish(
        audience_dir,
        definition,
        members,
        previous_members(conn, audience_dir),
        source_data_versions={
            **(source_data_versions or {}),
            "shop_consent_read_at": consent.read_at.isoformat(),
        },
        now=now,
    )
    if publication.version is not None:
        memberships.record(
            conn, definition.name, publication.version, publication.members, publication.removes
        )
    return Refresh(publication, len(ids), erasure["rows"])
