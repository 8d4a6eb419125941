"""bench/pipeline.py with several warehouse engines: names, unavailable engines, targets.

The measurements themselves (minutes each) are not run here; these are the pieces that
decide what a run with ``--engines duckdb,spark`` reports.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bench.test_report import BENCH_DIR, load

sys.path.insert(0, str(BENCH_DIR))
pipeline = load("pipeline")


def run(kind: str, engine: str, size: str, seconds: float, **fields: Any) -> Any:
    history = pipeline.parse_size(size)
    values = {
        "kind": kind, "engine": engine, "size": size, "history_events": history,
        "new_events": history if kind == "full" else 2_300, "seconds": seconds,
        "process_seconds": seconds + 5, "parse_seconds": 3.0, "success": True,
        "peak_tree_rss_mb": 900.0, "python_rss_mb": 400.0, "dbt_rss_mb": 500.0,
        "cpu_seconds": seconds * 1.5, "machine_load_before": 0.1,
        "events_in_warehouse": history, "warehouse_mb": 100.0, "assets": 40,
        "checks_passed": 10,
    }  # fmt: skip
    return pipeline.Measurement(**{**values, **fields})


def by_name(results: list[Any]) -> dict[str, Any]:
    figures = pipeline.figures_of(results, pipeline.targets(results))
    return {figure.figure: figure for figure in figures}


def test_duckdb_figures_keep_their_names_and_other_engines_are_named() -> None:
    results = [
        run("full", "duckdb", "5M", 150.0),
        run("hourly", "duckdb", "5M", 20.0),
        run("full", "spark", "5M", 400.0),
        run("hourly", "spark", "5M", 60.0),
    ]

    figures = by_name(results)

    assert set(figures) == {
        "full build, 5M events",
        "full build peak memory, 5M events",
        "hourly run, 5M history",
        "full build, 5M events, spark",
        "full build peak memory, 5M events, spark",
        "hourly run, 5M history, spark",
    }
    assert figures["full build, 5M events"].meets is True
    # the same target for every engine
    assert figures["full build, 5M events, spark"].target == "< 180 s"
    assert figures["full build, 5M events, spark"].meets is False


def test_each_engine_has_its_own_hourly_ratio() -> None:
    results = [
        run("full", "duckdb", "1M", 40.0),
        run("hourly", "duckdb", "1M", 10.0),
        run("full", "duckdb", "20M", 900.0),
        run("hourly", "duckdb", "20M", 15.0),
        run("full", "spark", "1M", 120.0),
        run("hourly", "spark", "1M", 50.0),
        run("full", "spark", "20M", 1500.0),
        run("hourly", "spark", "20M", 150.0),
    ]

    figures = by_name(results)

    assert figures["hourly run, 20M / 1M history"].value == pytest.approx(1.5)
    assert figures["hourly run, 20M / 1M history"].meets is True
    assert figures["hourly run, 20M / 1M history, spark"].value == pytest.approx(3.0)
    assert figures["hourly run, 20M / 1M history, spark"].meets is False


def test_an_engine_that_cannot_run_is_reported_not_measured() -> None:
    reason = "Spark needs Java (make java)"
    results = [
        run("full", "duckdb", "5M", 150.0),
        pipeline.not_measured("full", "spark", "5M", 5_000_000, 5_000_000, reason),
        pipeline.not_measured("hourly", "spark", "5M", 5_000_000, 2_300, reason),
    ]

    figures = by_name(results)
    verdicts = pipeline.targets(results)

    spark = [f for name, f in figures.items() if name.endswith(", spark")]
    assert len(spark) == 3
    assert all(f.value is None and f.meets is False for f in spark)
    assert figures["full build, 5M events"].meets is True
    assert [v["met"] for v in verdicts if v["engine"] == "spark"] == [False, None]
    assert math.isnan(results[1].seconds)


def test_spark_without_java_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)

    assert pipeline.engine_missing("duckdb") is None
    reason = pipeline.engine_missing("spark")
    assert reason is not None and "Java" in reason


def test_an_unknown_engine_is_refused_before_anything_runs(tmp_path: Path) -> None:
    assert pipeline.main(["--engines", "duckdb,oracle", "--dir", str(tmp_path / "b")]) == 2
    assert not (tmp_path / "b").exists()
