"""A small object-store interface for listing images.

The local implementation keeps objects in a folder under ``MERCADO_HOME``; an
S3-compatible store implements the same three methods plus ``url``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol


class ObjectNotFound(Exception):
    pass


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...


def validate_key(key: str) -> PurePosixPath:
    """Keys are relative POSIX paths without ``..``; anything else could escape the store."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        raise ObjectNotFound(key)
    return path


class LocalObjectStore:
    """Objects as files; each write lands atomically (temp file, fsync, rename)."""

    def __init__(self, root: Path, public_base_url: str) -> None:
        self.root = root
        self.public_base_url = public_base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).parts)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (OSError, ValueError) as exc:  # missing, a folder, a NUL byte, a name too long
            raise ObjectNotFound(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.public_base_url}/media/{key}"
