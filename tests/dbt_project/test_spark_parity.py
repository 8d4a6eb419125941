"""The warehouse on Spark builds the same marts as on DuckDB.

The orchestration tests' built home (a simulated shop whose raw tables the loaders filled
and whose marts ``mercado pipeline run`` built on DuckDB) gives the raw data and the
DuckDB marts. Its raw tables are written as the Parquet datasets the raw loads write with
``MERCADO_WAREHOUSE=spark``, one ``dbt build`` runs on the profile's ``spark`` target
(local Spark, two cores), and its tables are linked into a fresh warehouse file as the
readers see them. Every mart must then match its DuckDB twin: same tables, row counts,
keys, and sums of every numeric and boolean column.

The build runs every model, unit test and singular test, and one data test of each
generic kind: each test macro runs on Spark, without the hundreds of per-column repeats
(a Spark job each) that took most of a whole build's time there.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.components.warehouse_dbt import link_spark_build, warehouse_env
from orchestration.dbt import dbt_executable
from orchestration.defs.resources import WarehouseResource
from orchestration.loads.warehouse import open_reader
from orchestration.settings import DBT_PROJECT_DIR, PipelineSettings
from tests.orchestration.conftest import ENV_KEYS, Home

pytest.importorskip("pyspark", reason="the spark extra is not installed (make install-spark)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java (make java)"),
]

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def mart_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by 1"
        ).fetchall()
    ]


def mart_keys(manifest: Path) -> dict[str, list[str]]:
    """Each mart's key: the columns of its unique (or unique-combination) test."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    keys: dict[str, list[str]] = {}
    for node in nodes:
        if node["resource_type"] != "test" or "test_metadata" not in node:
            continue
        model = node.get("attached_node") or ""
        kwargs = node["test_metadata"]["kwargs"]
        if node["test_metadata"]["name"] == "unique":
            keys.setdefault(model.split(".")[-1], [kwargs["column_name"].strip('"`')])
        elif node["test_metadata"]["name"] == "unique_combination_of_columns":
            keys[model.split(".")[-1]] = list(kwargs["combination_of_columns"])
    return keys


def one_test_of_each_kind(manifest: Path) -> list[str]:
    """The names of the first data test of each generic kind (``unique``, ``is_between``...)."""
    first: dict[tuple[str | None, str], str] = {}
    for node in sorted(json.loads(manifest.read_text())["nodes"].values(), key=lambda n: n["name"]):
        metadata = node.get("test_metadata")
        if node["resource_type"] == "test" and metadata:
            first.setdefault((metadata.get("namespace"), metadata["name"]), node["name"])
    return sorted(first.values())


def quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def as_text(column: str, kind: str) -> str:
    """A key column as text, the same for both engines' Parquet (UTC wall time)."""
    if kind.startswith("TIMESTAMP"):
        return f"strftime(cast({quoted(column)} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
    return f"cast({quoted(column)} as varchar)"


def figures(conn: duckdb.DuckDBPyConnection, table: str, key: list[str]) -> dict[str, object]:
    """Row count, sorted keys and the sum of every numeric or boolean column of a mart."""
    kinds = dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ?",
            [table],
        ).fetchall()
    )
    relation = f"marts.{quoted(table)}"
    found: dict[str, object] = {
        "rows": conn.execute(f"select count(*) from {relation}").fetchall()[0][0]
    }
    if key:
        keys = " || '|' || ".join(f"coalesce({as_text(c, kinds.get(c, ''))}, '∅')" for c in key)
        rows = conn.execute(f"select {keys} from {relation} order by 1").fetchall()
        found["keys"] = [k for (k,) in rows]
    for column, kind in sorted(kinds.items()):
        if kind.startswith(NUMERIC):
            value = f"sum({quoted(column)})"
        elif kind == "BOOLEAN":
            value = f"count(*) filter (where {quoted(column)})"
        else:
            continue
        [(total,)] = conn.execute(f"select {value} from {relation}").fetchall()
        found[f"sum({column})"] = total
    return found


def same(expected: object, found: object) -> bool:
    """Equal; numbers equal to 9 significant digits (the engines add floats in another order)."""
    if isinstance(expected, int | float | Decimal) and isinstance(found, int | float | Decimal):
        return math.isclose(float(expected), float(found), rel_tol=1e-9, abs_tol=1e-9)
    return expected == found


@pytest.fixture
def spark_home(
    built_home: Home, dbt_manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The built home's raw tables as Parquet datasets and one dbt build on local Spark;
    returns the warehouse file where the Spark tables are linked."""
    assert (built_home.path / "pipeline.exit").read_text() == "0", "the shared build failed"
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    monkeypatch.setenv("MERCADO_WAREHOUSE", "spark")
    monkeypatch.setenv("MERCADO_SPARK_MASTER", "local[2]")
    monkeypatch.setenv("MERCADO_SPARK_SHUFFLE_PARTITIONS", "2")
    monkeypatch.setenv("MERCADO_SPARK_DRIVER_MEMORY", "1g")
    settings = PipelineSettings()
    warehouse = WarehouseResource(
        database=str(settings.resolved_warehouse_path),
        engine=settings.warehouse,
        spark_dir=str(settings.resolved_spark_dir),
    )
    with open_reader(built_home.warehouse) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and not starts_with(table_name, '_')"
        ).fetchall()
        for (table,) in tables:
            warehouse.publish_raw(conn, table)
    log = tmp_path / "dbt-build.log"
    tests = one_test_of_each_kind(dbt_manifest)
    assert len(tests) >= 5, f"too few kinds of data tests to show much: {tests}"
    selection = ["resource_type:model", "test_type:unit", "test_type:singular", *tests]
    with warehouse_env(), log.open("w") as out:
        code = subprocess.call(
            [
                dbt_executable(),
                "build",
                "--no-use-colors",
                "--indirect-selection",
                "empty",
                "--select",
                *selection,
            ],
            cwd=DBT_PROJECT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    assert code == 0, f"dbt build on Spark failed; see {log}:\n{log.read_text()[-4000:]}"
    link_spark_build(settings)
    return settings.resolved_warehouse_path


def test_every_mart_built_on_spark_matches_duckdb(built_home: Home, spark_home: Path) -> None:
    keys = mart_keys(spark_home.parent / "dbt" / "target" / "manifest.json")
    with open_reader(built_home.warehouse) as duck, open_reader(spark_home) as spark:
        marts = mart_tables(duck)
        [(orders,)] = duck.execute("select count(*) from marts.fct_orders").fetchall()
        assert orders, "the simulation placed no order: the comparison would prove little"
        assert mart_tables(spark) == marts
        differences = {}
        for table in marts:
            expected = figures(duck, table, keys.get(table, []))
            found = figures(spark, table, keys.get(table, []))
            wrong = {
                name: (expected[name], found.get(name))
                for name in expected.keys() | found.keys()
                if not same(expected.get(name), found.get(name))
            }
            if wrong:
                differences[table] = wrong
    assert differences == {}
