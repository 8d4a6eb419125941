"""Smoke test: dagster-webserver serves the code location on loopback, and its GraphQL API
lists the asset graph (raw loads and dbt marts), the schedules and the sensor."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from orchestration.dbt import dbt_project

pytestmark = pytest.mark.slow
ROOT = dbt_project.project_dir.parent
QUERY = """
{
  assetNodes { assetKey { path } }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name schedules { name } sensors { name } } }
  }
}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webserver_serves_the_asset_graph(tmp_path: Path, dbt_manifest: Path) -> None:
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", dagster_home / "dagster.yaml")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "MERCADO_HOME": str(tmp_path)}
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
         "-m", "orchestration.definitions"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        data = None
        answer = ""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10
                )
                answer = response.text[:2000]
                data = response.json().get("data")
                if data and data["assetNodes"]:
                    break
            except (httpx.HTTPError, KeyError, ValueError, TypeError):
                pass
            time.sleep(1)
        log_text = (tmp_path / "webserver.log").read_text()[-3000:]
        assert data and data["assetNodes"], f"{answer}\n{log_text}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert {"raw/events", "raw/events_bad", "raw/shop_orders"} <= keys
    assert {"marts/fct_orders", "marts/dim_customers"} <= keys
    repositories = data["repositoriesOrError"]["nodes"]
    schedules = {s["name"] for repo in repositories for s in repo["schedules"]}
    sensors = {s["name"] for repo in repositories for s in repo["sensors"]}
    assert {"hourly_refresh_schedule", "daily_full_build_schedule"} <= schedules
    assert "landing_zone_sensor" in sensors
