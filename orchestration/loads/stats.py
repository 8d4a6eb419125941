"""What a load did, so every materialisation can report its cost (rows, bytes, seconds)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LoadStats:
    """Figures of one load: the table it wrote, rows in and out, and what it read."""

    table: str
    rows_loaded: int = 0
    rows_deleted: int = 0
    rows_in_table: int = 0
    files: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    partition: str | None = None
    mode: str = "replace"
    watermark: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, Any]:
        """Flat dict for Dagster metadata and CLI summaries (None values dropped)."""
        data = asdict(self)
        extra = data.pop("extra")
        return {k: v for k, v in {**data, **extra}.items() if v is not None}
