"""The object-store interface: listing images and the clickstream's landing zone.

Two implementations, chosen by settings: a local folder (``LocalObjectStore``, the
default) and any S3-compatible store (``S3ObjectStore``: AWS, MinIO, Ceph, moto) read and
written with boto3 (the ``scale`` extra). Every write is atomic: a reader sees the whole
object or none. Keys are relative POSIX paths; ``list`` and ``children`` never show
hidden names (a local write's ``.tmp-*`` file, a folder renamed aside for deletion).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

DELETED_PREFIX = ".expired-"
# Conditional replacements that lost a race are retried this many times.
REWRITE_ATTEMPTS = 5


class ObjectNotFound(Exception):
    pass


class ObjectChanged(Exception):
    """A rewrite kept losing the race against other writers of the same object."""


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object: ``etag`` is set by stores whose times are too coarse to tell
    two writes apart (S3 keeps whole seconds)."""

    key: str
    size: int
    modified_ns: int
    etag: str | None = None

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write ``data`` at ``key`` atomically (whole or not at all), replacing it."""

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str) -> str: ...

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, sorted by key."""

    def children(self, prefix: str) -> builtins.list[str]:
        """Names of the "folders" right under ``prefix`` (which ends with ``/``), sorted."""

    def rewrite(self, key: str, transform: Callable[[bytes], bytes | None]) -> bool:
        """Replace the object with ``transform(content)`` unless that returns None, so a
        concurrent writer's change is never lost. True when it was replaced."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the folder ``prefix`` (ending with ``/``); returns
        the bytes freed."""

    def local_path(self, key: str) -> Path | None:
        """The object's file when the store is a local folder (readers such as DuckDB
        open it in place); None for a remote store."""


def validate_key(key: str) -> PurePosixPath:
    """Keys are relative POSIX paths without ``..``; anything else could escape the store."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        raise ObjectNotFound(key)
    return path


def _validate_prefix(prefix: str) -> str:
    """A key prefix ("" or ``a/b/`` or ``a/b/c``): relative and without ``..``."""
    if prefix.startswith("/") or any(part in (".", "..") for part in prefix.split("/")):
        raise ValueError(f"invalid prefix {prefix!r}")
    return prefix


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalObjectStore:
    """Objects as files; each write lands atomically and durably (temp file, fsync,
    rename, fsync of the folder)."""

    def __init__(self, root: Path, public_base_url: str = "") -> None:
        self.root = root
        self.public_base_url = public_base_url.rstrip("/")

    def __str__(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).parts)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
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
        fsync_directory(target.parent)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (OSError, ValueError) as exc:  # missing, a folder, a NUL byte, a name too long
            raise ObjectNotFound(key) from exc

    def delete(self, key: str) -> None:
        """Durable as a write is: the folder is fsync'd once the file is gone."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_directory(path.parent)

    def url(self, key: str) -> str:
        return f"{self.public_base_url}/media/{key}"

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        folder = _validate_prefix(prefix).rpartition("/")[0]
        base = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not base.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                path = Path(dirpath, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    stat = path.stat()
                    found.append(ObjectInfo(key, stat.st_size, stat.st_mtime_ns))
        return sorted(found, key=lambda info: info.key)

    def children(self, prefix: str) -> builtins.list[str]:
        base = self.root.joinpath(*_validate_prefix(prefix).strip("/").split("/"))
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if p.is_dir() and p.name[0] != ".")

    def rewrite(self, key: str, transform: Callable[[bytes], bytes | None]) -> bool:
        """Read, transform, replace. Local writers of one object are serialised by the
        caller (the lake's erasure lock); a rename never leaves a partial file."""
        new = transform(self.get(key))
        if new is None:
            return False
        self.put(key, new)
        return True

    def delete_prefix(self, prefix: str) -> int:
        """The folder is renamed aside, then removed: readers never see half of it. What
        a crash left renamed aside is removed by the next call in that folder."""
        folder = self.root.joinpath(*_validate_prefix(prefix).strip("/").split("/"))
        freed = 0
        if folder.is_dir():
            freed = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
            aside = folder.with_name(f"{DELETED_PREFIX}{folder.name}-{uuid.uuid4().hex[:8]}")
            folder.rename(aside)
            shutil.rmtree(aside)
        if folder.parent.is_dir():
            for leftover in folder.parent.glob(f"{DELETED_PREFIX}*"):
                shutil.rmtree(leftover, ignore_errors=True)
        return freed

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


class S3ObjectStore:
    """Objects in a bucket under ``prefix``. A PUT is atomic in S3 (an object is visible
    whole or not at all); ``rewrite`` is a conditional PUT (``If-Match`` on the ETag it
    read), retried when another writer got there first. Credentials come from boto3's
    usual chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance
    role), never from Mercado's settings."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        public_base_url: str = "",
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.public_base_url = public_base_url.rstrip("/")
        if client is None:
            try:
                import boto3  # type: ignore[import-untyped]
            except ImportError as exc:  # pragma: no cover - the scale extra is missing
                raise RuntimeError(
                    "an S3 store needs boto3: install Mercado with the scale extra "
                    "(pip install 'mercado[scale]')"
                ) from exc
            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
        self.client = client

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> S3ObjectStore:
        """``s3://bucket/prefix``."""
        if not url.startswith("s3://"):
            raise ValueError(f"not an s3:// URL: {url!r}")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}")
        return cls(bucket, prefix, **kwargs)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key).as_posix()

    def _errors(self) -> Any:
        return self.client.exceptions

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )

    def _get(self, key: str) -> tuple[bytes, str]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors().NoSuchKey as exc:
            raise ObjectNotFound(key) from exc
        return answer["Body"].read(), answer["ETag"]

    def get(self, key: str) -> bytes:
        return self._get(key)[0]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(self, key: str) -> str:
        return f"{self.public_base_url}/media/{key}"

    def _pages(self, prefix: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        yield from paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix, **kwargs)

    def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        found = []
        for page in self._pages(_validate_prefix(prefix)):
            for item in page.get("Contents", []):
                key = item["Key"].removeprefix(self.prefix)
                if any(part.startswith(".") for part in key.split("/")):
                    continue
                modified = int(item["LastModified"].timestamp() * 1_000_000_000)
                found.append(ObjectInfo(key, item["Size"], modified, item["ETag"].strip('"')))
        return sorted(found, key=lambda info: info.key)

    def children(self, prefix: str) -> builtins.list[str]:
        base = self.prefix + _validate_prefix(prefix)
        names = set()
        for page in self._pages(prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"].removeprefix(base).strip("/")
                if name and not name.startswith("."):
                    names.add(name)
        return sorted(names)

    def rewrite(self, key: str, transform: Callable[[bytes], bytes | None]) -> bool:
        for _ in range(REWRITE_ATTEMPTS):
            try:
                data, etag = self._get(key)
            except ObjectNotFound:
                return False  # deleted meanwhile (retention): nothing left to rewrite
            new = transform(data)
            if new is None:
                return False
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=new, IfMatch=etag
                )
            except self.client.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "NoSuchKey":
                    return False
                if code not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
                continue
            return True
        raise ObjectChanged(key)

    def delete_prefix(self, prefix: str) -> int:
        objects = self.list(prefix.rstrip("/") + "/")
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._key(o.key)} for o in batch], "Quiet": True},
            )
        return sum(o.size for o in objects)

    def local_path(self, key: str) -> Path | None:
        return None


def open_object_store(
    location: Path | str, *, endpoint_url: str | None = None, public_base_url: str = ""
) -> ObjectStore:
    """An ``s3://bucket/prefix`` URL opens an S3 store (``endpoint_url`` for one that is
    not AWS); anything else is a local folder."""
    if isinstance(location, str) and location.startswith("s3://"):
        return S3ObjectStore.from_url(
            location, endpoint_url=endpoint_url, public_base_url=public_base_url
        )
    return LocalObjectStore(Path(location), public_base_url)


@contextlib.contextmanager
def local_files(store: ObjectStore, keys: list[str]) -> Iterator[list[Path]]:
    """Files a reader can open for ``keys``: the store's own for a local folder, else
    copies in a temporary folder (same relative paths) removed on exit."""
    paths = [store.local_path(key) for key in keys]
    if all(path is not None for path in paths):
        yield [path for path in paths if path is not None]
        return
    with tempfile.TemporaryDirectory(prefix="mercado-objects-") as folder:
        copies = []
        for key in keys:
            copy = Path(folder).joinpath(*validate_key(key).parts)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(store.get(key))
            copies.append(copy)
        yield copies
