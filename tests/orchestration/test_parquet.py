"""Raw tables as Parquet datasets (what the loads write for Spark) and Spark's tables seen
from the warehouse file; no Spark needed: DuckDB reads and writes the same files."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.loads.parquet import link_spark_tables, spark_warehouse_dir, write_raw_dataset


def raw_warehouse() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("create schema raw")
    conn.execute("create table raw.events (event_id varchar, params json, event_date date)")
    conn.execute(
        "insert into raw.events values ('a', '{\"v\": 1}', '2026-01-01'), "
        "('b', null, '2026-01-01'), ('c', '{}', '2026-01-02')"
    )
    conn.execute("create table raw.shop_users (id varchar, created_at timestamptz)")
    return conn


def read(dataset: Path) -> list[tuple]:
    return duckdb.sql(
        f"select event_id, cast(event_date as varchar) from "
        f"read_parquet('{dataset}/**/*.parquet', hive_partitioning = true) order by 1"
    ).fetchall()


def test_events_are_written_one_folder_per_day(tmp_path: Path) -> None:
    conn = raw_warehouse()
    dataset = write_raw_dataset(conn, tmp_path, "events")
    assert sorted(p.name for p in dataset.iterdir()) == [
        "event_date=2026-01-01",
        "event_date=2026-01-02",
    ]
    assert read(dataset) == [("a", "2026-01-01"), ("b", "2026-01-01"), ("c", "2026-01-02")]


def test_a_reload_of_some_days_replaces_only_those_days(tmp_path: Path) -> None:
    conn = raw_warehouse()
    write_raw_dataset(conn, tmp_path, "events")
    conn.execute("delete from raw.events where event_id = 'a'")
    conn.execute("insert into raw.events values ('d', null, '2026-01-03')")
    conn.execute("delete from raw.events where event_date = '2026-01-02'")
    dataset = write_raw_dataset(conn, tmp_path, "events", days=["2026-01-01", "2026-01-03"])
    # 2026-01-02 was not reloaded: its rows stay as they were written
    assert read(dataset) == [("b", "2026-01-01"), ("c", "2026-01-02"), ("d", "2026-01-03")]
    write_raw_dataset(conn, tmp_path, "events", days=["2026-01-02"])
    assert read(dataset) == [("b", "2026-01-01"), ("d", "2026-01-03")]


def test_an_empty_table_keeps_its_columns(tmp_path: Path) -> None:
    conn = raw_warehouse()
    dataset = write_raw_dataset(conn, tmp_path, "shop_users")
    columns = duckdb.sql(f"describe select * from read_parquet('{dataset}/*.parquet')").fetchall()
    assert [row[0] for row in columns] == ["id", "created_at"]
    conn.execute("insert into raw.shop_users values ('u1', now())")
    write_raw_dataset(conn, tmp_path, "shop_users")
    rows = duckdb.sql(f"select id from read_parquet('{dataset}/*.parquet')").fetchall()
    assert rows == [("u1",)]


def test_tables_spark_built_are_views_in_the_warehouse_file(tmp_path: Path) -> None:
    table = spark_warehouse_dir(tmp_path) / "marts.db" / "fct_orders"
    table.mkdir(parents=True)
    duckdb.sql(f"copy (select 1 as order_id, 250 as total_minor) to '{table}/part-0.parquet'")
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as conn:
        # a table of that name from an earlier DuckDB build gives way to Spark's
        conn.execute("create schema marts")
        conn.execute("create table marts.fct_orders as select 9 as order_id, 0 as total_minor")
        assert link_spark_tables(conn, tmp_path) == ["marts.fct_orders"]
    with duckdb.connect(str(database), read_only=True) as reader:
        assert reader.execute("select * from marts.fct_orders").fetchall() == [(1, 250)]
