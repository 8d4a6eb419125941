"""The lake in an S3-compatible store, chosen by settings alone: the collector writes its
files there, the raw load reads them into DuckDB (no DuckDB extension), erasure rewrites
them, and retention deletes expired partitions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from orchestration.loads.lake import (
    EVENTS,
    lake_days,
    load_events_bad,
    load_events_partitions,
    stale_partitions,
)
from orchestration.loads.warehouse import open_writer
from orchestration.retention import RetentionPolicy, apply_retention
from shop_api.core.migrations import upgrade_to_head
from shop_api.core.storage import S3ObjectStore
from shop_api.main import create_app
from shop_api.tracking.lake import LandingZone, landing_zone
from tests.conftest import test_settings as shop_settings
from tests.factories import Factory
from tests.s3 import bucket_keys
from tests.tracking.conftest import make_event


@pytest.fixture
def s3_app(tmp_path: Path, s3_lake_url: str, s3_endpoint: str) -> Iterator[FastAPI]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade_to_head(url)
    settings = shop_settings(url, tmp_path / "home").model_copy(
        update={"lake_url": s3_lake_url, "s3_endpoint_url": s3_endpoint}
    )
    app = create_app(settings)
    yield app
    app.state.database.dispose()


@pytest.fixture
def s3_client(s3_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(s3_app) as client:
        yield client


def test_settings_put_the_landing_zone_in_the_store(s3_app: FastAPI, s3_lake_url: str):
    zone = s3_app.state.tracking.zone
    assert isinstance(zone.store, S3ObjectStore)
    assert str(zone.store) == f"{s3_lake_url}/"
    assert isinstance(landing_zone(s3_app.state.settings).store, S3ObjectStore)


def test_collected_events_land_in_the_bucket_and_load_into_duckdb(
    s3_app: FastAPI, s3_client: TestClient, s3_lake_url: str, s3_endpoint: str, tmp_path: Path
):
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    events = [make_event(), make_event("search", event_time=yesterday.isoformat())]
    bad = {"event_name": "page_view"}  # no event_id: quarantined

    response = s3_client.post("/collect", json={"events": [*events, bad]})
    assert response.status_code == 200, response.text
    s3_app.state.tracking.sink.flush()

    stored = bucket_keys(s3_lake_url, s3_endpoint)
    assert not (tmp_path / "home" / "lake").exists()
    landed = [json.loads(line) for key, body in stored.items() if "/events/" in key
              for line in body.splitlines()]  # fmt: skip
    assert sorted(e["event_id"] for e in landed) == sorted(e["event_id"] for e in events)
    assert any("/events_bad/" in key for key in stored)

    zone = s3_app.state.tracking.zone
    days = lake_days(zone, EVENTS)
    assert days == sorted({yesterday.date().isoformat(), datetime.now(UTC).date().isoformat()})
    with open_writer(tmp_path / "warehouse.duckdb") as conn:
        stats = load_events_partitions(conn, zone, days)
        bad_stats = load_events_bad(conn, zone)
        rows = conn.execute(
            "select event_id, cast(event_date as varchar), _source_file from raw.events"
        ).fetchall()
        assert stale_partitions(conn, zone) == []
    assert stats.rows_loaded == 2 and stats.files == 2
    assert bad_stats.rows_loaded == 1
    assert {(event_id, day) for event_id, day, _ in rows} == {
        (events[0]["event_id"], datetime.now(UTC).date().isoformat()),
        (events[1]["event_id"], yesterday.date().isoformat()),
    }
    assert all(name.startswith("part-") and name.endswith(".jsonl") for *_, name in rows)


def test_erasure_rewrites_the_objects_and_the_load_notices(
    s3_app: FastAPI, s3_client: TestClient, s3_lake_url: str, s3_endpoint: str, tmp_path: Path
):
    factory = Factory(s3_app, s3_client)
    person, other = factory.user(), factory.user()
    uid, device = str(person.id), f"dev-{uuid.uuid4().hex}"
    own = make_event(client_id=device, user_id=uid, context={"user_agent": "Firefox"})
    theirs = make_event(user_id=str(other.id))
    s3_client.post("/collect", json={"events": [own]}, headers=person.headers)
    s3_client.post("/collect", json={"events": [theirs]}, headers=other.headers)
    zone: LandingZone = s3_app.state.tracking.zone
    zone_days = lake_days(zone, EVENTS)
    s3_app.state.tracking.sink.flush()
    with open_writer(tmp_path / "warehouse.duckdb") as conn:
        load_events_partitions(conn, zone, lake_days(zone, EVENTS))
        assert stale_partitions(conn, zone) == []
    before = b"".join(bucket_keys(s3_lake_url, s3_endpoint).values())
    assert uid.encode() in before and device.encode() in before

    assert s3_client.delete("/me", headers=person.headers).status_code == 204

    after = b"".join(bucket_keys(s3_lake_url, s3_endpoint).values())
    for trace in (uid, device, "Firefox"):
        assert trace.encode() not in after, trace
    assert str(other.id).encode() in after
    with open_writer(tmp_path / "warehouse.duckdb") as conn:
        assert stale_partitions(conn, zone) == sorted(set(zone_days) | set(lake_days(zone)))
        load_events_partitions(conn, zone, stale_partitions(conn, zone))
        users = {row[0] for row in conn.execute("select user_id from raw.events").fetchall()}
    assert uid not in users and str(other.id) in users


def test_retention_deletes_expired_partitions_from_the_bucket(s3_lake_url: str, s3_endpoint: str):
    zone = LandingZone(S3ObjectStore.from_url(s3_lake_url, endpoint_url=s3_endpoint))
    today = date(2024, 3, 10)
    for day in ("2024-03-01", "2024-03-09", "2024-03-10"):
        event = make_event(event_time=f"{day}T12:00:00+00:00")
        zone.write_events([event], datetime(2024, 3, 10, tzinfo=UTC))

    report = apply_retention(
        RetentionPolicy(events_days=2), lake_dir=zone, artifact_roots=[], conn=None, today=today
    )

    assert lake_days(zone, EVENTS) == ["2024-03-09", "2024-03-10"]
    assert len(report.folders_deleted) == 1 and report.bytes_freed > 0
    assert not [key for key in bucket_keys(s3_lake_url, s3_endpoint) if "dt=2024-03-01" in key]
