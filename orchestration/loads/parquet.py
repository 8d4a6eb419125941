"""The warehouse on Spark: raw tables as Parquet datasets, Spark's tables seen from DuckDB.

With ``MERCADO_WAREHOUSE=spark`` the raw loads still load, deduplicate and scrub in the
DuckDB file (``raw.*`` and its load state), then write each raw table they changed as a
Parquet dataset under ``<spark dir>/raw/<table>/``, partitioned by day
(``event_date=YYYY-MM-DD/``) where the table has a day column. dbt's ``spark`` target
registers those datasets as the ``raw`` source (macro ``register_raw_sources``) and writes
its tables as Parquet under ``<spark dir>/warehouse/<schema>.db/<table>/``.
``link_spark_tables`` then makes every such table a view of the same name in the DuckDB
file, so readers (ML, audiences, dashboards, checks) keep reading ``marts.*`` through one
DuckDB connection whatever engine built them, and need no JVM.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from orchestration.loads.warehouse import RAW_SCHEMA

# Raw tables written partitioned by day, and their day column (the source's
# ``meta.partition_by`` in dbt_project/models/staging/raw/_raw__sources.yml).
RAW_DAY_COLUMNS = {"events": "event_date", "events_bad": "received_date"}
# Schemas dbt builds; on Spark their tables are Parquet under <schema>.db/.
DBT_SCHEMAS = ("staging", "intermediate", "marts")


def raw_root(spark_dir: Path) -> Path:
    return spark_dir / "raw"


def spark_warehouse_dir(spark_dir: Path) -> Path:
    """Spark's ``spark.sql.warehouse.dir`` (the profile's ``spark`` target sets the same)."""
    return spark_dir / "warehouse"


def _copy(conn: duckdb.DuckDBPyConnection, query: str, target: Path, options: str) -> None:
    conn.execute(f"copy ({query}) to '{target}' (format parquet{options})")


def write_raw_dataset(
    conn: duckdb.DuckDBPyConnection, spark_dir: Path, table: str, days: list[str] | None = None
) -> Path:
    """Write ``raw.<table>`` as the Parquet dataset ``<spark dir>/raw/<table>/``.

    A table with a day column is written one folder per day; given ``days``, only those
    days' folders are replaced (a day without rows loses its folder). Otherwise the
    dataset is written beside the old one and swapped in. A table without rows is one
    empty file, so Spark still finds its columns.
    """
    root = raw_root(spark_dir)
    target = root / table
    day_column = RAW_DAY_COLUMNS.get(table)
    source = f"select * from {RAW_SCHEMA}.{table}"
    if day_column is not None and days is not None and (target / "empty.parquet").exists():
        # only ever present while the table had no rows: a full rewrite replaces it
        days = None
    if day_column is not None and days is not None:
        for day in days:
            shutil.rmtree(target / f"{day_column}={day}", ignore_errors=True)
        window = f"{source} where cast({day_column} as varchar) in ({_literals(days)})"
        _write_days(conn, window, target, day_column)
        return target
    staged = root / f".{table}-{uuid.uuid4().hex}"
    staged.parent.mkdir(parents=True, exist_ok=True)
    if day_column is not None:
        _write_days(conn, source, staged, day_column)
        if not any(staged.glob("*")):
            _copy(conn, f"{source} limit 0", staged / "empty.parquet", "")
    else:
        staged.mkdir(parents=True, exist_ok=True)
        _copy(conn, source, staged / "part-0.parquet", "")
    retired = root / f".{table}-retired-{uuid.uuid4().hex}"
    if target.exists():
        target.rename(retired)
    staged.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return target


def _write_days(conn: duckdb.DuckDBPyConnection, query: str, target: Path, day_column: str) -> None:
    [(rows,)] = conn.execute(f"select count(*) from ({query})").fetchall()
    if rows:
        target.mkdir(parents=True, exist_ok=True)
        _copy(
            conn,
            query,
            target,
            f", partition_by ({day_column}), overwrite_or_ignore true, "
            "filename_pattern 'part-{uuid}'",
        )
    else:
        # no row: write_raw_dataset leaves one empty file with the columns instead
        target.mkdir(parents=True, exist_ok=True)


def _literals(values: list[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def spark_tables(spark_dir: Path) -> dict[tuple[str, str], Path]:
    """The tables Spark wrote for dbt, ``(schema, table) -> folder`` (views are not files)."""
    tables = {}
    warehouse = spark_warehouse_dir(spark_dir)
    for schema in DBT_SCHEMAS:
        for folder in sorted((warehouse / f"{schema}.db").glob("*")):
            if folder.is_dir() and any(folder.rglob("*.parquet")):
                tables[(schema, folder.name)] = folder
    return tables


def link_spark_tables(conn: duckdb.DuckDBPyConnection, spark_dir: Path) -> list[str]:
    """Make every table Spark built a DuckDB view of the same name over its Parquet files
    (replacing the DuckDB tables or views of those names); returns the names linked."""
    linked = []
    for (schema, table), folder in spark_tables(spark_dir).items():
        conn.execute(f"create schema if not exists {schema}")
        kind = conn.execute(
            "select table_type from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        if kind and kind[0][0] == "BASE TABLE":
            conn.execute(f'drop table {schema}."{table}"')
        conn.execute(
            f'create or replace view {schema}."{table}" as select * from '
            f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        )
        linked.append(f"{schema}.{table}")
    return linked
