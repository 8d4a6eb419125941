"""Published audience files, the layout the marketing API and ``mercado audiences`` read.

``<root>/<name>/<version>/`` holds ``members.csv``, ``adds.csv``, ``removes.csv`` (Customer
Match CSV: header ``Email,Phone``, SHA-256 hex or empty) and ``manifest.json``;
``<root>/<name>/LATEST`` names the newest released version. A version is written in a
temporary folder and renamed into place, and ``LATEST`` is replaced with ``os.replace``,
so a crash leaves no half-written version and no pointer to one. A publication whose
member count fell by more than half is written with status ``blocked`` and ``LATEST`` is
not moved until ``approve`` releases it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from audiences.definition import AudienceDefinition
from audiences.membership import EMAIL, PHONE, empty_members

LATEST = "LATEST"
MANIFEST = "manifest.json"
FILES = ("members.csv", "adds.csv", "removes.csv")
CSV_HEADER = ["Email", "Phone"]
VERSION_FORMAT = "%Y%m%dT%H%M%SZ"
PUBLISHED, BLOCKED, APPROVED, UNCHANGED = "published", "blocked", "approved", "unchanged"
RELEASED = (PUBLISHED, APPROVED)
# A publication keeping fewer than this share of the previous release's members is blocked.
DEFAULT_MIN_KEPT_SHARE = 0.5


class PublicationError(RuntimeError):
    """A request on the published files that cannot be done (the message says why)."""


@dataclass(frozen=True)
class Publication:
    """What one refresh did: a new version (``published`` or ``blocked``), or ``unchanged``
    (same members, not yet due for the TTL re-upload: nothing written)."""

    audience: str
    status: str
    version: str | None
    previous_version: str | None
    counts: dict[str, int]
    reason: str
    path: Path | None = None
    members: pa.Table = field(default_factory=empty_members)
    removes: pa.Table = field(default_factory=empty_members)


def version_name(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(VERSION_FORMAT)


def parse_version(version: str) -> datetime:
    return datetime.strptime(version, VERSION_FORMAT).replace(tzinfo=UTC)


def read_latest(audience_dir: Path) -> str | None:
    path = audience_dir / LATEST
    return path.read_text(encoding="utf-8").strip() or None if path.exists() else None


def write_latest(audience_dir: Path, version: str) -> None:
    temporary = audience_dir / f".{LATEST}.{uuid.uuid4().hex[:8]}.tmp"
    temporary.write_text(version + "\n", encoding="utf-8")
    os.replace(temporary, audience_dir / LATEST)


def read_manifest(audience_dir: Path, version: str) -> dict[str, Any]:
    path = audience_dir / version / MANIFEST
    if not path.is_file():
        raise PublicationError(f"{audience_dir.name}: no version {version}")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def versions(audience_dir: Path) -> list[str]:
    """Complete versions (those with a manifest), oldest first."""
    if not audience_dir.is_dir():
        return []
    return sorted(p.name for p in audience_dir.iterdir() if p.is_dir() and (p / MANIFEST).is_file())


def audience_names(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


# Hex digests never need quotes; the header is written as Customer Match shows it.
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none")


def _write_hashes(table: pa.Table, path: Path) -> None:
    with path.open("wb") as handle:
        handle.write((",".join(CSV_HEADER) + "\n").encode())
        pacsv.write_csv(table, handle, CSV_OPTIONS)


def write_csv(table: pa.Table, path: Path) -> None:
    """Customer Match CSV: ``Email,Phone`` with SHA-256 hex values, empty when unknown."""
    _write_hashes(table.select([EMAIL, PHONE]), path)


def read_csv(path: Path) -> pa.Table:
    """A published file's ``Email``/``Phone`` columns (strings; empty read as null)."""
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in CSV_HEADER},
            strings_can_be_null=True,
            null_values=[""],
        ),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: dict[str, Any], *, keep_mtime: bool = False) -> None:
    """Replace ``manifest.json`` atomically; ``keep_mtime`` keeps the date retention reads."""
    path = folder / MANIFEST
    stat = path.stat() if keep_mtime and path.exists() else None
    temporary = folder / f".{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=False), encoding="utf-8")
    os.replace(temporary, path)
    if stat is not None:
        os.utime(path, (stat.st_atime, stat.st_mtime))


def _rows(table: pa.Table, email: str = EMAIL, phone: str = PHONE) -> pa.Array:
    """One key per row: its identifiers."""
    keys = pc.binary_join_element_wise(
        pc.fill_null(table[email], ""), pc.fill_null(table[phone], ""), "|"
    )
    return keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys


def delta(current: pa.Table, previous: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Adds (rows new since ``previous``) and removes (rows gone), by identifiers (what the
    platform sees); a changed identifier is a remove of the old row and an add of the new."""
    if not len(previous) or not len(current):
        return current, previous
    now, before = _rows(current), _rows(previous)
    adds = current.filter(pc.invert(pc.is_in(now, value_set=before)))
    removes = previous.filter(pc.invert(pc.is_in(before, value_set=now)))
    return adds, removes


def _rule_text(definition: AudienceDefinition) -> str:
    if definition.sql is not None:
        return definition.sql.strip()
    if definition.segment is not None:
        return f"profiles segment {definition.segment!r}"
    spec = definition.lookalike
    assert spec is not None
    seed = spec.seed_audience or (spec.seed_sql or "").strip()
    return f"the {spec.size} customers nearest (profile embeddings) the seed: {seed}"


def _free_version(audience_dir: Path, moment: datetime) -> str:
    """The version named after ``moment``, or the next free second (one-second names)."""
    while (audience_dir / version_name(moment)).exists():
        moment += timedelta(seconds=1)
    return version_name(moment)


def publish(
    audience_dir: Path,
    definition: AudienceDefinition,
    members: pa.Table,
    previous: pa.Table | None,
    *,
    source_data_versions: dict[str, Any],
    now: datetime | None = None,
    min_kept_share: float = DEFAULT_MIN_KEPT_SHARE,
) -> Publication:
    """Write the next version of an audience from its consented ``members``.

    ``previous`` is the membership of the released version ``LATEST`` names (None or empty
    when there is none). Nothing is written when members are unchanged, the definition
    is the same and the release is younger than ``definition.republish_every_days``.
    """
    now = now or datetime.now(UTC)
    name = definition.name
    previous = previous if previous is not None else empty_members()
    previous_version = read_latest(audience_dir)
    adds, removes = delta(members, previous)
    counts = {"members": len(members), "adds": len(adds), "removes": len(removes)}
    unchanged = len(adds) == 0 and len(removes) == 0
    if previous_version is not None and unchanged:
        manifest = read_manifest(audience_dir, previous_version)
        due = parse_version(previous_version) + timedelta(days=definition.republish_every_days)
        if manifest.get("definition_hash") == definition.definition_hash and now < due:
            return Publication(
                name, UNCHANGED, None, previous_version, counts,
                f"no change since {previous_version}; re-upload due {due:%Y-%m-%d}",
            )  # fmt: skip
    status, reason = PUBLISHED, "published"
    if previous_version is None:
        reason = "first publication"
    elif unchanged:
        reason = f"no change: re-published before the {definition.membership_ttl_days}-day expiry"
    kept_floor = len(previous) * min_kept_share
    if len(previous) > 0 and len(members) < kept_floor:
        status = BLOCKED
        reason = (
            f"members fell from {len(previous)} to {len(members)} (more than "
            f"{1 - min_kept_share:.0%} gone): blocked until `mercado audiences approve {name}`"
        )
    audience_dir.mkdir(parents=True, exist_ok=True)
    version = _free_version(audience_dir, now)
    temporary = audience_dir / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        for file_name, table in zip(FILES, (members, adds, removes), strict=True):
            write_csv(table, temporary / file_name)
        manifest = {
            "audience": name,
            "version": version,
            "created_at": now.astimezone(UTC).isoformat(),
            "status": status,
            "description": definition.description,
            "owner": definition.owner,
            "identifier_types": list(definition.identifier_types),
            "definition_hash": definition.definition_hash,
            "rule": _rule_text(definition),
            "membership_ttl_days": definition.membership_ttl_days,
            "counts": counts,
            "previous_version": previous_version,
            "source_data_versions": source_data_versions,
            "approved_by": None,
            "approved_at": None,
            "members_sha256": file_sha256(temporary / "members.csv"),
            "reason": reason,
        }
        write_manifest(temporary, manifest)
        os.replace(temporary, audience_dir / version)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    if status == PUBLISHED:
        write_latest(audience_dir, version)
    return Publication(
        name, status, version, previous_version, counts, reason,
        audience_dir / version, members, removes,
    )  # fmt: skip


def blocked_versions(audience_dir: Path) -> list[str]:
    return [
        v for v in versions(audience_dir) if read_manifest(audience_dir, v)["status"] == BLOCKED
    ]


def approve(
    audience_dir: Path, by: str, *, version: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Release a blocked version (the newest by default): record who and when in its
    manifest, then point ``LATEST`` at it. Its adds and removes were computed against the
    release it names as ``previous_version``, so it must still be the latest release."""
    name = audience_dir.name
    if version is None:
        blocked = blocked_versions(audience_dir)
        if not blocked:
            raise PublicationError(f"{name}: no blocked version to approve")
        version = blocked[-1]
    manifest = read_manifest(audience_dir, version)
    if manifest["status"] != BLOCKED:
        raise PublicationError(f"{name}: version {version} is {manifest['status']}, not blocked")
    latest = read_latest(audience_dir)
    if manifest["previous_version"] != latest:
        raise PublicationError(
            f"{name}: version {version} was computed against {manifest['previous_version']}, "
            f"but {latest} has been released since; the next refresh publishes afresh"
        )
    manifest.update(
        status=APPROVED,
        approved_by=by,
        approved_at=(now or datetime.now(UTC)).astimezone(UTC).isoformat(),
    )
    write_manifest(audience_dir / version, manifest)
    write_latest(audience_dir, version)
    return manifest


def rewrite_without(audience_dir: Path, emails: set[str], phones: set[str]) -> dict[str, int]:
    """Drop every row holding one of these hashes from every version's files (members,
    adds and removes), each file replaced atomically; the manifest's counts and
    ``members_sha256`` follow, its date (what retention reads) unchanged."""
    counts = {"versions": 0, "rows": 0}
    if not emails and not phones:
        return counts
    for version in versions(audience_dir):
        folder = audience_dir / version
        manifest = read_manifest(audience_dir, version)
        changed = False
        for file_name in FILES:
            path = folder / file_name
            table = read_csv(path)
            hit = pc.or_(
                pc.is_in(table["Email"], value_set=pa.array(sorted(emails), pa.string())),
                pc.is_in(table["Phone"], value_set=pa.array(sorted(phones), pa.string())),
            )
            hits = pc.sum(hit).as_py() or 0
            if not hits:
                continue
            changed = True
            counts["rows"] += hits
            kept = table.filter(pc.invert(hit))
            temporary = folder / f".{file_name}.{uuid.uuid4().hex[:8]}.tmp"
            _write_hashes(kept, temporary)
            os.replace(temporary, path)
            manifest["counts"][file_name.removesuffix(".csv")] = len(kept)
        if changed:
            counts["versions"] += 1
            manifest["members_sha256"] = file_sha256(folder / "members.csv")
            write_manifest(folder, manifest, keep_mtime=True)
    return counts
