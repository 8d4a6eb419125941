"""The group-commit writer: acknowledged means on disk; one round serves many requests."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shop_api.core.clock import SystemClock
from shop_api.tracking.events import validate_event
from shop_api.tracking.lake import EVENTS_BAD, LandingZone
from shop_api.tracking.sink import EventSink
from tests.tracking.conftest import make_event


def valid() -> dict:
    event, _ = validate_event(make_event())
    assert event is not None
    return event


@pytest.fixture
def sink(tmp_path: Path):
    sink = EventSink(LandingZone(tmp_path), SystemClock(), max_delay=0.2)
    sink.start()
    yield sink
    sink.stop()


def ids_in(sink: EventSink) -> set[str]:
    return {record["event_id"] for record in sink.zone.read()}


def test_write_returns_after_the_events_are_on_disk(sink: EventSink):
    events = [valid() for _ in range(3)]

    asyncio.run(sink.write(events, [({"x": 1}, ["bad"])]))

    assert ids_in(sink) == {event["event_id"] for event in events}
    assert [record["event"] for record in sink.zone.read(EVENTS_BAD)] == [{"x": 1}]


def test_concurrent_writers_share_rounds(sink: EventSink):
    written: list[str] = []
    unreadable: list[str] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(10):
            event = valid()
            sink.write_sync([event])
            with lock:
                written.append(event["event_id"])
            if event["event_id"] not in ids_in(sink):  # acknowledged means readable
                unreadable.append(event["event_id"])

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unreadable == []
    assert ids_in(sink) == set(written)
    assert len(written) == 80
    assert sink.stats.rounds < 80  # group commit: fewer fsync rounds than requests


def test_emitted_events_are_flushed_within_max_delay(sink: EventSink):
    event = valid()
    sink.emit([event])
    assert ids_in(sink) == set()  # not yet: emitted events wait for company

    deadline = datetime.now(UTC).timestamp() + 3
    while not ids_in(sink) and datetime.now(UTC).timestamp() < deadline:
        threading.Event().wait(0.05)
    assert ids_in(sink) == {event["event_id"]}


def test_stop_flushes_what_was_emitted(tmp_path: Path):
    sink = EventSink(LandingZone(tmp_path), SystemClock(), max_delay=60)
    sink.start()
    event = valid()
    sink.emit([event])

    sink.stop()

    assert ids_in(sink) == {event["event_id"]}
    late = valid()
    sink.write_sync([late])  # after stop: written synchronously, not lost
    assert late["event_id"] in ids_in(sink)


def test_a_failed_write_is_reported_to_the_waiters(tmp_path: Path):
    blocked = tmp_path / "lake"
    blocked.write_text("a file where the lake folder should be")
    sink = EventSink(LandingZone(blocked), SystemClock())
    try:
        with pytest.raises(OSError):
            sink.write_sync([valid()])
        assert sink.stats.failures == 1
    finally:
        sink.stop()
