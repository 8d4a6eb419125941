"""Daily partitions follow the data: they start at the lake's earliest day (or
MERCADO_PARTITIONS_START); a lake day outside them is reported, never skipped in silence;
and a run of raw/events without a partition is refused with a message saying what to do."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.ingest.assets import raw_events
from orchestration.defs.ingest.sensors import landing_run_requests
from orchestration.defs.partitions import daily_partitions, partitions_start
from orchestration.defs.resources import LakeResource, WarehouseResource
from orchestration.pipeline import partition_window
from orchestration.settings import PipelineSettings


def lake_with_days(home: Path, *days: str) -> Path:
    for day in days:
        folder = home / "lake" / "events" / f"dt={day}"
        folder.mkdir(parents=True)
        (folder / "part-0.jsonl").write_text("")
    return home / "lake"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("MERCADO_PARTITIONS_START", "MERCADO_WAREHOUSE_PATH", "DAGSTER_HOME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    return tmp_path


def test_partitions_start_at_the_lakes_earliest_day(home: Path) -> None:
    lake_with_days(home, "1998-04-22", "1997-09-20", "2026-01-01")  # MovieLens and the shop
    assert partitions_start(PipelineSettings()) == "1997-09-20"


def test_the_setting_overrides_the_lake(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake_with_days(home, "1997-09-20")
    monkeypatch.setenv("MERCADO_PARTITIONS_START", "2020-02-01")
    assert partitions_start(PipelineSettings()) == "2020-02-01"


def test_an_empty_lake_starts_today(home: Path) -> None:
    assert partitions_start(PipelineSettings()) == datetime.now(UTC).date().isoformat()


def test_lake_days_before_the_partitions_are_reported(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    start = daily_partitions.start.date()
    before = f"{start.year - 30}-01-15"
    inside = daily_partitions.get_partition_keys()[0]
    lake = lake_with_days(home, before, inside)

    log = logging.getLogger("test.sensor")
    with caplog.at_level(logging.WARNING, logger="test.sensor"):
        requests, _ = landing_run_requests(LakeResource(root=str(lake)), {}, log)

    assert [r.partition_key for r in requests] == [inside]
    assert "1 lake day(s) are not partitions" in caplog.text and before in caplog.text
    assert partition_window([before, inside], daily_partitions) == ([inside], [before])


def test_raw_events_without_a_partition_is_refused_with_what_to_do(home: Path) -> None:
    lake = lake_with_days(home, daily_partitions.get_partition_keys()[0])
    warehouse = home / "warehouse.duckdb"
    instance = dg.DagsterInstance.ephemeral()

    result = dg.materialize(
        [raw_events],
        resources={
            "warehouse": WarehouseResource(database=str(warehouse)),
            "lake": LakeResource(root=str(lake)),
        },
        instance=instance,
        raise_on_error=False,
    )

    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "launch this run with a partition" in message and "mercado pipeline run" in message
    assert not any(e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY for e in result.all_events)
    assert not warehouse.exists()  # refused before anything was written
