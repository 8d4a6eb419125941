"""``make docs``: the dbt docs site for analysts, built from the current warehouse.

``dbt docs generate`` writes ``index.html``, ``manifest.json`` and ``catalog.json`` into
the output folder; open ``index.html`` through ``dbt docs serve`` or any static server
(browsers refuse to fetch the JSON files from ``file://``). It reads the warehouse, so it
runs under the writer lock (dbt-duckdb opens the file read-write).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from orchestration.components.warehouse_dbt import warehouse_env
from orchestration.dbt import dbt_executable, dbt_project
from orchestration.loads.warehouse import writer_lock
from orchestration.settings import PipelineSettings

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)["']""")
LOOPBACK = ("//[::1]", "//localhost", "//127.0.0.1")


def build_docs(output: Path | None = None) -> tuple[Path, list[str]]:
    """Generate the docs site; returns its folder and the external URLs index.html loads."""
    settings = PipelineSettings()
    output = (output or settings.shop.resolved_home / "docs" / "dbt").resolve()
    output.mkdir(parents=True, exist_ok=True)
    with warehouse_env(), writer_lock(settings.resolved_warehouse_path):
        subprocess.run(
            [dbt_executable(), "docs", "generate", "--target-path", str(output), "--quiet"],
            cwd=dbt_project.project_dir,
            check=True,
        )
    return output, external_urls(output / "index.html")


def external_urls(index: Path) -> list[str]:
    """URLs the page would fetch from the network (scripts, styles, fonts)."""
    if not index.exists():
        return []
    found = EXTERNAL_URL.findall(index.read_text(encoding="utf-8", errors="replace"))
    return sorted({url for url in found if not any(host in url for host in LOOPBACK)})


if __name__ == "__main__":
    folder, urls = build_docs()
    print(f"dbt docs: {folder / 'index.html'}")
    print(f"  serve:  cd {folder} && python -m http.server 8081 --bind 127.0.0.1")
    for url in urls:
        print(f"  note: index.html references {url}")
    if urls:
        print(
            "  (dbt's Snowplow tracker, loaded only when the manifest says "
            "send_anonymous_usage_stats: true; dbt_project.yml sets it false)"
        )
