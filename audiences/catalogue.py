"""What marketers see: the published audiences read back from their files (never the
warehouse), for ``mercado audiences list|show|pull`` and the demo."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiences.publication import (
    BLOCKED,
    FILES,
    MANIFEST,
    PublicationError,
    audience_names,
    read_latest,
    read_manifest,
    versions,
)


@dataclass(frozen=True)
class AudienceSummary:
    name: str
    released: str | None  # the version LATEST names
    manifest: dict[str, Any] | None  # the released version's
    pending: list[str]  # blocked versions awaiting approval, newer than the release
    path: Path

    @property
    def counts(self) -> dict[str, int]:
        return (self.manifest or {}).get("counts", {"members": 0, "adds": 0, "removes": 0})


def summary(root: Path, name: str) -> AudienceSummary:
    folder = root / name
    if not folder.is_dir():
        raise PublicationError(f"no published audience named {name!r} under {root}")
    released = read_latest(folder)
    manifest = read_manifest(folder, released) if released else None
    pending = [
        v
        for v in versions(folder)
        if (released is None or v > released) and read_manifest(folder, v)["status"] == BLOCKED
    ]
    return AudienceSummary(name, released, manifest, pending, folder)


def summaries(root: Path) -> list[AudienceSummary]:
    return [summary(root, name) for name in audience_names(root)]


def version_history(root: Path, name: str) -> list[dict[str, Any]]:
    """Every retained version's manifest, newest first."""
    folder = root / name
    return [read_manifest(folder, v) for v in reversed(versions(folder))]


def pull(root: Path, name: str, out: Path, version: str | None = None) -> tuple[str, Path]:
    """Copy a version's files (default: the release) to ``out``; returns (version, folder)."""
    folder = root / name
    version = version or read_latest(folder)
    if version is None:
        raise PublicationError(f"{name}: nothing released yet")
    read_manifest(folder, version)  # the version exists and is complete
    out.mkdir(parents=True, exist_ok=True)
    for file_name in (*FILES, MANIFEST):
        shutil.copyfile(folder / version / file_name, out / file_name)
    return version, out


def print_audiences(root: Path, echo: Callable[[str], None] = print) -> list[AudienceSummary]:
    """One line per audience: its release's size, adds and removes, and where the files
    are; blocked versions awaiting approval are named. The demo calls this."""
    found = summaries(root)
    if not found:
        echo(f"no audiences published under {root}")
    for item in found:
        c = item.counts
        where = item.path / item.released if item.released else item.path
        line = (
            f"{item.name:<34} {c['members']:>8} members  +{c['adds']:<7} -{c['removes']:<7} "
            f"{item.released or 'unreleased'}  {where}"
        )
        if item.pending:
            line += f"  (blocked: {', '.join(item.pending)}; mercado audiences approve {item.name})"
        echo(line)
    return found
