"""The demo's table of phases: the last chapter's steps, measured in its child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercado_cli import demo
from mercado_cli.demo_build import BuildReport


def test_a_child_processes_steps_are_phases_and_its_start_up_counts_with_the_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clock = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(demo.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(demo, "cpu_seconds", lambda: clock["cpu"])
    phases = demo.Phases()
    BuildReport(
        steps=[("pipeline, every asset", 50.0, 40.0), ("audiences", 8.0, 6.0)], docs="/d"
    ).write(tmp_path / "build.json")
    report = BuildReport.read(tmp_path / "build.json")
    clock.update(wall=165.0, cpu=60.0)  # the child ran 65 s and used 50 s of CPU

    phases.done_in_child(report.steps, rest="pipeline, every asset")

    assert phases.seconds == {"pipeline, every asset": (57.0, 44.0), "audiences": (8.0, 6.0)}
    assert report.docs == "/d" and report.failed is None
