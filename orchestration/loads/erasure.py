"""Right to erasure inside the warehouse: the safety net after the shop and lake steps.

``DELETE /me`` anonymises the user's OLTP rows (bumping ``modified_at``, so incremental
loads pick them up) and rewrites the lake files that mention them (their fingerprints
change, so those partitions reload). Anything still carrying an erased user's id in raw
(events another process flushed after the rewrite, a partition not reloaded yet) is
scrubbed here; every raw load calls this, so the order of loads does not matter.
"""

from __future__ import annotations

import duckdb

ERASED_DISPLAY_NAME = "Erased user"
HASHED_IDENTIFIERS = ("email_sha256", "phone_sha256")


def _table_exists(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "raw") -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def _columns(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "raw") -> set[str]:
    return {
        name
        for (name,) in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _quarantine_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables of the ``quality`` schema holding quarantined raw rows."""
    rows = conn.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'quality' and table_name like 'quarantine_%' order by 1"
    ).fetchall()
    return [name for (name,) in rows]


def erased_user_ids(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Ids of erased users known to the warehouse (erasure records and anonymised users)."""
    parts = []
    if _table_exists(conn, "shop_erasure_records"):
        parts.append("select user_id from raw.shop_erasure_records")
    if _table_exists(conn, "shop_users"):
        parts.append("select id from raw.shop_users where erased_at is not null")
    if not parts:
        return []
    query = " union ".join(parts)
    return sorted(row[0] for row in conn.execute(query).fetchall() if row[0])


def scrub_erased_users(
    conn: duckdb.DuckDBPyConnection, event_dates: list[str] | None = None
) -> dict[str, int]:
    """Remove erased users' identifiers from raw tables; returns rows changed per table.

    Runs inside the caller's transaction. ``event_dates`` limits the user's own events to
    those partitions (the ones a load just replaced; their devices' rows are scrubbed
    wherever they are) and skips the other tables.
    """
    ids = erased_user_ids(conn)
    changed: dict[str, int] = {}
    if not ids:
        return changed
    conn.execute("create or replace temp table _erased (user_id varchar)")
    conn.executemany("insert into _erased values (?)", [[i] for i in ids])
    if _table_exists(conn, "events"):
        # The user's rows, and every row of the devices they were seen on (their anonymous
        # browsing), in any partition: once a row's user id is gone, nothing else in raw
        # ties a device to the person.
        window = "and event_date in (select unnest(cast(? as date[])))" if event_dates else ""
        params = [event_dates] if event_dates else []
        changed["raw.events"] = conn.execute(
            f"""
            update raw.events set
                user_id = null,
                client_id = 'erased-' || md5(coalesce(client_id, event_id)),
                context = null
            where (user_id in (select user_id from _erased) {window})
               or client_id in (
                    select client_id from raw.events where user_id in (select user_id from _erased)
                )
            """,
            params,
        ).fetchall()[0][0]
    for table in _quarantine_tables(conn):
        # Quarantined rows are copies too. Events are scrubbed like raw.events; a shop row
        # is a stale copy of one the shop has anonymised (it reloads and is judged again),
        # so a quarantined one that names an erased user is dropped.
        if table == "quarantine_events":
            changed[f"quality.{table}"] = conn.execute(
                f"""
                update quality.{table} set
                    user_id = null,
                    client_id = 'erased-' || md5(coalesce(client_id, event_id)),
                    context = null
                where user_id in (select user_id from _erased)
                   or client_id in (
                        select client_id from quality.{table}
                        where user_id in (select user_id from _erased)
                    )
                """
            ).fetchall()[0][0]
        else:
            changed[f"quality.{table}"] = conn.execute(
                f"""
                delete from quality.{table} q where exists (
                    select 1 from _erased e where contains(cast(q as varchar), e.user_id)
                )
                """
            ).fetchall()[0][0]
    if _table_exists(conn, "events_bad") and event_dates is None:
        changed["raw.events_bad"] = conn.execute(
            """
            update raw.events_bad set event = '{"redacted": true}'::json
            where exists (
                select 1 from _erased e where contains(cast(event as varchar), e.user_id)
            )
            """
        ).fetchall()[0][0]
    if _table_exists(conn, "shop_users") and event_dates is None:
        # The hashes of e-mail and phone (absent from a table loaded before they existed).
        hashes = [c for c in HASHED_IDENTIFIERS if c in _columns(conn, "shop_users")]
        clear = "".join(f"{column} = null, " for column in hashes)
        left = "".join(f" or {column} is not null" for column in hashes)
        changed["raw.shop_users"] = conn.execute(
            f"""
            update raw.shop_users set
                email = 'erased-' || replace(id, '-', '') || '@erased.invalid',
                display_name = '{ERASED_DISPLAY_NAME}',
                {clear}
                last_login_at = null
            where id in (select user_id from _erased)
              and (email <> 'erased-' || replace(id, '-', '') || '@erased.invalid'{left})
            """
        ).fetchall()[0][0]
    conn.execute("drop table _erased")
    return {table: count for table, count in changed.items() if count}
