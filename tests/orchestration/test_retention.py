"""Retention: what is past its keeping period is deleted (lake partitions, raw and
quarantine rows, superseded published versions), the latest version of every artifact is
kept whatever its age, nothing else is touched, and a second pass deletes nothing."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.maintenance.assets import expire_old_data
from orchestration.defs.resources import LakeResource, RetentionResource, WarehouseResource
from orchestration.loads.lake import STATE_TABLE, ensure_tables
from orchestration.retention import RetentionPolicy, apply_retention, artifact_roots

TODAY = date(2026, 3, 31)
POLICY = RetentionPolicy(events_days=30, quarantine_days=10, published_days=7)


def day(n: int) -> str:
    """The day ``n`` days before TODAY."""
    return (TODAY - timedelta(days=n)).isoformat()


def write_partition(lake: Path, dataset: str, when: str) -> None:
    folder = lake / dataset / f"dt={when}"
    folder.mkdir(parents=True)
    (folder / "part-0.jsonl").write_text('{"event_id": "x"}\n' * 50)


def write_version(parent: Path, name: str, age_days: int) -> Path:
    version = parent / name
    version.mkdir(parents=True)
    manifest = version / "manifest.json"
    manifest.write_text("{}")
    (version / "members.csv").write_text("a\n" * 100)
    stamp = (
        datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=age_days)
    ).timestamp()
    os.utime(manifest, (stamp, stamp))
    return version


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with 40 days of events, 20 days of quarantine and aged artifact versions."""
    lake = tmp_path / "lake"
    for n in range(40):
        write_partition(lake, "events", day(n))
    for n in range(20):
        write_partition(lake, "events_bad", day(n))
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_tables(conn)
    for n in range(40):
        conn.execute(
            "insert into raw.events (event_id, event_name, event_date) values (?, 'page_view', ?)",
            [f"e{n}", day(n)],
        )
        conn.execute(
            f"insert into {STATE_TABLE} (dataset, partition_key, fingerprint) "
            "values ('events', ?, 'f')",
            [day(n)],
        )
    for n in range(20):
        conn.execute(
            "insert into raw.events_bad (received_date, reasons, event) values (?, '[]', '{}')",
            [day(n)],
        )
    conn.execute("create schema quality")
    conn.execute(
        "create table quality.quarantine_events (reason varchar, quarantined_at timestamptz)"
    )
    for n in (0, 5, 15):
        conn.execute("insert into quality.quarantine_events values ('bad', ?::date)", [day(n)])
    conn.close()
    audiences = tmp_path / "published" / "audiences" / "vip"
    for name, age in (("v1", 60), ("v2", 20), ("v3", 3)):
        write_version(audiences, name, age)
    write_version(tmp_path / "published" / "audiences" / "lapsed", "v1", 90)  # only version
    recommender = tmp_path / "artifacts" / "recommender"
    write_version(recommender, "m1", 40)
    write_version(recommender, "m2", 30)
    (recommender / "LATEST").write_text("m1\n")  # rolled back to m1: m1 is the one served
    (tmp_path / "published" / "dashboards").mkdir(parents=True)
    (tmp_path / "published" / "dashboards" / "index.html").write_text("<html></html>")
    return tmp_path


def warehouse_counts(home: Path) -> dict[str, object]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {
            "events": conn.execute(
                "select min(event_date)::varchar, count(*) from raw.events"
            ).fetchall()[0],
            "state": conn.execute(
                f"select min(partition_key), count(*) from {STATE_TABLE}"
            ).fetchall()[0],
            "bad": conn.execute("select count(*) from raw.events_bad").fetchall()[0][0],
            "quality": conn.execute("select count(*) from quality.quarantine_events").fetchall()[0][
                0
            ],
        }


def run(home: Path, policy: RetentionPolicy = POLICY) -> object:
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        return apply_retention(
            policy, lake_dir=home / "lake", artifact_roots=artifact_roots(home), conn=conn,
            today=TODAY,
        )  # fmt: skip


def partitions(home: Path, dataset: str) -> list[str]:
    return sorted(p.name.removeprefix("dt=") for p in (home / "lake" / dataset).iterdir())


def test_expired_data_is_deleted_and_the_rest_kept(home: Path) -> None:
    report = run(home)

    assert partitions(home, "events") == [day(n) for n in range(29, -1, -1)]  # 30 days
    assert partitions(home, "events_bad") == [day(n) for n in range(9, -1, -1)]  # 10 days
    assert warehouse_counts(home) == {
        "events": (day(29), 30), "state": (day(29), 30), "bad": 10, "quality": 2,
    }  # fmt: skip
    vip = home / "published" / "audiences" / "vip"
    assert sorted(p.name for p in vip.iterdir()) == ["v3"]
    assert (home / "published" / "audiences" / "lapsed" / "v1").is_dir()  # the latest, 90 days
    recommender = home / "artifacts" / "recommender"
    assert sorted(p.name for p in recommender.iterdir()) == ["LATEST", "m1"]
    assert (home / "published" / "dashboards" / "index.html").exists()
    assert report.bytes_freed > 0
    assert report.rows_deleted == {
        "raw.events": 10, "raw.events_bad": 10, "quality.quarantine_events": 1,
    }  # fmt: skip
    leftovers = [p for p in home.rglob(".expired-*")]
    assert leftovers == []


def test_a_second_pass_deletes_nothing(home: Path) -> None:
    run(home)
    before = sorted(str(p) for p in home.rglob("*") if "warehouse" not in p.name)

    report = run(home)

    assert report.folders_deleted == [] and report.bytes_freed == 0
    assert set(report.rows_deleted.values()) == {0}
    assert sorted(str(p) for p in home.rglob("*") if "warehouse" not in p.name) == before


def test_unset_periods_keep_everything(home: Path) -> None:
    report = run(home, RetentionPolicy())

    assert report.folders_deleted == [] and report.rows_deleted == {}
    assert len(partitions(home, "events")) == 40
    assert warehouse_counts(home)["events"] == (day(39), 40)


def test_the_retention_asset_enforces_the_settings(home: Path) -> None:
    """The Dagster asset, materialised with its resources. Today is the real today there:
    whatever in this home is older than the periods counted from now goes."""
    result = dg.materialize(
        [expire_old_data],
        resources={
            "warehouse": WarehouseResource(database=str(home / "warehouse.duckdb")),
            "lake": LakeResource(root=str(home / "lake")),
            "retention": RetentionResource(
                events_days=30, quarantine_days=10, published_days=7,
                artifact_roots=[str(p) for p in artifact_roots(home)],
            ),
        },
    )  # fmt: skip

    assert result.success
    [materialization] = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["folders_deleted"].value > 0
    assert sorted(p.name for p in (home / "published" / "audiences" / "vip").iterdir()) == ["v3"]
