"""A reader of the published audience files: the layout is the contract with the
audiences pipeline, which writes it (the shop never opens the warehouse)::

    <root>/<name>/LATEST                  the newest released version (replaced atomically)
    <root>/<name>/<version>/manifest.json version = UTC time "YYYYMMDDTHHMMSSZ"
    <root>/<name>/<version>/members.csv   (and adds.csv, removes.csv)

Names and versions are checked against their patterns before any path is built from
them, so a request can never name a file outside ``root``. A version folder without a
readable manifest (one being written) does not exist yet as far as the shop is concerned.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shop_api.core.errors import NotFound

NAME = re.compile(r"^[a-z0-9_]+$")
VERSION = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
LATEST = "LATEST"
MANIFEST = "manifest.json"
MEMBERS = "members.csv"


@dataclass(frozen=True)
class PublishedVersion:
    audience: str
    version: str
    folder: Path
    manifest: dict[str, Any]

    @property
    def members(self) -> Path:
        return self.folder / MEMBERS

    @property
    def etag(self) -> str:
        """Strong: the members file's SHA-256 from the manifest (the same bytes give the
        same tag), else the audience and version, which are never rewritten."""
        digest = self.manifest.get("members_sha256")
        if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest):
            return f'"{digest}"'
        return f'"{self.audience}-{self.version}"'


class PublishedAudiences:
    """Read-only view of ``root`` (``Settings.published_audiences_dir``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        """Every audience with a folder, by name."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name))

    def latest_version(self, name: str) -> str | None:
        """The version LATEST names, or None before the first release."""
        try:
            version = (self._folder(name) / LATEST).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return version if VERSION.match(version) else None

    def versions(self, name: str) -> list[PublishedVersion]:
        """Every version with its manifest, newest first (blocked ones too)."""
        folder = self._folder(name)
        found = (self._read(name, p.name) for p in folder.iterdir() if VERSION.match(p.name))
        return sorted((v for v in found if v), key=lambda v: v.version, reverse=True)

    def version(self, name: str, version: str | None = None) -> PublishedVersion:
        """``version``, or the one LATEST names; NotFound when there is no such one."""
        self._folder(name)
        if version is None:
            version = self.latest_version(name)
            if version is None:
                raise NotFound(f"Audience {name!r} has no released version yet")
        elif not VERSION.match(version):
            raise NotFound(f"Audience {name!r} has no version {version!r}")
        found = self._read(name, version)
        if found is None or not found.members.is_file():
            raise NotFound(f"Audience {name!r} has no version {version!r}")
        return found

    def released(self, name: str) -> PublishedVersion | None:
        """The version LATEST names, None when there is none (or it is unreadable)."""
        try:
            return self.version(name)
        except NotFound:
            return None

    def _folder(self, name: str) -> Path:
        if not NAME.match(name) or not (self.root / name).is_dir():
            raise NotFound(f"No audience {name!r}")
        return self.root / name

    def _read(self, name: str, version: str) -> PublishedVersion | None:
        folder = self.root / name / version
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            return None
        if not isinstance(manifest, dict):
            return None
        return PublishedVersion(audience=name, version=version, folder=folder, manifest=manifest)
