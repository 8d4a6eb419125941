"""What an import did: rows read, loaded, skipped (already present) and rejected, per source
table, with the rejection reasons counted, plus what was written (database rows, files)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TableReport:
    """One source table (file). ``read == loaded + skipped + rejected`` once it is done."""

    name: str
    read: int = 0
    loaded: int = 0
    skipped: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    note: str = ""

    def reject(self, reason: str, rows: int = 1) -> None:
        self.rejected += rows
        self.reasons[reason] += rows

    @property
    def balanced(self) -> bool:
        return self.read == self.loaded + self.skipped + self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "loaded": self.loaded,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "note": self.note,
        }


@dataclass
class ImportReport:
    dataset: str
    source: Path
    tables: dict[str, TableReport] = field(default_factory=dict)
    # What the import wrote: database rows inserted per table, events and files landed.
    written: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableReport:
        if name not in self.tables:
            self.tables[name] = TableReport(name)
        return self.tables[name]

    @property
    def read(self) -> int:
        return sum(table.read for table in self.tables.values())

    @property
    def loaded(self) -> int:
        return sum(table.loaded for table in self.tables.values())

    @property
    def skipped(self) -> int:
        return sum(table.skipped for table in self.tables.values())

    @property
    def rejected(self) -> int:
        return sum(table.rejected for table in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": str(self.source),
            "tables": {name: table.to_dict() for name, table in self.tables.items()},
            "written": dict(self.written),
            "notes": list(self.notes),
        }

    def render(self) -> str:
        """A small plain-text table for the terminal."""
        headers = ("table", "read", "loaded", "skipped", "rejected")
        rows = [
            (t.name, str(t.read), str(t.loaded), str(t.skipped), str(t.rejected))
            for t in self.tables.values()
        ]
        rows.append(
            ("total", str(self.read), str(self.loaded), str(self.skipped), str(self.rejected))
        )
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

        def line(cells: tuple[str, ...]) -> str:
            first = cells[0].ljust(widths[0])
            rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
            return "  ".join([first, *rest]).rstrip()

        out = [f"import {self.dataset} from {self.source}", line(headers)]
        out.append("  ".join("-" * width for width in widths))
        out.extend(line(row) for row in rows)
        for table in self.tables.values():
            if table.note:
                out.append(f"{table.name}: {table.note}")
        rejected = [
            (t.name, reason, n) for t in self.tables.values() for reason, n in t.reasons.items()
        ]
        if rejected:
            out.append("rejected, by reason:")
            out.extend(
                f"  {name}: {n} x {reason}"
                for name, reason, n in sorted(rejected, key=lambda r: (r[0], -r[2], r[1]))
            )
        if self.written:
            out.append("written: " + ", ".join(f"{name} {n}" for name, n in self.written.items()))
        out.extend(self.notes)
        return "\n".join(out)
