"""The dbt project and its manifest, prepared by our own commands.

``dagster dev`` re-parses dbt on every load (``prepare_if_dev``); everywhere else
(``make demo``, ``make test``, ``mercado pipeline run``, CI) calls
``prepare_dbt_manifest`` first, which runs ``dbt parse`` into ``dbt_project/target`` and
drops any copy an earlier ``dagster dev`` left in ``defs/.local_defs_state``, so the code
location always reads the current manifest. It skips ``dbt parse`` when nothing dbt parses
has changed since the last parse for the same warehouse: even a partial parse that finds
nothing to do costs a dbt start-up (seconds of CPU), once per pipeline run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from orchestration.settings import DBT_PROJECT_DIR


def dbt_executable() -> str:
    """The dbt installed beside this Python (``.venv/bin/dbt``), else ``dbt`` on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def _put_dbt_on_path() -> None:
    """dagster-dbt's preparer calls plain ``dbt``: make it resolve when the venv is not
    activated (``.venv/bin/python -m ...``)."""
    bindir = str(Path(sys.executable).parent)
    if shutil.which("dbt") is None and (Path(bindir) / "dbt").exists():
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


_put_dbt_on_path()
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
LOCAL_STATE_DIR = Path(__file__).parent / "defs" / ".local_defs_state"
# The dbt models Dagster runs as daily partitions: the incremental event models, and the
# models tagged ``daily_partitioned`` that sit between them (a view over all events that an
# incremental model reads). Were such a model unpartitioned, Dagster would have to run dbt
# once more before and after it, and every dbt invocation costs seconds of start-up.
PARTITIONED_SELECTOR = "config.materialized:incremental tag:daily_partitioned"


# Written beside the parse's own manifest: what that parse read (``parse_inputs``).
PARSE_STAMP = "mercado-parse.json"
# Folders of the project dbt writes to (or installs packages into) rather than reads.
NOT_PARSED = {"target", "logs", "dbt_packages", "dbt_internal_packages"}


def parse_inputs(project_dir: Path) -> str:
    """A digest of what ``dbt parse`` reads: the project's files, the dbt version and the
    ``MERCADO_*``/``DBT_*`` environment (``env_var`` in the profile and models, dbt's flags).
    Call it inside ``warehouse_env()``, the environment dbt parses in."""
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(f"dbt {dbt_version}\n".encode())
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if relative.parts[0] in NOT_PARSED or not path.is_file():
            continue
        digest.update(f"{relative.as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for key, value in sorted(os.environ.items()):
        if key.startswith(("MERCADO_", "DBT_")):
            digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def prepare_dbt_manifest() -> Path:
    """Parse the dbt project now (no warehouse connection needed) and return the manifest.

    ``dbt parse`` runs into ``$MERCADO_HOME/dbt/target`` (which seeds partial parsing for
    the runs against this warehouse); the manifest is then copied atomically to
    ``dbt_project/target/manifest.json``, where the code location reads it. When the last
    parse into that folder read the same inputs (``parse_inputs``) and its manifest is the
    one in place, there is nothing to parse and dbt is not started.
    """
    from orchestration.components.warehouse_dbt import dbt_target_dir, warehouse_env
    from orchestration.settings import PipelineSettings

    target = dbt_target_dir(PipelineSettings())
    target.mkdir(parents=True, exist_ok=True)
    manifest = dbt_project.manifest_path
    stamp = target / PARSE_STAMP
    with warehouse_env():
        inputs = parse_inputs(dbt_project.project_dir)
        try:
            last = json.loads(stamp.read_text())
        except (OSError, ValueError):
            last = {}
        current = last.get("inputs") == inputs and (target / "partial_parse.msgpack").exists()
        if not current or last.get("manifest") != _file_digest(manifest):
            stamp.unlink(missing_ok=True)
            subprocess.run(
                [dbt_executable(), "parse", "--quiet", "--target-path", str(target)],
                cwd=dbt_project.project_dir,
                check=True,
            )
            manifest.parent.mkdir(parents=True, exist_ok=True)
            staged = manifest.with_name(f".manifest-{os.getpid()}.json")
            shutil.copyfile(target / "manifest.json", staged)
            os.replace(staged, manifest)
            record = {"inputs": inputs, "manifest": _file_digest(target / "manifest.json")}
            stamp.write_text(json.dumps(record))
    if LOCAL_STATE_DIR.exists():
        for stale in LOCAL_STATE_DIR.glob("DbtProjectComponent*"):
            shutil.rmtree(stale, ignore_errors=True)
    return manifest


def ensure_dbt_manifest() -> Path:
    """Parse only when no manifest exists yet (first load on a fresh clone)."""
    dbt_project.prepare_if_dev()
    if not dbt_project.manifest_path.exists():
        return prepare_dbt_manifest()
    return dbt_project.manifest_path


def load_manifest() -> dict[str, Any]:
    return json.loads(ensure_dbt_manifest().read_text())


def partitioned_models(manifest: dict[str, Any]) -> list[str]:
    """Names of the models ``PARTITIONED_SELECTOR`` picks (daily partitions in Dagster)."""
    return sorted(
        node["name"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
        and (
            node.get("config", {}).get("materialized") == "incremental"
            or "daily_partitioned" in node.get("tags", [])
        )
    )


if __name__ == "__main__":
    print(f"dbt manifest: {prepare_dbt_manifest()}")
