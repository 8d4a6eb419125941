"""Data Docs as one static page, rendered here rather than by GE's own site builder
(whose pages load their styles and scripts from a CDN): no network reference at all.

Each check saves its latest validation as JSON (``save_validation``); the page shows the
latest of each, failures first.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from expectations.results import Outcome

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#11772d}.warning{color:#a86500}.critical{color:#b00020}
code{font-size:12px;white-space:pre-wrap}
"""


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def save_validation(
    results_dir: Path,
    name: str,
    *,
    asset: str,
    suite_version: str,
    run_id: str,
    outcomes: list[Outcome],
) -> Path:
    """Record the latest validation of ``name`` (one check of one asset)."""
    path = results_dir / f"{name}.json"
    record = {
        "name": name,
        "asset": asset,
        "suite_version": suite_version,
        "run_id": run_id,
        "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "outcomes": [o.as_dict() for o in outcomes],
    }
    _write_atomic(path, json.dumps(record, default=str, indent=1))
    return path


def _cell(value: Any) -> str:
    if value is None or value == [] or value == "":
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return f"<code>{html.escape(text[:2000])}</code>"


def _status(outcome: dict[str, Any]) -> str:
    if outcome["success"]:
        return '<span class="ok">passed</span>'
    severity = html.escape(outcome["severity"])
    return f'<span class="{severity}">failed ({severity})</span>'


def render(records: list[dict[str, Any]]) -> str:
    records = sorted(records, key=lambda r: (all(o["success"] for o in r["outcomes"]), r["name"]))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Mercado data quality</title>",
        f"<style>{STYLE}</style></head><body><h1>Data quality</h1>",
        f"<p>Latest validation of each check; rendered {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>",
    ]
    for record in records:
        parts.append(
            f"<h2>{html.escape(record['name'])}</h2><p>asset <code>"
            f"{html.escape(record['asset'])}</code>, suite version "
            f"<code>{html.escape(str(record['suite_version']))}</code>, run "
            f"<code>{html.escape(str(record['run_id']))}</code>, "
            f"{html.escape(record['validated_at'])}</p>"
        )
        parts.append(
            "<table><tr><th>check</th><th>expectation</th><th>status</th><th>rows</th>"
            "<th>failing</th><th>observed</th><th>sample</th><th>note</th></tr>"
        )
        for o in sorted(record["outcomes"], key=lambda o: (o["success"], o["check"])):
            parts.append(
                f"<tr><td>{html.escape(o['check'])}</td><td>{html.escape(o['description'])}"
                f"</td><td>{_status(o)}</td><td>{_cell(o['element_count'])}</td>"
                f"<td>{_cell(o['unexpected_count'])}</td><td>{_cell(o['observed'])}</td>"
                f"<td>{_cell(o['sample'])}</td><td>{_cell(o['note'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def build_data_docs(results_dir: Path, site_dir: Path) -> Path:
    """Write ``site_dir/index.html`` from every saved validation (atomically)."""
    records = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    index = site_dir / "index.html"
    _write_atomic(index, render(records))
    return index
