"""The figures a bench script reports, in the one shape ``bench/report.py`` reads.

Each script prints its own table; given ``--json PATH`` it also writes a JSON object
whose ``figures`` list holds records ``{figure, value, unit, target, meets}``, so the
runner can tabulate every script's figures without knowing any of them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured figure. ``target`` is the text of its target (None: context only);
    ``meets`` is None without a target, False when the target was missed or the
    measurement itself went wrong (errors, a failed run)."""

    figure: str
    value: float | None
    unit: str
    target: str | None = None
    meets: bool | None = None


def measured(
    figure: str,
    value: float | None,
    unit: str,
    *,
    below: float | None = None,
    at_least: float | None = None,
    ok: bool = True,
) -> Figure:
    """A figure checked against its target, ``below`` or ``at_least`` (in ``unit``).

    ``ok`` False (the run had errors or failed) makes ``meets`` False even without a
    target; a value that is missing or not finite never meets a target.
    """
    known = value is not None and math.isfinite(value)
    value = float(value) if known and value is not None else None
    target, meets = None, None
    if below is not None:
        target, meets = f"< {below:,g}{_spaced(unit)}", value is not None and value < below
    elif at_least is not None:
        target, meets = f">= {at_least:,g}{_spaced(unit)}", value is not None and value >= at_least
    if not ok:
        meets = False
    return Figure(figure, value, unit, target, meets)


def _spaced(unit: str) -> str:
    """``unit`` as it follows a number: ``80%``, ``1.5x``, ``100 ms``."""
    return unit if unit in ("%", "x") else f" {unit}"


def write_figures(path: Path, figures: list[Figure], **details: Any) -> None:
    """Write ``details`` (the script's own payload) with the ``figures`` records to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**details, "figures": [asdict(figure) for figure in figures]}
    path.write_text(json.dumps(payload, indent=2) + "\n")
