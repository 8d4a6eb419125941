"""Where the real public datasets live: ``$MERCADO_DATA_DIR`` or ``<repo>/../shared/data``.

Their licences forbid copying them into the repository, so code finds them here and tests
skip (with this module's reason) when they are absent.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_ENV = "MERCADO_DATA_DIR"

OLIST_SAMPLE = "olist_sample"
OLIST_FULL = "olist_brazilian_ecommerce"
DIGINETICA = "diginetica_sample"
ONLINE_RETAIL = "online_retail_uci_sample"
MOVIELENS = "movielens_100k"


class DatasetMissing(FileNotFoundError):
    """A dataset (or a file of it) is not where the importers look for it."""


def data_dir() -> Path:
    """The folder holding one sub-folder per dataset (it may not exist)."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


def dataset_dir(name: str) -> Path:
    """The dataset's folder; ``DatasetMissing`` with a clear message when it is absent."""
    path = data_dir() / name
    if not path.is_dir():
        raise DatasetMissing(
            f"dataset {name!r} not found at {path} (set {DATA_DIR_ENV} to the folder "
            "that holds the shared datasets)"
        )
    return path


def dataset_unavailable_reason(name: str, *files: str) -> str | None:
    """Why the dataset (or one of ``files`` in it) cannot be used, or None when it can."""
    try:
        path = dataset_dir(name)
    except DatasetMissing as exc:
        return str(exc)
    for file in files:
        if not (path / file).exists():
            return f"dataset {name!r} at {path} has no {file}"
    return None


def find_table(folder: Path, stem: str) -> Path | None:
    """``<stem>.csv`` or ``<stem>.csv.gz`` in ``folder``, whichever exists."""
    for suffix in (".csv", ".csv.gz"):
        candidate = folder / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def open_text(path: Path, encoding: str = "utf-8-sig") -> TextIO:
    """Open a plain or gzipped text file for the csv module (a BOM is dropped)."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")
