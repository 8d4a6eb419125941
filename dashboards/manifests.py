"""Published audiences, read from their manifests: one row per audience version.

The contract (``$MERCADO_HOME/published/audiences/<name>/<version>/manifest.json``):
``audience``, ``version``, ``created_at``, ``status`` and ``counts {members, adds,
removes}``. A manifest that does not parse or lacks a field is skipped, not fatal: the
page shows the versions it can read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dashboards.queries import Frame

COLUMNS = ["audience", "version", "created_at", "status", "members", "adds", "removes"]
SOURCE = "published/audiences/*/*/manifest.json"


def read_audience_manifests(root: Path) -> Frame:
    """Every readable manifest under ``root`` (``published/audiences``), oldest first."""
    rows = []
    for path in sorted(root.glob("*/*/manifest.json")):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            counts = manifest["counts"]
            rows.append(
                {
                    "audience": str(manifest["audience"]),
                    "version": str(manifest["version"]),
                    "created_at": pd.Timestamp(manifest["created_at"]),
                    "status": str(manifest["status"]),
                    "members": int(counts["members"]),
                    "adds": int(counts["adds"]),
                    "removes": int(counts["removes"]),
                }
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    data = pd.DataFrame(rows, columns=COLUMNS)
    if data.empty:
        return Frame(SOURCE, data)
    data["created_at"] = pd.to_datetime(data["created_at"], utc=True)
    data = data.sort_values(["audience", "created_at", "version"]).reset_index(drop=True)
    return Frame(SOURCE, data, data["created_at"].max().to_pydatetime())
