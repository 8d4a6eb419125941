"""Retention: delete what is past its keeping period, so disk does not only grow.

Three periods (``orchestration.settings``), counted in whole days back from today (UTC):
clickstream (lake ``events/dt=`` partitions and ``raw.events`` by event day, which expire
together: raw is rebuilt from the lake), quarantine (``events_bad/dt=`` folders,
``raw.events_bad`` and ``quality.*`` rows) and published artifacts (superseded versions
under ``published/`` and ``artifacts/``; the latest version of each is always kept). A
``None`` period keeps everything. Deleting is idempotent: a second pass finds nothing, and
a folder is renamed aside before it is removed, so a crash never leaves half a partition
where a load would read it (in an object store a partition's objects are deleted in
batches: a load in between sees fewer files, and the changed fingerprint reloads it).
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from orchestration.loads.lake import (
    EVENTS,
    EVENTS_BAD,
    STATE_TABLE,
    as_zone,
    lake_days,
    partition_dir,
)
from shop_api.tracking.lake import LandingZone

EXPIRED_PREFIX = ".expired-"
MANIFEST = "manifest.json"
LATEST = "LATEST"
# Columns that date a quarantined row in the ``quality`` schema, first match wins.
QUALITY_TIME_COLUMNS = ("_quarantined_at", "quarantined_at", "received_at", "_loaded_at")


@dataclass(frozen=True)
class RetentionPolicy:
    events_days: int | None = None
    quarantine_days: int | None = None
    published_days: int | None = None


@dataclass
class RetentionReport:
    folders_deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, object]:
        return {
            "folders_deleted": len(self.folders_deleted),
            "bytes_freed": self.bytes_freed,
            "rows_deleted": sum(self.rows_deleted.values()),
            **{f"rows_deleted/{table}": n for table, n in sorted(self.rows_deleted.items())},
            "deleted": ", ".join(self.folders_deleted[:20]) or "nothing",
        }


def artifact_roots(home: Path) -> list[Path]:
    """Where versioned artifacts are published (audiences, models, ...)."""
    return [home / "published", home / "artifacts"]


def first_kept_day(days: int | None, today: date) -> date | None:
    """The oldest day a ``days`` period keeps (today counts as one); None keeps all."""
    return None if days is None else today - timedelta(days=days - 1)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def remove_tree(path: Path, report: RetentionReport) -> None:
    """Rename aside, then delete: readers never see a half-deleted folder."""
    report.bytes_freed += _size(path)
    aside = path.with_name(f"{EXPIRED_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    path.rename(aside)
    shutil.rmtree(aside)
    report.folders_deleted.append(str(path))


def _clear_leftovers(root: Path) -> None:
    """Folders a crashed pass renamed aside and did not finish deleting."""
    if root.is_dir():
        for leftover in root.rglob(f"{EXPIRED_PREFIX}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)


def expire_lake(
    lake: Path | LandingZone, dataset: str, keep_from: date, report: RetentionReport
) -> None:
    zone = as_zone(lake)
    for day in lake_days(zone, dataset):
        if date.fromisoformat(day) < keep_from:
            report.bytes_freed += zone.store.delete_prefix(f"{dataset}/dt={day}/")
            report.folders_deleted.append(str(partition_dir(zone, dataset, day)))


def _table_columns(conn: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[str]]:
    rows = conn.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = ? order by ordinal_position",
        [schema],
    ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def _delete(conn: duckdb.DuckDBPyConnection, table: str, where: str, params: list[object]) -> int:
    return int(conn.execute(f"delete from {table} where {where}", params).fetchall()[0][0])


def _forget_loads(conn: duckdb.DuckDBPyConnection, dataset: str, keep_from: date) -> None:
    """Drop the load bookkeeping of expired days (they are gone from the lake too)."""
    _delete(conn, STATE_TABLE, "dataset = ? and partition_key < ?", [dataset, str(keep_from)])


def expire_warehouse(
    conn: duckdb.DuckDBPyConnection,
    events_from: date | None,
    quarantine_from: date | None,
    report: RetentionReport,
) -> None:
    """Delete expired partitions of raw events and quarantine rows, in one transaction."""
    raw = _table_columns(conn, "raw")
    quality = _table_columns(conn, "quality")
    state = STATE_TABLE.split(".")[1] in raw
    conn.execute("begin")
    if events_from is not None and "events" in raw:
        report.rows_deleted["raw.events"] = _delete(
            conn, "raw.events", "event_date < ?", [events_from]
        )
        if state:
            _forget_loads(conn, EVENTS, events_from)
    if quarantine_from is not None:
        if "events_bad" in raw:
            report.rows_deleted["raw.events_bad"] = _delete(
                conn, "raw.events_bad", "received_date < ?", [quarantine_from]
            )
            if state:
                _forget_loads(conn, EVENTS_BAD, quarantine_from)
        for table, columns in sorted(quality.items()):
            column = next((c for c in QUALITY_TIME_COLUMNS if c in columns), None)
            if column is not None:
                report.rows_deleted[f"quality.{table}"] = _delete(
                    conn, f'quality."{table}"', f'"{column}" < ?', [quarantine_from]
                )
    conn.execute("commit")


def _versions(root: Path) -> dict[Path, list[Path]]:
    """Versioned artifacts: folders holding a ``manifest.json``, grouped by their parent."""
    groups: dict[Path, list[Path]] = {}
    if root.is_dir():
        for manifest in root.rglob(MANIFEST):
            version = manifest.parent
            if not version.name.startswith(EXPIRED_PREFIX):
                groups.setdefault(version.parent, []).append(version)
    return groups


def _latest(parent: Path, versions: list[Path]) -> Path:
    """The version ``LATEST`` names, else the most recently written one."""
    pointer = parent / LATEST
    if pointer.is_file():
        named = parent / pointer.read_text().strip()
        if named in versions:
            return named
    return max(versions, key=lambda v: ((v / MANIFEST).stat().st_mtime, v.name))


def expire_versions(root: Path, keep_from: datetime, report: RetentionReport) -> None:
    _clear_leftovers(root)
    for parent, versions in _versions(root).items():
        latest = _latest(parent, versions)
        for version in versions:
            written = datetime.fromtimestamp((version / MANIFEST).stat().st_mtime, UTC)
            if version != latest and written < keep_from:
                remove_tree(version, report)


def apply_retention(
    policy: RetentionPolicy,
    *,
    lake_dir: Path | LandingZone,
    artifact_roots: list[Path],
    conn: duckdb.DuckDBPyConnection | None,
    today: date | None = None,
) -> RetentionReport:
    """Delete everything past its period; ``conn`` is a warehouse writer (None: no warehouse)."""
    today = today or datetime.now(UTC).date()
    report = RetentionReport()
    events_from = first_kept_day(policy.events_days, today)
    quarantine_from = first_kept_day(policy.quarantine_days, today)
    # The lake first: were the pass to stop in between, no load could bring back into raw
    # a day that is still in the lake.
    if events_from is not None:
        expire_lake(lake_dir, EVENTS, events_from, report)
    if quarantine_from is not None:
        expire_lake(lake_dir, EVENTS_BAD, quarantine_from, report)
    if conn is not None:
        expire_warehouse(conn, events_from, quarantine_from, report)
    published_from = first_kept_day(policy.published_days, today)
    if published_from is not None:
        keep_from = datetime.combine(published_from, datetime.min.time(), UTC)
        for root in artifact_roots:
            expire_versions(root, keep_from, report)
    return report
