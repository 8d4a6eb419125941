"""Fixtures for the orchestration tests: one simulated shop, built once per test run.

``simulated_home`` simulates a small shop (200 shoppers x 10 days: a handful of paid
orders on several days) into a temporary ``MERCADO_HOME``; ``built_home`` is a copy of it
after ``mercado pipeline run`` (both in subprocesses with that home). They are shared by
the xdist workers through file locks, and tests only read them; tests that change data
work on ``home_copy`` / ``simulated_copy``, private copies, with ``MERCADO_HOME``
pointing at them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import Engine, create_engine

SHOPPERS = 200
DAYS = 10
ENV_KEYS = ("MERCADO_HOME", "MERCADO_DATABASE_URL", "MERCADO_WAREHOUSE_PATH", "DAGSTER_HOME")


@dataclass(frozen=True)
class Home:
    """A MERCADO_HOME with its shop database, lake and warehouse."""

    path: Path

    @property
    def lake(self) -> Path:
        return self.path / "lake"

    @property
    def warehouse(self) -> Path:
        return self.path / "warehouse.duckdb"

    @property
    def shop_url(self) -> str:
        return f"sqlite:///{self.path / 'shop.db'}"

    def shop_engine(self) -> Engine:
        return create_engine(self.shop_url)

    def read(self) -> duckdb.DuckDBPyConnection:
        conn = duckdb.connect(str(self.warehouse), read_only=True)
        conn.execute("set TimeZone = 'UTC'")
        return conn


def home_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env["MERCADO_HOME"] = str(home)
    env["MERCADO_LOG_JSON"] = "false"
    return env


def mercado(home: Path, *args: str, log: Path) -> int:
    """Run ``mercado <args>`` with MERCADO_HOME=home, output appended to ``log``."""
    with log.open("a") as out:
        return subprocess.call(
            [sys.executable, "-m", "mercado_cli.main", *args],
            env=home_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _shared_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    root = tmp_path_factory.getbasetemp()
    return root.parent if worker_id != "master" else root


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dbt parse`` once per worker, as ``make test`` and ``make demo`` do it themselves."""
    from orchestration.dbt import prepare_dbt_manifest

    with pytest.MonkeyPatch.context() as patch:
        for key in ENV_KEYS:
            patch.delenv(key, raising=False)
        patch.setenv("MERCADO_HOME", str(tmp_path_factory.mktemp("dbt-parse-home")))
        return prepare_dbt_manifest()


COPY_IGNORE = shutil.ignore_patterns("media", "logs", "dbt", "*.log", "*.lock", "docs")


@pytest.fixture(scope="session")
def simulated_home(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Home:
    """The simulated shop (database and lake), before any pipeline run; read-only."""
    root = _shared_root(tmp_path_factory, worker_id)
    base = root / "orchestration-sim"
    with _exclusive(root / "orchestration-sim.lock"):
        if not (base / "simulated").exists():
            base.mkdir(parents=True, exist_ok=True)
            args = ("--shoppers", str(SHOPPERS), "--days", str(DAYS), "--home", str(base))
            if mercado(base, "simulate", *args, log=base / "simulate.log") != 0:
                raise RuntimeError(f"simulation failed; see {base / 'simulate.log'}")
            (base / "simulated").touch()
    return Home(base)


@pytest.fixture(scope="session")
def built_home(
    simulated_home: Home, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Home:
    """The simulated shop after one ``mercado pipeline run``; read-only for tests."""
    root = _shared_root(tmp_path_factory, worker_id)
    base = root / "orchestration-home"
    with _exclusive(root / "orchestration-home.lock"):
        if not (base / "pipeline.exit").exists():
            shutil.rmtree(base, ignore_errors=True)
            shutil.copytree(simulated_home.path, base, ignore=COPY_IGNORE)
            code = mercado(base, "pipeline", "run", log=base / "build.log")
            (base / "pipeline.exit").write_text(str(code))
    return Home(base)


def _private_copy(source: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    target = tmp_path / "home"
    shutil.copytree(source.path, target, ignore=COPY_IGNORE)
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MERCADO_HOME", str(target))
    return Home(target)


@pytest.fixture
def simulated_copy(simulated_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A private copy of the simulated shop (no warehouse yet), MERCADO_HOME set to it."""
    return _private_copy(simulated_home, tmp_path, monkeypatch)


@pytest.fixture
def home_copy(built_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A private copy of the built home, with MERCADO_HOME pointing at it."""
    return _private_copy(built_home, tmp_path, monkeypatch)


def checksum(conn: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> tuple:
    """(rows, order-independent hash of every column except load timestamps)."""
    schema, name = table.split(".")
    columns = [
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        if not row[0].startswith("_") and row[0] not in ("loaded_at", "dbt_loaded_at")
    ]
    hashed = ", ".join(f'"{c}"::varchar' for c in columns)
    return tuple(
        conn.execute(
            f"select count(*), coalesce(sum(hash({hashed})), 0) from {table} where {where}"
        ).fetchall()[0]
    )


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/mercado"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
