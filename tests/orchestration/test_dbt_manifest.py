"""``prepare_dbt_manifest`` starts dbt only when something dbt parses has changed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dagster_dbt import DbtProject

from orchestration import dbt as dbt_module
from orchestration.settings import DBT_PROJECT_DIR


@pytest.fixture
def parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """A copy of the dbt project, a fresh home, and a stand-in ``dbt parse`` that writes a
    manifest naming the project's models (the commands it was given are returned)."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(dbt_module, "dbt_project", DbtProject(project_dir=project))
    monkeypatch.setattr(dbt_module, "LOCAL_STATE_DIR", tmp_path / "no-local-state")
    for key in ("MERCADO_WAREHOUSE_PATH", "MERCADO_DATABASE_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path / "home"))
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        commands.append(command)
        target = Path(command[command.index("--target-path") + 1])
        models = sorted(p.stem for p in (project / "models").rglob("*.sql"))
        (target / "manifest.json").write_text(json.dumps({"models": models}))
        (target / "partial_parse.msgpack").write_bytes(b"state")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(dbt_module.subprocess, "run", fake_run)
    return commands


def test_a_second_prepare_with_nothing_changed_does_not_start_dbt(parses: list[list[str]]):
    first = dbt_module.prepare_dbt_manifest()
    second = dbt_module.prepare_dbt_manifest()

    assert len(parses) == 1 and parses[0][1] == "parse"
    assert first == second and "stg_raw__events" in first.read_text()


def test_a_changed_model_is_parsed_again(parses: list[list[str]]):
    dbt_module.prepare_dbt_manifest()
    models = dbt_module.dbt_project.project_dir / "models"
    (models / "staging" / "raw" / "stg_new_model.sql").write_text("select 1 as id\n")

    manifest = dbt_module.prepare_dbt_manifest()

    assert len(parses) == 2
    assert "stg_new_model" in manifest.read_text()


def test_another_warehouse_is_parsed_again(parses: list[list[str]], tmp_path: Path, monkeypatch):
    """The warehouse path is in the profile: dbt's own parse cache is keyed on it."""
    dbt_module.prepare_dbt_manifest()
    monkeypatch.setenv("MERCADO_WAREHOUSE_PATH", str(tmp_path / "other.duckdb"))

    dbt_module.prepare_dbt_manifest()

    assert len(parses) == 2


def test_a_manifest_replaced_by_another_home_is_parsed_again(
    parses: list[list[str]], tmp_path: Path
):
    manifest = dbt_module.prepare_dbt_manifest()
    manifest.write_text(json.dumps({"models": ["from another home"]}))

    dbt_module.prepare_dbt_manifest()

    assert len(parses) == 2
    assert "stg_raw__events" in manifest.read_text()


def test_a_windowed_build_starts_from_the_last_windowed_builds_parse_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """dbt's parse cache is keyed on --vars: seeded from `dbt parse` (no vars), every
    windowed build would parse the whole project again."""
    from orchestration.defs.transform_incremental.assets import keep_parse_state, seeded_target
    from orchestration.settings import PipelineSettings

    monkeypatch.setenv("MERCADO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MERCADO_WAREHOUSE_PATH", raising=False)
    settings = PipelineSettings()
    first = seeded_target(settings, "dbt_incremental_models-run1")
    assert not (first / "partial_parse.msgpack").exists()
    (first / "partial_parse.msgpack").write_bytes(b"parsed with the window's vars")
    keep_parse_state(settings, first)

    second = seeded_target(settings, "dbt_incremental_models-run2")

    assert second != first
    assert (second / "partial_parse.msgpack").read_bytes() == b"parsed with the window's vars"


def test_dbt_resources_know_the_installed_dbt_version_without_starting_dbt(monkeypatch):
    """dagster-dbt would start `dbt --version` for every resource it invokes dbt with."""
    from dagster_dbt import DbtCliResource
    from dagster_dbt.core import resource as dbt_resource
    from dbt.version import __version__
    from packaging.version import Version

    from orchestration.components.warehouse_dbt import known_dbt_version

    def no_dbt(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError(f"dbt started: {args}")

    monkeypatch.setattr(dbt_resource, "check_output", no_dbt)
    by_path = DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_module.dbt_executable()
    )
    on_path = DbtCliResource(project_dir=str(DBT_PROJECT_DIR))  # the dbt component's

    for resource in (by_path, on_path):
        assert known_dbt_version(resource)._cli_version == Version(__version__)
