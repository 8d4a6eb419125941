"""The landing zone: files appear only complete; readers never match temporary files."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from shop_api.tracking.events import validate_event
from shop_api.tracking.lake import EVENTS, EVENTS_BAD, LandingZone
from tests.tracking.conftest import make_event


def valid(**overrides) -> dict:
    event, reasons = validate_event(make_event(**overrides))
    assert event is not None, reasons
    return event


def test_events_land_in_their_own_date(tmp_path: Path):
    zone = LandingZone(tmp_path)
    received = datetime(2024, 3, 5, 12, tzinfo=UTC)
    late = valid(event_time="2024-03-01T23:59:00+00:00")
    today = valid(event_time="2024-03-05T11:00:00+00:00")

    written = zone.write_events([late, today], received)

    assert sorted(path.parent.name for path in written) == ["dt=2024-03-01", "dt=2024-03-05"]
    records = {record["event_id"]: record for record in zone.read()}
    assert records[late["event_id"]]["received_at"] == received.isoformat()
    assert records[late["event_id"]]["schema_version"] == 1


def test_rejects_keep_reasons_and_the_raw_event(tmp_path: Path):
    zone = LandingZone(tmp_path)
    received = datetime(2024, 3, 5, 12, tzinfo=UTC)

    path = zone.write_rejects([({"bad": True}, ["event_id: Field required"])], received, "collect")

    assert path is not None and path.parent.name == "dt=2024-03-05"
    [record] = zone.read(EVENTS_BAD)
    assert record == {
        "received_at": received.isoformat(),
        "source": "collect",
        "reasons": ["event_id: Field required"],
        "event": {"bad": True},
    }


def test_temporary_and_leftover_files_are_never_read(tmp_path: Path):
    """A crash mid-write leaves ``.tmp-*`` files behind: readers do not match them."""
    zone = LandingZone(tmp_path)
    zone.write_events([valid()], datetime.now(UTC))
    partition = next((tmp_path / EVENTS).iterdir())
    (partition / ".tmp-abc.jsonl").write_text('{"event_id": "half')

    assert [path.name.startswith("part-") for path in zone.files()] == [True]
    assert len(list(zone.read())) == 1


def test_a_reader_sees_whole_files_or_none(tmp_path: Path):
    zone = LandingZone(tmp_path)
    batch = [valid() for _ in range(300)]
    stop = threading.Event()
    seen_sizes: set[int] = set()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            for path in zone.files():
                try:
                    lines = path.read_text().splitlines()
                except FileNotFoundError:
                    continue
                seen_sizes.add(len(lines))
                for line in lines:
                    try:
                        json.loads(line)
                    except ValueError as exc:
                        errors.append(f"{path.name}: {exc}")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(15):
            zone.write_events(batch, datetime.now(UTC))
    finally:
        stop.set()
        thread.join()

    assert errors == []
    assert seen_sizes <= {300}
    assert sum(1 for _ in zone.read()) == 15 * 300


def test_rewrite_replaces_only_files_it_changes(tmp_path: Path):
    zone = LandingZone(tmp_path)
    keep, change = valid(client_id="keep"), valid(client_id="change")
    first = zone.write_events([keep], datetime.now(UTC))[0]
    second = zone.write_events([change], datetime.now(UTC))[0]
    untouched = first.stat().st_ino

    def transform(record: dict) -> dict | None:
        return {**record, "client_id": "changed"} if record["client_id"] == "change" else None

    assert zone.rewrite(transform, prefilter=lambda line: "change" in line) == 1
    assert first.stat().st_ino == untouched
    assert second.exists()
    assert sorted(record["client_id"] for record in zone.read()) == ["changed", "keep"]
    assert not [p for p in second.parent.iterdir() if p.name.startswith(".tmp-")]
