"""The instance settings: one warehouse writer at a time on DuckDB, no pool limit on Spark;
the Celery executor's settings come in pairs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.instance import INSTANCE_CONFIG, write_instance_config
from orchestration.settings import PipelineSettings


def pool_limit(home: Path) -> int | None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.get_concurrency_config().pool_config.default_pool_limit


def test_duckdb_keeps_one_writer_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MERCADO_WAREHOUSE", raising=False)

    config = write_instance_config(tmp_path, PipelineSettings())

    assert config.read_text() == INSTANCE_CONFIG.read_text()
    assert pool_limit(tmp_path) == 1


def test_spark_lifts_the_pool_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MERCADO_WAREHOUSE", "spark")

    write_instance_config(tmp_path, PipelineSettings())

    assert pool_limit(tmp_path) is None
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        run_queue = instance.get_concurrency_config().run_queue_config
        assert run_queue is not None and run_queue.max_concurrent_runs == 4
        assert not instance.telemetry_enabled


def test_switching_back_restores_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MERCADO_WAREHOUSE", "spark")
    write_instance_config(tmp_path, PipelineSettings())
    monkeypatch.setenv("MERCADO_WAREHOUSE", "duckdb")

    write_instance_config(tmp_path, PipelineSettings())

    assert pool_limit(tmp_path) == 1


def test_celery_needs_its_broker_and_backend_together(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MERCADO_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("MERCADO_CELERY_BACKEND_URL", raising=False)

    with pytest.raises(ValueError, match="MERCADO_CELERY_BACKEND_URL"):
        PipelineSettings()
