"""The private membership record: ``audiences.memberships`` in the warehouse.

The published files hold hashes only. This table keeps, for every version on disk, which
customer each row of ``members.csv`` and ``removes.csv`` belongs to, so the next version's
delta can be computed and an erased customer's hashes found in every retained file. It
never leaves the warehouse; an erased customer's rows are deleted from it.
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb
import pyarrow as pa

from audiences.membership import (
    CUSTOMER_ID,
    EMAIL,
    MEMBER_COLUMNS,
    MEMBER_SCHEMA,
    PHONE,
    empty_members,
)

TABLE = "audiences.memberships"
MEMBER, REMOVE = "member", "remove"


def ensure_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Ids and hashes are stored uncompressed: random hex does not compress, and trying
    (FSST) tripled the CPU of recording a version."""
    conn.execute("create schema if not exists audiences")
    conn.execute(
        f"""
        create table if not exists {TABLE} (
            audience varchar not null,
            version varchar not null,
            kind varchar not null,
            customer_id varchar using compression uncompressed,
            email_sha256 varchar using compression uncompressed,
            phone_sha256 varchar using compression uncompressed
        )
        """
    )


def record(
    conn: duckdb.DuckDBPyConnection,
    audience: str,
    version: str,
    members: pa.Table,
    removes: pa.Table,
) -> None:
    """The rows of one version's ``members.csv`` and ``removes.csv``, with their customers."""
    parts = [
        table.select(MEMBER_COLUMNS).append_column("kind", pa.repeat(pa.scalar(kind), len(table)))
        for table, kind in ((members, MEMBER), (removes, REMOVE))
    ]
    conn.register("_audience_rows", pa.concat_tables(parts))
    try:
        conn.execute(f"delete from {TABLE} where audience = ? and version = ?", [audience, version])
        conn.execute(
            f"insert into {TABLE} select ?, ?, kind, {CUSTOMER_ID}, {EMAIL}, {PHONE} "
            "from _audience_rows",
            [audience, version],
        )
    finally:
        conn.unregister("_audience_rows")


def members_of(conn: duckdb.DuckDBPyConnection, audience: str, version: str | None) -> pa.Table:
    """The members of a version, as recorded (empty for None or an unrecorded version)."""
    if version is None:
        return empty_members()
    table = conn.sql(
        f"select {CUSTOMER_ID}, {EMAIL}, {PHONE} from {TABLE} "
        "where audience = ? and version = ? and kind = ?",
        params=[audience, version, MEMBER],
    ).to_arrow_table()
    return table.cast(MEMBER_SCHEMA)


def is_recorded(conn: duckdb.DuckDBPyConnection, audience: str, version: str) -> bool:
    return bool(
        conn.execute(
            f"select count(*) from {TABLE} where audience = ? and version = ?", [audience, version]
        ).fetchall()[0][0]
    )


def prune(conn: duckdb.DuckDBPyConnection, audience: str, kept_versions: Collection[str]) -> int:
    """Forget versions no longer on disk (retention removed them)."""
    conn.register("_kept", pa.table({"version": pa.array(list(kept_versions), pa.string())}))
    try:
        return int(
            conn.execute(
                f"delete from {TABLE} where audience = ? "
                "and version not in (select version from _kept)",
                [audience],
            ).fetchall()[0][0]
        )
    finally:
        conn.unregister("_kept")


def forget(
    conn: duckdb.DuckDBPyConnection, audience: str, customer_ids: Collection[str]
) -> tuple[set[str], set[str]]:
    """Delete the erased customers' rows; returns the email and phone hashes they had."""
    conn.register("_erased", pa.table({CUSTOMER_ID: pa.array(list(customer_ids), pa.string())}))
    try:
        where = f"audience = ? and {CUSTOMER_ID} in (select {CUSTOMER_ID} from _erased)"
        rows = conn.execute(
            f"select distinct {EMAIL}, {PHONE} from {TABLE} where {where}", [audience]
        ).fetchall()
        conn.execute(f"delete from {TABLE} where {where}", [audience])
    finally:
        conn.unregister("_erased")
    emails = {e for e, _ in rows if e is not None}
    phones = {p for _, p in rows if p is not None}
    return emails, phones
