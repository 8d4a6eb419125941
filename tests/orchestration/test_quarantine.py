"""Quarantine moves on a tiny warehouse: rows failing a rule leave raw with their reasons,
a reloaded row supersedes its quarantined copy, replay is idempotent, erasure reaches
quarantined copies."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from expectations.sql import RowRule
from orchestration.loads.erasure import scrub_erased_users
from orchestration.loads.lake import ensure_tables
from orchestration.loads.quarantine import quarantine_rows, replay

USER = "5f0c7a52-8f1e-4d4e-9a51-3b2f1c0d9e77"
NEGATIVE = RowRule("total_not_negative", "total is not negative", "coalesce(total < 0, false)")
NAMED = RowRule("name_known", "name is known", "coalesce(event_name not in ('a', 'b'), false)")


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("set TimeZone = 'UTC'")
    ensure_tables(conn)
    conn.execute("create table raw.shop_orders (id varchar, buyer_id varchar, total bigint)")
    conn.execute(
        "insert into raw.shop_orders values ('o1', ?, 100), ('o2', ?, -5), ('o3', 'u9', -1)",
        [USER, USER],
    )
    return conn


def _events(conn: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str | None]]) -> None:
    for event_id, name, user in rows:
        conn.execute(
            "insert into raw.events (event_id, event_name, user_id, client_id, context, event_date)"
            " values (?, ?, ?, 'c1', '{\"locale\": \"pt-BR\"}', date '2026-06-01')",
            [event_id, name, user],
        )


def test_failing_rows_move_with_check_run_and_reasons(conn: duckdb.DuckDBPyConnection) -> None:
    result = quarantine_rows(conn, "shop_orders", ("id",), [NEGATIVE], check="c", run_id="r1")
    assert (result.rows_checked, result.rows_quarantined) == (3, 2)
    assert result.by_check == {"total_not_negative": 2}
    assert conn.execute("select id from raw.shop_orders").fetchall() == [("o1",)]
    assert conn.execute(
        "select id, _check, _run_id, _reasons from quality.quarantine_shop_orders order by id"
    ).fetchall() == [
        ("o2", "c", "r1", ["total_not_negative: total is not negative"]),
        ("o3", "c", "r1", ["total_not_negative: total is not negative"]),
    ]


def test_a_reloaded_row_supersedes_its_quarantined_copy(conn: duckdb.DuckDBPyConnection) -> None:
    quarantine_rows(conn, "shop_orders", ("id",), [NEGATIVE], check="c", run_id="r1")
    conn.execute("insert into raw.shop_orders values ('o2', ?, 50)", [USER])  # fixed upstream
    result = quarantine_rows(conn, "shop_orders", ("id",), [NEGATIVE], check="c", run_id="r2")
    assert (result.superseded, result.rows_quarantined) == (1, 0)
    assert conn.execute("select id from quality.quarantine_shop_orders").fetchall() == [("o3",)]


def test_replay_readmits_what_passes_now_and_only_once(conn: duckdb.DuckDBPyConnection) -> None:
    quarantine_rows(conn, "shop_orders", ("id",), [NEGATIVE], check="c", run_id="r1")
    conn.execute("update quality.quarantine_shop_orders set total = 7 where id = 'o3'")
    first = replay(conn, "shop_orders", ("id",), [NEGATIVE])
    second = replay(conn, "shop_orders", ("id",), [NEGATIVE])
    assert (first.readmitted, first.still_failing) == (1, 1)
    assert (second.readmitted, second.still_failing) == (0, 1)
    assert conn.execute("select id, total from raw.shop_orders order by id").fetchall() == [
        ("o1", 100),
        ("o3", 7),
    ]
    relaxed = RowRule("total_not_negative", "relaxed", "false")  # the rule was fixed
    assert replay(conn, "shop_orders", ("id",), [relaxed]).readmitted == 1


def test_events_are_judged_only_in_the_window(conn: duckdb.DuckDBPyConnection) -> None:
    _events(conn, [("e1", "a", None), ("e2", "zz", None)])
    result = quarantine_rows(
        conn,
        "events",
        ("event_date", "event_id"),
        [NAMED],
        check="c",
        run_id="r1",
        where="event_date between cast(? as date) and cast(? as date)",
        params=["2026-06-02", "2026-06-03"],
    )
    assert result.rows_checked == result.rows_quarantined == 0


def test_erasure_reaches_quarantined_rows(conn: duckdb.DuckDBPyConnection) -> None:
    _events(conn, [("e1", "a", USER), ("e2", "zz", USER)])
    quarantine_rows(conn, "events", ("event_date", "event_id"), [NAMED], check="c", run_id="r1")
    quarantine_rows(conn, "shop_orders", ("id",), [NEGATIVE], check="c", run_id="r1")
    conn.execute("create table raw.shop_erasure_records (id varchar, user_id varchar)")
    conn.execute("insert into raw.shop_erasure_records values ('x', ?)", [USER])
    changed = scrub_erased_users(conn)
    assert changed["quality.quarantine_events"] == 1
    assert changed["quality.quarantine_shop_orders"] == 1
    event = conn.execute(
        "select user_id, context, client_id from quality.quarantine_events"
    ).fetchall()
    assert event[0][:2] == (None, None) and event[0][2].startswith("erased-")
    assert conn.execute("select id from quality.quarantine_shop_orders").fetchall() == [("o3",)]
