"""Raw loads as plain functions (``orchestration.loads``), on a copy of the simulated shop.

Specification: a partition load replaces the day whole and idempotently, keeps the first
received copy of an event, survives a failed load with the old rows, notices late files;
shop tables land with canonical UUIDs and no password hashes, incrementally, with
deletions propagated; writers are serialised by one lock.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestration.loads import lake as lake_loads
from orchestration.loads import (
    load_events_partition,
    load_events_partitions,
    load_shop_table,
    open_writer,
    shop_tables,
    stale_partitions,
    writer_lock,
)
from orchestration.loads.lake import lake_days
from tests.orchestration.conftest import Home, checksum

UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def first_event(lake: Path, day: str) -> dict:
    path = sorted((lake / "events" / f"dt={day}").glob("part-*.jsonl"))[0]
    return json.loads(path.read_text().splitlines()[0])


def write_part(lake: Path, day: str, name: str, lines: list[str]) -> Path:
    path = lake / "events" / f"dt={day}" / f"part-{name}.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def busiest_day(home: Home) -> str:
    with home.read() as conn:
        return conn.execute(
            "select event_date::varchar from raw.events group by 1 order by count(*) desc limit 1"
        ).fetchall()[0][0]


class TestEventPartitions:
    def test_reloading_a_partition_changes_nothing(self, home_copy: Home) -> None:
        day = busiest_day(home_copy)
        where = f"event_date = '{day}'"
        with open_writer(home_copy.warehouse) as conn:
            before = checksum(conn, "raw.events", where)
            stats = load_events_partition(conn, home_copy.lake, day)
            after = checksum(conn, "raw.events", where)
        assert stats.rows_deleted == stats.rows_loaded == before[0] > 0
        assert after == before

    def test_a_range_of_days_loads_the_same_rows_in_any_batching(
        self, home_copy: Home, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        days = lake_days(home_copy.lake)
        with open_writer(home_copy.warehouse) as conn:
            before = checksum(conn, "raw.events")
            stats = load_events_partitions(conn, home_copy.lake, days)
            in_one_batch = checksum(conn, "raw.events")
            monkeypatch.setattr(lake_loads, "EVENTS_BATCH_BYTES", 1)  # one day per batch
            load_events_partitions(conn, home_copy.lake, days)
            day_by_day = checksum(conn, "raw.events")
        assert stats.rows_loaded == stats.rows_deleted == before[0] > 0
        assert in_one_batch == day_by_day == before

    def test_a_duplicate_event_keeps_the_copy_received_first(self, home_copy: Home) -> None:
        day = busiest_day(home_copy)
        original = first_event(home_copy.lake, day)
        retry = {**original, "event_name": "retried_copy", "received_at": "2099-01-01T00:00:00Z"}
        write_part(home_copy.lake, day, "retry", [json.dumps(retry)])
        with open_writer(home_copy.warehouse) as conn:
            before = checksum(conn, "raw.events", f"event_date = '{day}'")
            load_events_partition(conn, home_copy.lake, day)
            names = conn.execute(
                "select event_name from raw.events where event_id = ?", [original["event_id"]]
            ).fetchall()
            after = checksum(conn, "raw.events", f"event_date = '{day}'")
        assert names == [(original["event_name"],)]
        assert after == before

    def test_a_failed_load_leaves_the_previous_partition(self, home_copy: Home) -> None:
        day = busiest_day(home_copy)
        write_part(home_copy.lake, day, "broken", ['{"event_id": "x", "event_time": '])
        with open_writer(home_copy.warehouse) as conn:
            before = checksum(conn, "raw.events", f"event_date = '{day}'")
            with pytest.raises(Exception):  # noqa: B017 (DuckDB's JSON error class)
                load_events_partition(conn, home_copy.lake, day)
            assert checksum(conn, "raw.events", f"event_date = '{day}'") == before
            assert day in stale_partitions(conn, home_copy.lake)

    def test_a_late_file_makes_its_partition_stale_and_is_loaded(self, home_copy: Home) -> None:
        day = lake_days(home_copy.lake)[0]
        late = {**first_event(home_copy.lake, day), "event_id": str(uuid.uuid4())}
        with open_writer(home_copy.warehouse) as conn:
            assert stale_partitions(conn, home_copy.lake) == []
            write_part(home_copy.lake, day, "late", [json.dumps(late)])
            assert stale_partitions(conn, home_copy.lake) == [day]
            rows = conn.execute(
                "select count(*) from raw.events where event_date = ?", [day]
            ).fetchall()[0][0]
            stats = load_events_partition(conn, home_copy.lake, day)
            assert stats.rows_loaded == rows + 1
            assert stale_partitions(conn, home_copy.lake) == []


class TestShopTables:
    def test_every_shop_table_is_copied_without_secrets_or_provider_tables(
        self, built_home: Home
    ) -> None:
        with built_home.read() as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "select table_name from information_schema.tables where table_schema = 'raw'"
                ).fetchall()
            }
            user_columns = {
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'raw' and table_name = 'shop_users'"
                ).fetchall()
            }
        assert {f"shop_{name}" for name in shop_tables()} <= tables
        assert not {t for t in tables if t.startswith(("shop_sandbox_", "shop_event_outbox"))}
        assert not {"password_hash", "phone"} & user_columns
        assert {"id", "email", "email_sha256", "phone_sha256", "modified_at", "_loaded_at"} <= (
            user_columns
        )

    def test_uuids_are_canonical_text_and_join_the_clickstream(self, built_home: Home) -> None:
        with built_home.read() as conn:
            ids = conn.execute(
                "select id, buyer_id from raw.shop_orders union all "
                "select id, seller_id from raw.shop_listings"
            ).fetchall()
            joined = conn.execute(
                "select count(*) from raw.events e join raw.shop_users u on u.id = e.user_id"
            ).fetchall()[0][0]
            with_user = conn.execute(
                "select count(*) from raw.events where user_id is not null"
            ).fetchall()[0][0]
        assert ids and all(UUID_TEXT.match(a) and UUID_TEXT.match(b) for a, b in ids)
        assert with_user > 0 and joined == with_user

    def test_incremental_load_picks_up_changes_and_deletions(self, home_copy: Home) -> None:
        engine = home_copy.shop_engine()
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        with engine.begin() as shop:
            listing = shop.execute(text("select id from listings limit 1")).scalar_one()
            shop.execute(
                text("update listings set title = 'Renamed', modified_at = :now where id = :id"),
                {"now": now, "id": listing},
            )
            gone = shop.execute(text("select id from cart_items limit 1")).scalar_one()
            shop.execute(text("delete from cart_items where id = :id"), {"id": gone})
        canonical = str(uuid.UUID(hex=listing)) if isinstance(listing, str) else str(listing)
        with open_writer(home_copy.warehouse) as conn:
            listings = load_shop_table(conn, engine, "listings")
            items = load_shop_table(conn, engine, "cart_items")
            title = conn.execute(
                "select title from raw.shop_listings where id = ?", [canonical]
            ).fetchall()
            incremental = checksum(conn, "raw.shop_listings")
            full = load_shop_table(conn, engine, "listings", full_refresh=True)
            assert checksum(conn, "raw.shop_listings") == incremental
        engine.dispose()
        assert listings.mode == "incremental" and listings.rows_loaded < full.rows_loaded
        assert title == [("Renamed",)]
        assert items.rows_deleted == 1


def test_writers_are_serialised_by_one_lock(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with writer_lock(database):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(TimeoutError), writer_lock(database, timeout=0.5):
            pass
    finally:
        release.set()
        holder.join()
    with writer_lock(database, timeout=1):
        pass


def test_a_shop_database_never_migrated_is_migrated_before_its_tables_are_read(
    tmp_path: Path,
) -> None:
    """A home holding only an imported clickstream has no shop database yet: the shop
    tables load empty instead of failing on ``no such table``."""
    from orchestration.defs.resources import ShopDatabaseResource

    shop_db = ShopDatabaseResource(url=f"sqlite:///{tmp_path / 'shop.db'}")

    with shop_db.engine() as engine, open_writer(tmp_path / "warehouse.duckdb") as conn:
        stats = [load_shop_table(conn, engine, table) for table in shop_tables()]
        rows = conn.execute("select count(*) from raw.shop_categories").fetchone()

    assert [s.rows_in_table for s in stats] == [0] * len(stats)
    assert rows == (0,)
