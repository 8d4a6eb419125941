"""The demo's last chapter in one process: ``mercado pipeline run --full-refresh``, then
``mercado audiences refresh``, then ``make docs``, as those commands run them. In a process
each, they paid Python's, Dagster's and the code location's start-up three times.

``python -m mercado_cli.demo_build REPORT [--docs]`` (with the demo's ``MERCADO_*``
environment) writes to REPORT, as JSON, each step's wall and CPU seconds (child processes
included), the step that failed if one did, and the docs folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PIPELINE = "pipeline, every asset"
AUDIENCES = "audiences"
DOCS = "dbt docs"


def cpu_seconds() -> float:
    """CPU of this process and of its child processes that have ended (the API server,
    the pipeline and training runs, dbt, the simulator's collect process)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class BuildReport:
    """What the chapter did: (step, wall s, CPU s) in order, the failure, the docs."""

    steps: list[tuple[str, float, float]] = field(default_factory=list)
    failed: str | None = None
    docs: str | None = None

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"steps": self.steps, "failed": self.failed, "docs": self.docs}))

    @classmethod
    def read(cls, path: Path) -> BuildReport:
        data: dict[str, Any] = json.loads(path.read_text())
        steps = [(str(name), float(wall), float(cpu)) for name, wall, cpu in data["steps"]]
        return cls(steps=steps, failed=data.get("failed"), docs=data.get("docs"))


def build(docs: bool) -> BuildReport:
    """Every asset with the shop tables reloaded, every audience published, the docs site
    (when ``docs``), stopping at the first step that fails."""
    from rich.console import Console

    from mercado_cli.audiences import refresh_and_report
    from mercado_cli.pipeline import run_and_report, stdout_console
    from orchestration.docs import build_docs

    console: Console = stdout_console()
    report = BuildReport()
    mark, cpu = time.monotonic(), cpu_seconds()

    def done(step: str) -> None:
        nonlocal mark, cpu
        now, used = time.monotonic(), cpu_seconds()
        report.steps.append((step, now - mark, used - cpu))
        mark, cpu = now, used

    if run_and_report(full_refresh=True) != 0:
        report.failed = "the pipeline did not succeed"
        return report
    done(PIPELINE)
    console.print(
        "\n[bold]Publishing the campaign audiences (mercado audiences refresh): members with "
        "both ad consents, hashed for Customer Match, with adds and removes[/bold]"
    )
    if refresh_and_report() != 0:
        report.failed = "the audiences were not all published"
        return report
    done(AUDIENCES)
    if docs:
        with console.status("[bold]Building the dbt docs site (dbt docs generate)[/bold]"):
            try:
                folder, _ = build_docs()
            except Exception as exc:  # the demo goes on without the docs site
                console.print(f"[yellow]dbt docs: not built ({exc}; make docs shows why)[/yellow]")
            else:
                report.docs = str(folder)
                console.print(f"dbt docs built: {folder / 'index.html'}", highlight=False)
        done(DOCS)
    return report


def main(argv: list[str]) -> int:
    report_path = Path(argv[0])
    report = build(docs="--docs" in argv[1:])
    report.write(report_path)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
