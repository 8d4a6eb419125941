"""``DbtProjectComponent`` that writes the DuckDB warehouse through its single-writer lock.

dbt-duckdb opens the warehouse file itself, so the component takes the same lock as the
raw loads before it starts dbt, and points dbt at the absolute warehouse path (the
profile would otherwise resolve a relative ``MERCADO_HOME`` from dbt's own directory).
With ``MERCADO_WAREHOUSE=spark`` dbt runs the profile's ``spark`` target instead, and the
tables it built are then linked into the warehouse file as views (``link_spark_build``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import dagster_dbt.core.dbt_event_iterator
from dagster_dbt import DbtCliResource, DbtProject, DbtProjectComponent

from orchestration.components.dbt_translation import apply_naming
from orchestration.loads.parquet import link_spark_tables
from orchestration.loads.warehouse import open_writer, writer_lock
from orchestration.settings import PipelineSettings

T = TypeVar("T")
R = TypeVar("R")


def _waiting_imap(executor: Executor, iterable: Iterator[T], func: Callable[[T], R]) -> Iterator[R]:
    """dagster's ``imap`` (results in order while the input is still being read) without its
    busy loop: dagster-dbt's metadata steps (row counts) hold the whole dbt invocation on
    DuckDB, and dagster's version spins a core re-checking an empty queue all that time,
    taking it from dbt itself. This one sleeps until the reader thread has news."""
    work: deque[Future[R]] = deque()

    def read() -> None:
        for item in iterable:
            work.append(executor.submit(func, item))

    reader = executor.submit(read)
    while True:
        if work:
            yield work[0].result()
            work.popleft()
        elif reader.done():
            if not work:
                break
        else:
            wait([reader], timeout=0.01)
    error = reader.exception()
    if error:
        raise error


dagster_dbt.core.dbt_event_iterator.imap = _waiting_imap  # type: ignore[attr-defined]


def dbt_target_dir(settings: PipelineSettings) -> Path:
    """``$MERCADO_HOME/dbt/target``: dbt runs, logs and parse cache for this warehouse."""
    return settings.shop.resolved_home / "dbt" / "target"


def spark_env(settings: PipelineSettings) -> dict[str, str]:
    """The ``MERCADO_SPARK_*`` variables the profile's ``spark`` target reads."""
    return {
        "MERCADO_SPARK_MASTER": settings.spark_master,
        "MERCADO_SPARK_DRIVER_HOST": settings.spark_driver_host,
        "MERCADO_SPARK_DRIVER_MEMORY": settings.spark_driver_memory,
        "MERCADO_SPARK_EXECUTOR_MEMORY": settings.spark_executor_memory,
        "MERCADO_SPARK_SHUFFLE_PARTITIONS": str(settings.spark_shuffle_partitions),
        "MERCADO_SPARK_DBT_THREADS": str(settings.spark_dbt_threads),
        "MERCADO_SPARK_DIR": str(settings.resolved_spark_dir),
    }


@contextlib.contextmanager
def warehouse_env(indirect_selection: str | None = None) -> Iterator[None]:
    """While dbt runs: point it at exactly the warehouse the loads write, and select only
    tests that can run (``indirect_selection`` overrides the rule below); the process
    environment is restored afterwards."""
    settings = PipelineSettings()
    values = {
        "MERCADO_WAREHOUSE_PATH": str(settings.resolved_warehouse_path),
        "MERCADO_HOME": str(settings.shop.resolved_home),
        # the profile's target (the warehouse engine) and the settings of each engine: the
        # loads' DuckDB memory limit, threads and spill folder; Spark's master and sizes
        "DBT_TARGET": settings.warehouse,
        "MERCADO_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "MERCADO_DUCKDB_THREADS": str(settings.duckdb_threads),
        **spark_env(settings),
        # dbt's artefacts and partial-parse state live with the warehouse they describe:
        # the profile (the warehouse path) is part of dbt's parse cache key, so a target
        # folder shared between homes would force a full re-parse on every run.
        "DBT_TARGET_PATH": str(dbt_target_dir(settings)),
        # Dagster splits dbt into several steps (unpartitioned models, then partitioned
        # ones). A test over two models runs in the step that builds the later of them
        # ("buildable"), never before the other exists (dbt's "eager").
        "DBT_INDIRECT_SELECTION": indirect_selection
        or os.environ.get("DBT_INDIRECT_SELECTION", "buildable"),
        # Plain text: dbt's messages end up in check metadata and log files, where colour
        # codes show as raw escape sequences.
        "DBT_USE_COLORS": "false",
        "DBT_USE_COLORS_FILE": "false",
    }
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def known_dbt_version(dbt: DbtCliResource) -> DbtCliResource:
    """``dbt`` told the dbt version installed beside this Python, when it runs that dbt.

    dagster-dbt asks ``dbt --version`` of every resource it invokes dbt with (the dbt
    component makes one per step): a dbt start-up, seconds of CPU, to learn what the
    installed ``dbt-core`` package already says. The answer goes where dagster-dbt caches
    its own (its ``_cli_version`` cached property); with another dbt, it still asks."""
    from dbt.version import __version__
    from packaging.version import Version

    beside = Path(sys.executable).parent / "dbt"
    found = shutil.which(dbt.dbt_executable)
    if beside.exists() and found is not None and Path(found).resolve() == beside.resolve():
        dbt.__dict__.setdefault("_cli_version", Version(__version__))
    return dbt


@contextlib.contextmanager
def released_dbt_adapter() -> Iterator[None]:
    """Close the in-process dbt adapter's warehouse handle when dbt's events are consumed.

    ``fetch_row_counts`` counts rows through a read-only DuckDB connection in this process
    (after dbt has exited, DuckDB allowing one process per file); left open, it would make
    the next dbt invocation fail to take the warehouse for writing."""
    try:
        yield
    finally:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
        from dbt.adapters.factory import cleanup_connections

        cleanup_connections()
        # dagster-dbt's DuckDB profile keeps the database open past its last cursor
        with contextlib.suppress(Exception):
            DuckDBConnectionManager.env().close()
        DuckDBConnectionManager.close_all_connections()


def link_spark_build(settings: PipelineSettings) -> None:
    """After dbt on Spark: its tables become views in the warehouse file, for the readers."""
    if settings.warehouse == "spark":
        with open_writer(settings.resolved_warehouse_path) as conn:
            link_spark_tables(conn, settings.resolved_spark_dir)


@dataclass
class WarehouseDbtProjectComponent(DbtProjectComponent):
    """The dbt project as assets; runs hold the warehouse writer lock."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        return apply_naming(spec, self.get_resource_props(manifest, unique_id))

    def execute(self, context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        settings = PipelineSettings()
        with (
            warehouse_env(),
            writer_lock(settings.resolved_warehouse_path),
            released_dbt_adapter(),
        ):
            if settings.warehouse == "spark":
                # row counts would start a second Spark beside dbt's (and its metastore)
                yield from (
                    known_dbt_version(dbt).cli(self.get_cli_args(context), context=context).stream()
                )
            else:
                yield from super().execute(context, known_dbt_version(dbt))
        link_spark_build(settings)
