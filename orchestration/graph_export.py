"""The marketplace graph as Amazon Neptune bulk-load (Gremlin) CSV files.

``marts.neptune_vertices`` and ``marts.neptune_edges`` already carry Neptune's headers
(``~id``, ``~label``, ``<property>:<type>``); this writes each to ``vertices.csv`` and
``edges.csv``, ready to upload to S3 for a Neptune loader job (format csv). Each file is
written beside its final name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

NEPTUNE_FILES = {"vertices": "marts.neptune_vertices", "edges": "marts.neptune_edges"}


@dataclass(frozen=True)
class ExportedFile:
    kind: str
    path: Path
    rows: int


def write_neptune_files(conn: duckdb.DuckDBPyConnection, directory: Path) -> list[ExportedFile]:
    """Write the two graph marts as CSV files (ordered by ``~id``) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, table in NEPTUNE_FILES.items():
        path = directory / f"{kind}.csv"
        staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        conn.execute(
            f"copy (select * from {table} order by 1) to '{staged}' (format csv, header true)"
        )
        os.replace(staged, path)
        [(rows,)] = conn.execute(f"select count(*) from {table}").fetchall()
        written.append(ExportedFile(kind, path.resolve(), rows))
    return written
