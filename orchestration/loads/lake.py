"""Landing zone → ``raw.events`` / ``raw.events_bad``: idempotent, partition-replacing loads.

The lake (``shop_api.tracking.lake``: a local folder or an S3-compatible store) holds
``events/dt=YYYY-MM-DD/part-*.jsonl`` (by event date) and
``events_bad/dt=YYYY-MM-DD/part-*.jsonl`` (by received date); files appear whole, late
files can land in old partitions, and erasure rewrites files in place. Each load
therefore replaces one whole partition in one transaction and records the partition's
file fingerprints (name, size, mtime, and the ETag in an object store) in
``raw._load_state``, so a sensor or an incremental run reloads exactly the partitions
whose files changed. DuckDB reads a folder's files in place and an object store's
through temporary copies (``shop_api.core.storage.local_files``): no DuckDB extension.

Every function takes the lake as a ``LandingZone`` or, for the local folder, its ``Path``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePath

import duckdb

from orchestration.loads.erasure import scrub_erased_users
from orchestration.loads.stats import LoadStats
from shop_api.core.storage import local_files
from shop_api.tracking.lake import LandingZone

EVENTS = "events"
EVENTS_BAD = "events_bad"
STATE_TABLE = "raw._load_state"

EVENTS_DDL = """
create table if not exists raw.events (
    event_id varchar not null,
    event_name varchar,
    event_time timestamptz,
    received_at timestamptz,
    schema_version integer,
    client_id varchar,
    user_id varchar,
    session_id varchar,
    page json,
    params json,
    items json,
    context json,
    extra json,
    event_date date not null,
    _source_file varchar,
    _loaded_at timestamptz
)
"""

EVENTS_BAD_DDL = """
create table if not exists raw.events_bad (
    received_date date not null,
    received_at timestamptz,
    source varchar,
    reasons json,
    event json,
    _source_file varchar,
    _loaded_at timestamptz
)
"""

STATE_DDL = f"""
create table if not exists {STATE_TABLE} (
    dataset varchar not null,
    partition_key varchar not null,
    fingerprint varchar not null,
    files json,
    file_count integer,
    bytes bigint,
    rows bigint,
    loaded_at timestamptz,
    primary key (dataset, partition_key)
)
"""

# Column types for read_json: unknown top-level keys are ignored, missing ones are null.
EVENT_COLUMNS = {
    "event_id": "VARCHAR",
    "event_name": "VARCHAR",
    "event_time": "VARCHAR",
    "received_at": "VARCHAR",
    "schema_version": "VARCHAR",
    "client_id": "VARCHAR",
    "user_id": "VARCHAR",
    "session_id": "VARCHAR",
    "page": "JSON",
    "params": "JSON",
    "items": "JSON",
    "context": "JSON",
    "extra": "JSON",
}
BAD_COLUMNS = {"received_at": "VARCHAR", "source": "VARCHAR", "reasons": "JSON", "event": "JSON"}


@dataclass(frozen=True)
class PartitionFiles:
    """The files of one lake partition and a fingerprint that changes when any does."""

    dataset: str
    day: str
    files: tuple[tuple[str, int, int], ...]  # (name, size, mtime_ns)
    etags: tuple[str, ...] = ()  # an object store's, one per file; none for a folder

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name, size, mtime in self.files:
            digest.update(f"{name}|{size}|{mtime}\n".encode())
        for etag in self.etags:
            digest.update(f"{etag}\n".encode())
        return digest.hexdigest()

    @property
    def bytes(self) -> int:
        return sum(size for _, size, _ in self.files)

    @property
    def keys(self) -> list[str]:
        return [f"{self.dataset}/dt={self.day}/{name}" for name, _, _ in self.files]


def as_zone(lake: Path | LandingZone) -> LandingZone:
    return lake if isinstance(lake, LandingZone) else LandingZone(lake)


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create schema if not exists raw")
    conn.execute(EVENTS_DDL)
    conn.execute(EVENTS_BAD_DDL)
    conn.execute(STATE_DDL)


def partition_dir(lake: Path | LandingZone, dataset: str, day: str) -> PurePath:
    return as_zone(lake).partition(dataset, day)


def scan_partition(lake: Path | LandingZone, dataset: str, day: str) -> PartitionFiles:
    """Fingerprint a partition's complete files (hidden ``.tmp-*`` files are skipped)."""
    infos = as_zone(lake).objects(dataset, day)
    return PartitionFiles(
        dataset,
        day,
        tuple((info.name, info.size, info.modified_ns) for info in infos),
        tuple(info.etag for info in infos if info.etag is not None),
    )


def lake_days(lake: Path | LandingZone, dataset: str = EVENTS) -> list[str]:
    """Partition days present in the lake, sorted (folders that are not ``dt=<date>`` skip)."""
    days = []
    for folder in as_zone(lake).store.children(f"{dataset}/"):
        if not folder.startswith("dt="):
            continue
        day = folder.removeprefix("dt=")
        try:
            date.fromisoformat(day)
        except ValueError:
            continue
        days.append(day)
    return sorted(days)


def loaded_fingerprints(conn: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, str]:
    ensure_tables(conn)
    rows = conn.execute(
        f"select partition_key, fingerprint from {STATE_TABLE} where dataset = ?", [dataset]
    ).fetchall()
    return dict(rows)


def stale_partitions(
    conn: duckdb.DuckDBPyConnection, lake: Path | LandingZone, dataset: str = EVENTS
) -> list[str]:
    """Days whose files differ from what was loaded: new, late files, rewritten or removed."""
    zone = as_zone(lake)
    loaded = loaded_fingerprints(conn, dataset)
    days = set(lake_days(zone, dataset)) | set(loaded)
    return sorted(
        day for day in days if scan_partition(zone, dataset, day).fingerprint != loaded.get(day)
    )


def _record_state(conn: duckdb.DuckDBPyConnection, part: PartitionFiles, rows: int) -> None:
    conn.execute(
        f"delete from {STATE_TABLE} where dataset = ? and partition_key = ?",
        [part.dataset, part.day],
    )
    conn.execute(
        f"insert into {STATE_TABLE} values (?, ?, ?, ?, ?, ?, ?, now())",
        [
            part.dataset,
            part.day,
            part.fingerprint,
            json.dumps([{"name": n, "size": s, "mtime_ns": m} for n, s, m in part.files]),
            len(part.files),
            part.bytes,
            rows,
        ],
    )


def _read_json_sql(columns: dict[str, str]) -> str:
    cols = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
    return (
        "read_json(?, format = 'newline_delimited', columns = {" + cols + "}, "
        "filename = true, hive_partitioning = false)"
    )


# One statement reads this much JSON at most: DuckDB parses a statement's files in
# parallel, so few large statements beat one per day, and the cap keeps a long backfill's
# transaction (and its memory) bounded.
EVENTS_BATCH_BYTES = 2 * 2**30
# The partition a lake file belongs to: its ``dt=`` folder.
DAY_OF_FILE = r"regexp_extract(filename, 'dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1)"
# A duplicated event_id keeps the copy received first, then the one naming the user, then a
# fixed order (file, then a hash of the row), so a reload always keeps the same copy.
COPY_ORDER = """
    received_at,
    user_id is null,
    _source_file,
    md5(concat_ws('|', event_name, event_time, client_id, user_id, session_id, page, params,
        items, context, extra))
"""


def load_events_partition(
    conn: duckdb.DuckDBPyConnection, lake: Path | LandingZone, day: str | date
) -> LoadStats:
    """Replace ``raw.events`` for one ``dt=`` day (see ``load_events_partitions``)."""
    return load_events_partitions(conn, lake, [day])


def _batches(parts: list[PartitionFiles]) -> list[list[PartitionFiles]]:
    """Consecutive partitions grouped up to ``EVENTS_BATCH_BYTES`` of files each."""
    batches: list[list[PartitionFiles]] = []
    size = 0
    for part in parts:
        if not batches or (size + part.bytes > EVENTS_BATCH_BYTES and batches[-1]):
            batches.append([])
            size = 0
        batches[-1].append(part)
        size += part.bytes
    return batches


def load_events_partitions(
    conn: duckdb.DuckDBPyConnection, lake: Path | LandingZone, days: list[str] | list[date]
) -> LoadStats:
    """Replace ``raw.events`` for the given ``dt=`` days with their files, deduplicated.

    Days are loaded in batches (one transaction and one ``read_json`` over all their files
    per batch, ``EVENTS_BATCH_BYTES`` of JSON at most): delete and insert are atomic per
    batch, so a rerun leaves identical rows and a crash leaves the batch's previous rows.
    Duplicated ``event_id`` within a day (client retries, the client and server copies of
    one action) keep one copy (``COPY_ORDER``). Only duplicated ids are ranked, after the
    insert: ranking every row would sort the whole, wide batch.
    """
    started = time.perf_counter()
    keys = sorted({d.isoformat() if isinstance(d, date) else d for d in days})
    for day in keys:
        date.fromisoformat(day)  # refuse anything but a date
    ensure_tables(conn)
    zone = as_zone(lake)
    parts = [scan_partition(zone, EVENTS, day) for day in keys]
    label = ",".join(keys) if len(keys) <= 7 else f"{keys[0]}..{keys[-1]}"
    total = LoadStats(table="raw.events", partition=label)
    scrubbed = 0
    for batch in _batches(parts):
        rows, deleted, erased = _load_event_batch(conn, zone, batch)
        total.rows_loaded += rows
        total.rows_deleted += deleted
        total.files += sum(len(part.files) for part in batch)
        total.bytes_read += sum(part.bytes for part in batch)
        scrubbed += erased
    total.rows_in_table = conn.execute("select count(*) from raw.events").fetchall()[0][0]
    total.seconds = round(time.perf_counter() - started, 3)
    total.extra["erasure_scrubbed_rows"] = scrubbed
    return total


def _load_event_batch(
    conn: duckdb.DuckDBPyConnection, zone: LandingZone, batch: list[PartitionFiles]
) -> tuple[int, int, int]:
    """One transaction: replace the batch's days; returns rows loaded, deleted, scrubbed."""
    with local_files(zone.store, [key for part in batch for key in part.keys]) as files:
        return _load_event_files(conn, batch, [str(path) for path in files])


def _load_event_files(
    conn: duckdb.DuckDBPyConnection, batch: list[PartitionFiles], paths: list[str]
) -> tuple[int, int, int]:
    keys = [part.day for part in batch]
    in_batch = "event_date in (select unnest(cast(? as date[])))"
    conn.execute("begin transaction")
    try:
        deleted = conn.execute(f"delete from raw.events where {in_batch}", [keys]).fetchall()[0][0]
        if paths:
            conn.execute(
                f"""
                insert into raw.events
                select
                    event_id,
                    event_name,
                    cast(event_time as timestamptz),
                    cast(received_at as timestamptz),
                    cast(schema_version as integer),
                    client_id,
                    user_id,
                    session_id,
                    page,
                    params,
                    items,
                    context,
                    extra,
                    cast({DAY_OF_FILE} as date) as event_date,
                    parse_filename(filename) as _source_file,
                    now() as _loaded_at
                from {_read_json_sql(EVENT_COLUMNS)}
                where event_id is not null
                """,
                [paths],
            )
            conn.execute(
                f"""
                delete from raw.events where rowid in (
                    select rowid from (
                        select
                            rowid,
                            row_number() over (
                                partition by event_date, event_id order by {COPY_ORDER}
                            ) as copy_rank
                        from raw.events
                        where {in_batch}
                            and (event_date, event_id) in (
                                select event_date, event_id from raw.events
                                where {in_batch}
                                group by event_date, event_id
                                having count(*) > 1
                            )
                    )
                    where copy_rank > 1
                )
                """,
                [keys, keys],
            )
        scrubbed = scrub_erased_users(conn, event_dates=keys)
        counts = dict(
            conn.execute(
                f"select cast(event_date as varchar), count(*) from raw.events "
                f"where {in_batch} group by event_date",
                [keys],
            ).fetchall()
        )
        for part in batch:
            _record_state(conn, part, counts.get(part.day, 0))
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return sum(counts.values()), deleted, sum(scrubbed.values())


def load_events_bad_partition(
    conn: duckdb.DuckDBPyConnection, lake: Path | LandingZone, day: str | date
) -> LoadStats:
    """Replace ``raw.events_bad`` for one received day (the quarantine is kept whole)."""
    started = time.perf_counter()
    day = day.isoformat() if isinstance(day, date) else day
    date.fromisoformat(day)
    ensure_tables(conn)
    zone = as_zone(lake)
    part = scan_partition(zone, EVENTS_BAD, day)
    with local_files(zone.store, part.keys) as files:
        rows, deleted = _load_bad_files(conn, part, [str(path) for path in files])
    return LoadStats(
        table="raw.events_bad",
        partition=day,
        rows_loaded=rows,
        rows_deleted=deleted,
        files=len(part.files),
        bytes_read=part.bytes,
        seconds=round(time.perf_counter() - started, 3),
    )


def _load_bad_files(
    conn: duckdb.DuckDBPyConnection, part: PartitionFiles, paths: list[str]
) -> tuple[int, int]:
    day = part.day
    conn.execute("begin transaction")
    try:
        deleted = conn.execute(
            "delete from raw.events_bad where received_date = ?", [day]
        ).fetchall()[0][0]
        if paths:
            conn.execute(
                f"""
                insert into raw.events_bad
                select
                    cast(? as date) as received_date,
                    cast(received_at as timestamptz),
                    source,
                    reasons,
                    event,
                    parse_filename(filename) as _source_file,
                    now() as _loaded_at
                from {_read_json_sql(BAD_COLUMNS)}
                """,
                [day, paths],
            )
        rows = conn.execute(
            "select count(*) from raw.events_bad where received_date = ?", [day]
        ).fetchall()[0][0]
        _record_state(conn, part, rows)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return rows, deleted


def load_events_bad(
    conn: duckdb.DuckDBPyConnection, lake: Path | LandingZone, *, only_changed: bool = True
) -> LoadStats:
    """Bring ``raw.events_bad`` in line with the quarantine: every changed (or every) day."""
    started = time.perf_counter()
    ensure_tables(conn)
    zone = as_zone(lake)
    days = (
        stale_partitions(conn, zone, EVENTS_BAD)
        if only_changed
        else sorted(set(lake_days(zone, EVENTS_BAD)) | set(loaded_fingerprints(conn, EVENTS_BAD)))
    )
    total = LoadStats(table="raw.events_bad", mode="changed partitions" if only_changed else "all")
    for day in days:
        stats = load_events_bad_partition(conn, zone, day)
        total.rows_loaded += stats.rows_loaded
        total.rows_deleted += stats.rows_deleted
        total.files += stats.files
        total.bytes_read += stats.bytes_read
    if days:
        total.extra["erasure_scrubbed_rows"] = sum(scrub_erased_users(conn).values())
    total.rows_in_table = conn.execute("select count(*) from raw.events_bad").fetchall()[0][0]
    total.extra["partitions"] = ",".join(days)
    total.seconds = round(time.perf_counter() - started, 3)
    return total
