"""The Celery executor (the ``scale`` extra): a real worker on the local Redis broker runs
the steps of an ingest + dbt run, launched with ``dagster asset materialize`` against a
code location configured by ``MERCADO_CELERY_*`` alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dbt import dbt_project
from orchestration.pipeline import pipeline_instance
from orchestration.settings import PipelineSettings
from shop_api.tracking.events import validate_event
from shop_api.tracking.lake import LandingZone
from tests.orchestration.conftest import home_env
from tests.tracking.conftest import make_event

pytest.importorskip("dagster_celery")
pytestmark = pytest.mark.slow
ROOT = dbt_project.project_dir.parent
BROKER = os.environ.get("MERCADO_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/11")
# Ingest (one day of events, a shop table) and dbt (the staging model of that table, with
# its tests). The events' own staging models are left out: their tests read the marts.
ASSETS = [
    dg.AssetKey(["raw", "events"]),
    dg.AssetKey(["raw", "shop_erasure_records"]),
    dg.AssetKey(["staging", "stg_raw__erasure_records"]),
]


def broker_unavailable() -> str | None:
    host, port = BROKER.split("//", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        return f"no Celery broker at {BROKER}: {exc}"
    return None


def worker_of(metadata: Mapping[str, object]) -> str | None:
    """The Celery worker an engine event names (without its ``@host``)."""
    worker = metadata.get("Celery worker")
    return str(getattr(worker, "text", worker)).split("@")[0] if worker else None


def wait_for(log: Path, text: str, worker: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        assert worker.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in the worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.skipif(broker_unavailable() is not None, reason=str(broker_unavailable()))
def test_a_celery_worker_runs_the_ingest_and_dbt_steps(tmp_path: Path, dbt_manifest: Path):
    home = tmp_path / "home"
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    events = []
    for name in ("page_view", "view_item", "add_to_cart"):
        event, reasons = validate_event(make_event(name, event_time=f"{day}T12:00:00+00:00"))
        assert event is not None, reasons
        events.append(event)
    LandingZone(home / "lake").write_events(events, datetime.now(UTC))
    env = {
        **home_env(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "MERCADO_CELERY_BROKER_URL": BROKER,
        "MERCADO_CELERY_BACKEND_URL": BROKER,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with pytest.MonkeyPatch.context() as patch:  # the instance the run and worker share
        patch.setenv("MERCADO_HOME", str(home))
        patch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
        pipeline_instance(PipelineSettings()).dispose()

    name = f"mercado-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "dagster_celery.cli", "worker", "start",
             "-A", "dagster_celery.app", "-y", "orchestration/celery.yaml", "-n", name,
             "--", "--concurrency", "1", "--purge"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(log, "ready.", worker, 180)
        run = subprocess.run(
            [sys.executable, "-m", "dagster", "asset", "materialize",
             "-m", "orchestration.definitions", "--partition", day,
             "--select", ",".join(key.to_user_string() for key in ASSETS)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    try:
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        for key in ASSETS:
            assert instance.get_latest_materialization_event(key) is not None, key
        in_worker = {
            entry.step_key
            for entry in instance.all_logs(record.dagster_run.run_id)
            if entry.dagster_event is not None
            and entry.dagster_event.is_engine_event
            and worker_of(entry.dagster_event.engine_event_data.metadata) == name
        }
    finally:
        instance.dispose()
    # the two raw loads and the dbt step (checks run in steps of their own, also there)
    assert {"raw__events", "raw_shop_tables", "dbt_models"} <= in_worker, in_worker
