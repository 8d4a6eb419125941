"""The one writer of the landing zone in a server process, with group commit.

Requests hand validated events, already encoded as their JSON lines (so a round is file
I/O, not a burst of encoding that stalls the requests in flight), and rejects to a single
writer thread. Each round it takes everything queued, writes it with ``LandingZone`` (one
file per event date, plus one ``events_bad`` file per source: written aside, fsync'd,
renamed, folder fsync'd) and only then resolves every request that waited for it. An
acknowledgement therefore always follows the fsync, yet under load one fsync covers many
requests: while a round is being written, new requests queue up for the next one.

Two ways in:

* ``await sink.write(events, rejects)`` / ``sink.write_sync(...)``: durable. Returns once
  the events are on disk; ``/collect`` and the outbox drain use it.
* ``sink.emit(events)``: fire and forget, for server-side events on hot read paths (search,
  view_item) that must not wait for a disk. They ride along with the next durable round,
  or are flushed after at most ``max_delay`` seconds, so quiet periods do not make one
  tiny file per page view. A crash can lose the emitted events of that last interval.

Stopping flushes everything still queued. Writing after ``stop`` happens synchronously in
the caller's thread, so nothing handed over late is lost either.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

import structlog

from shop_api.core.clock import Clock
from shop_api.tracking.lake import EventLine, LandingZone, encode_event

log = structlog.get_logger(__name__)

Reject = tuple[Any, list[str]]


@dataclass
class SinkStats:
    rounds: int = 0
    events_written: int = 0
    rejects_written: int = 0
    files_written: int = 0
    emitted_dropped: int = 0
    failures: int = 0


class EventSink:
    def __init__(
        self,
        zone: LandingZone,
        clock: Clock,
        *,
        max_delay: float = 1.0,
        max_emitted: int = 5_000,
        max_backlog: int = 200_000,
    ) -> None:
        self.zone = zone
        self.clock = clock
        self.max_delay = max_delay
        self.max_emitted = max_emitted
        self.max_backlog = max_backlog
        self.stats = SinkStats()
        self._cond = threading.Condition(threading.Lock())
        self._events: list[EventLine] = []
        self._rejects: list[tuple[Any, list[str], str]] = []
        self._waiters: list[Future[None]] = []
        self._oldest_emitted: float | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._stopped:  # started again after a stop (e.g. a second lifespan)
                self._stopping = self._stopped = False
                self._thread = None
            self._start_locked()

    def _start_locked(self) -> None:
        if self._thread is None and not self._stopping:
            self._thread = threading.Thread(target=self._run, name="mercado-event-sink")
            self._thread.daemon = True
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Flush everything queued, then stop the writer thread."""
        with self._cond:
            self._stopping = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._stopped = True
            leftovers = self._take_locked()
        if any(leftovers):  # a writer that never started, or handed over while stopping
            self._write_round(*leftovers)

    # -- ways in --------------------------------------------------------------------------

    def submit(
        self,
        events: Iterable[dict[str, Any]],
        rejects: Iterable[Reject] = (),
        *,
        source: str = "collect",
        durable: bool = True,
    ) -> Future[None] | None:
        """Queue events and rejects; for ``durable`` a future resolved once they are on disk."""
        future: Future[None] | None = Future() if durable else None
        # Encoded here, in the caller's thread: each request pays for its own events.
        received_at = self.clock.now().isoformat()
        lines = [encode_event(event, received_at) for event in events]
        with self._cond:
            if self._stopped:
                stopped = True
            else:
                stopped = False
                if not durable and len(self._events) >= self.max_backlog:
                    self.stats.emitted_dropped += len(lines)
                    return None
                self._events.extend(lines)
                self._rejects.extend((raw, reasons, source) for raw, reasons in rejects)
                if future is not None:
                    self._waiters.append(future)
                    self._cond.notify()
                else:
                    if self._oldest_emitted is None:
                        self._oldest_emitted = time.monotonic()
                        self._cond.notify()
                    elif len(self._events) >= self.max_emitted:
                        self._cond.notify()
                self._start_locked()
        if stopped:
            self._write_round(
                lines,
                [(raw, reasons, source) for raw, reasons in rejects],
                [future] if future is not None else [],
            )
        return future

    async def write(
        self,
        events: Iterable[dict[str, Any]],
        rejects: Iterable[Reject] = (),
        *,
        source: str = "collect",
    ) -> None:
        """Durably write; returns once everything is fsync'd and renamed into place."""
        future = self.submit(events, rejects, source=source)
        assert future is not None
        await asyncio.wrap_future(future)

    def write_sync(
        self,
        events: Iterable[dict[str, Any]],
        rejects: Iterable[Reject] = (),
        *,
        source: str = "collect",
        timeout: float | None = 60.0,
    ) -> None:
        future = self.submit(events, rejects, source=source)
        assert future is not None
        future.result(timeout)

    def emit(
        self,
        events: Iterable[dict[str, Any]],
        rejects: Iterable[Reject] = (),
        *,
        source: str = "server",
    ) -> None:
        """Queue without waiting (never blocks on the disk)."""
        self.submit(events, rejects, source=source, durable=False)

    def flush(self, timeout: float | None = 60.0) -> None:
        """Wait until everything handed over so far is on disk."""
        self.write_sync((), timeout=timeout)

    # -- the writer -----------------------------------------------------------------------

    def _take_locked(
        self,
    ) -> tuple[list[EventLine], list[tuple[Any, list[str], str]], list[Future[None]]]:
        taken = (self._events, self._rejects, self._waiters)
        self._events, self._rejects, self._waiters = [], [], []
        self._oldest_emitted = None
        return taken

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._waiters or self._stopping:
                        break
                    if self._oldest_emitted is not None:
                        remaining = self._oldest_emitted + self.max_delay - time.monotonic()
                        if remaining <= 0 or len(self._events) >= self.max_emitted:
                            break
                        self._cond.wait(remaining)
                    else:
                        self._cond.wait()
                stopping = self._stopping
                events, rejects, waiters = self._take_locked()
            if events or rejects or waiters:
                self._write_round(events, rejects, waiters)
            if stopping:
                return

    def _write_round(
        self,
        events: list[EventLine],
        rejects: list[tuple[Any, list[str], str]],
        waiters: list[Future[None]],
    ) -> None:
        error: BaseException | None = None
        try:
            received_at = self.clock.now()
            files = 0
            if events:
                files += len(self.zone.write_lines(events, received_at))
            by_source: dict[str, list[tuple[Any, list[str]]]] = defaultdict(list)
            for raw, reasons, source in rejects:
                by_source[source].append((raw, reasons))
            for source, group in by_source.items():
                self.zone.write_rejects(group, received_at, source)
                files += 1
            self.stats.rounds += 1
            self.stats.events_written += len(events)
            self.stats.rejects_written += len(rejects)
            self.stats.files_written += files
        except Exception as exc:  # reported to every waiter; emitted events are lost
            error = exc
            self.stats.failures += 1
            log.exception("event_sink_write_failed", events=len(events), rejects=len(rejects))
        for future in waiters:
            try:
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)
            except InvalidStateError:  # the waiting request was cancelled meanwhile
                pass
