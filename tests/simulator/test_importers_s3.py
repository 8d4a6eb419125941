"""``mercado import`` into a lake in an S3-compatible store (moto on loopback), chosen by
settings alone (``MERCADO_LAKE_URL`` + ``MERCADO_S3_ENDPOINT_URL``): the idempotent landing
that ``test_importers.py`` specifies on the local folder, object for object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shop_api.core.config import get_settings
from shop_api.core.storage import open_object_store
from shop_api.tracking.lake import EVENTS, EVENTS_BAD, LandingZone, landing_zone, part_file
from simulator.importers.clickstream import import_online_retail
from simulator.importers.datasets import ONLINE_RETAIL, dataset_unavailable_reason
from simulator.importers.generic import import_csv
from simulator.importers.landing import import_part_name
from tests.s3 import bucket_keys

RETAIL_FILE = "online_retail_first10k_clean.csv.gz"
FEED = (
    "user_id,item_id,timestamp,event_name,value,transaction_id\n"
    "u1,i1,2024-03-01T10:00:00Z,,,\n"
    "u2,i2,2024-03-02T12:30:00Z,purchase,19.90,T-9\n"
    "u3,i3,2024-03-02T13:00:00Z,teleport,,\n"  # not an event v1 name: quarantined
)


@pytest.fixture
def s3_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_lake_url: str, s3_endpoint: str
) -> Iterator[Path]:
    """A Mercado home whose lake is the bucket; yields the home's (unused) local lake."""
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("MERCADO_LAKE_URL", s3_lake_url)
    monkeypatch.setenv("MERCADO_S3_ENDPOINT_URL", s3_endpoint)
    get_settings.cache_clear()
    yield tmp_path / "var" / "lake"
    get_settings.cache_clear()


def mercado_import(*args: str) -> dict[str, Any]:
    from mercado_cli.main import app

    result = CliRunner().invoke(app, ["import", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    return report


def landed(lake: LandingZone, dataset: str = EVENTS) -> list[dict[str, Any]]:
    """The lake's records without the time they were received, in a stable order."""
    records = [{k: v for k, v in r.items() if k != "received_at"} for r in lake.read(dataset)]
    return sorted(records, key=lambda record: json.dumps(record, sort_keys=True))


def test_csv_import_lands_in_the_bucket_and_the_same_import_again_writes_nothing(
    s3_home: Path, s3_lake_url: str, s3_endpoint: str, tmp_path: Path
):
    path = tmp_path / "feed.csv"
    path.write_text(FEED, encoding="utf-8")
    prefix = s3_lake_url.split("/", 3)[3]
    part = part_file(import_part_name("partner feed"))
    today = datetime.now(UTC).date().isoformat()

    report = mercado_import("csv", str(path), "--dataset-name", "partner feed")

    table = report["tables"]["feed.csv"]
    assert (table["loaded"], table["skipped"], table["rejected"]) == (2, 0, 1)
    stored = bucket_keys(s3_lake_url, s3_endpoint)
    assert sorted(stored) == [
        f"{prefix}/events/dt=2024-03-01/{part}",
        f"{prefix}/events/dt=2024-03-02/{part}",
        f"{prefix}/events_bad/dt={today}/{part}",
    ]
    assert not s3_home.exists()  # nothing went to the home's folder
    lake = landing_zone(get_settings())
    assert sorted(e["items"][0]["item_id"] for e in lake.read()) == [
        "partner_feed:i1",
        "partner_feed:i2",
    ]
    [bad] = lake.read(EVENTS_BAD)
    assert bad["source"] == "import:partner feed"
    assert bad["reasons"] == ["event_name: not an event v1 name"]
    assert bad["event"]["event_name"] == "teleport"

    again = mercado_import("csv", str(path), "--dataset-name", "partner feed")

    table = again["tables"]["feed.csv"]
    assert (table["loaded"], table["skipped"], table["rejected"]) == (0, 2, 1)
    assert again["written"] == {
        "event files unchanged": 2,
        "events written": 0,
        "reject files unchanged": 1,
    }
    assert bucket_keys(s3_lake_url, s3_endpoint) == stored  # not even rewritten


def test_a_day_the_source_lost_and_superseded_rejects_leave_the_bucket(
    s3_lake_url: str, s3_endpoint: str, tmp_path: Path
):
    lake = LandingZone(open_object_store(s3_lake_url, endpoint_url=s3_endpoint))
    path = tmp_path / "feed.csv"
    path.write_text(FEED, encoding="utf-8")
    import_csv(lake, path, dataset_name="feed", received_at=datetime(2024, 4, 1, tzinfo=UTC))
    part = part_file(import_part_name("feed"))
    assert lake.keys(EVENTS_BAD) == [f"events_bad/dt=2024-04-01/{part}"]

    # The feed changes: 2024-03-02 is gone, 2024-03-05 is new, and another row is bad.
    path.write_text(
        "user_id,item_id,timestamp\n"
        "u1,i1,2024-03-01T10:00:00Z\n"
        "u9,i9,2024-03-05T08:00:00Z\n"
        ",i10,2024-03-05T09:00:00Z\n",
        encoding="utf-8",
    )
    changed = import_csv(
        lake, path, dataset_name="feed", received_at=datetime(2024, 4, 2, tzinfo=UTC)
    )

    table = changed.tables["feed.csv"]
    assert (table.loaded, table.skipped, table.rejected) == (1, 1, 1)
    assert changed.written["stale event files removed"] == 1
    assert lake.keys() == [f"events/dt=2024-03-01/{part}", f"events/dt=2024-03-05/{part}"]
    assert sorted(e["items"][0]["item_id"] for e in lake.read()) == ["feed:i1", "feed:i9"]
    assert lake.keys(EVENTS_BAD) == [f"events_bad/dt=2024-04-02/{part}"]
    [bad] = lake.read(EVENTS_BAD)
    assert bad["reasons"] == ["user_id: required"]

    path.write_text("user_id,item_id,timestamp\nu1,i1,2024-03-01T10:00:00Z\n", encoding="utf-8")
    clean = import_csv(lake, path, dataset_name="feed")

    assert clean.written["stale event files removed"] == 1
    assert lake.keys() == [f"events/dt=2024-03-01/{part}"]
    assert lake.keys(EVENTS_BAD) == []  # no rejects left: the earlier file is gone too


@pytest.mark.skipif(
    dataset_unavailable_reason(ONLINE_RETAIL, RETAIL_FILE) is not None,
    reason=f"shared dataset missing: {dataset_unavailable_reason(ONLINE_RETAIL, RETAIL_FILE)}",
)
def test_a_real_dataset_lands_in_the_bucket_as_in_the_local_folder(
    s3_home: Path, s3_lake_url: str, s3_endpoint: str, tmp_path: Path
):
    local = LandingZone(tmp_path / "local-lake")
    import_online_retail(local)

    report = mercado_import("clickstream", "online-retail")

    assert report["tables"][RETAIL_FILE]["loaded"] == 10_000
    lake = landing_zone(get_settings())
    assert lake.keys() == local.keys()
    assert landed(lake) == landed(local)
    stored = bucket_keys(s3_lake_url, s3_endpoint)

    again = mercado_import("clickstream", "online-retail")

    assert again["tables"][RETAIL_FILE]["skipped"] == 10_000
    assert again["written"]["events written"] == 0
    assert bucket_keys(s3_lake_url, s3_endpoint) == stored
