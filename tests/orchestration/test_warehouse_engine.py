"""The warehouse engine is configuration: MERCADO_WAREHOUSE picks dbt's target, and Spark's
settings reach the profile, so the same code points at local[*] or a cluster."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from orchestration.components.warehouse_dbt import warehouse_env
from orchestration.defs.resources import build_resources
from orchestration.settings import DBT_PROJECT_DIR, PipelineSettings
from tests.orchestration.conftest import ENV_KEYS


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in (*ENV_KEYS, "MERCADO_WAREHOUSE", "DBT_TARGET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    return tmp_path


def test_duckdb_is_the_default_engine(home: Path) -> None:
    with warehouse_env():
        assert os.environ["DBT_TARGET"] == "duckdb"
    warehouse = build_resources()["warehouse"]
    assert not warehouse.on_spark  # type: ignore[attr-defined]


def test_spark_settings_reach_the_dbt_profile(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERCADO_WAREHOUSE", "spark")
    monkeypatch.setenv("MERCADO_SPARK_MASTER", "spark://spark-master:7077")
    monkeypatch.setenv("MERCADO_SPARK_SHUFFLE_PARTITIONS", "64")
    monkeypatch.setenv("MERCADO_SPARK_DRIVER_MEMORY", "6g")
    monkeypatch.setenv("MERCADO_SPARK_DBT_THREADS", "16")
    with warehouse_env():
        assert os.environ["DBT_TARGET"] == "spark"
        assert os.environ["MERCADO_SPARK_MASTER"] == "spark://spark-master:7077"
        assert os.environ["MERCADO_SPARK_SHUFFLE_PARTITIONS"] == "64"
        assert os.environ["MERCADO_SPARK_DRIVER_MEMORY"] == "6g"
        assert os.environ["MERCADO_SPARK_DBT_THREADS"] == "16"
        assert os.environ["MERCADO_SPARK_DIR"] == str(home.resolve() / "spark")
    assert "MERCADO_SPARK_MASTER" in os.environ  # the test's own setting, restored
    assert "DBT_TARGET" not in os.environ
    warehouse = build_resources()["warehouse"]
    assert warehouse.on_spark  # type: ignore[attr-defined]
    assert warehouse.spark_dir == str(PipelineSettings().resolved_spark_dir)  # type: ignore[attr-defined]


def test_an_unknown_engine_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERCADO_WAREHOUSE", "snowflake")
    with pytest.raises(ValueError, match="duckdb"):
        PipelineSettings()


def test_every_relation_the_readers_read_is_a_table_on_spark(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Spark only tables (Parquet folders) are linked into the DuckDB file, so a model
    a DuckDB reader queries must not be a Spark view (found by ``bench/pipeline.py
    --engines spark``: the profiles asset failed on ``staging.stg_raw__questions``)."""
    from ml.profiles.inputs import READS
    from orchestration.dbt import dbt_executable

    monkeypatch.setenv("MERCADO_WAREHOUSE", "spark")
    target = home / "dbt-target"
    with warehouse_env():
        subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--target-path", str(target)],
            cwd=DBT_PROJECT_DIR,
            check=True,
        )
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    materialized = {
        f"{node['schema']}.{node['name']}": node["config"]["materialized"]
        for node in nodes
        if node["resource_type"] == "model"
    }

    read = {relation for relation, _ in READS.values()}
    assert {materialized[relation] for relation in read} <= {"table", "incremental"}
    assert sorted(relation for relation, kind in materialized.items() if kind == "view") == []
