"""``POST /collect`` from a second process, so clickstream collection uses the other core.

Validating and landing millions of events is about a third of a big simulation's work and
does not depend on anything else the shop does. The helper process builds its own
in-process app on the same home (same database and landing zone), takes batches through
a bounded queue (the simulator blocks when it is 16 batches ahead), sets its clock to the
simulated time each batch was sent at and posts it to its own ``/collect``. Results come
back through a second queue; the first failure stops the simulation. ``sync`` waits until
every batch sent so far is answered and on disk (the demo's simulated midnight, before
the pipeline reads the lake).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.behaviour import Reply

Result = tuple[int, Any]  # (status, body) of one POST /collect; status -1: the worker failed
SYNC = "sync"  # asks the worker to write its events out and answer SYNCED
SYNCED = (0, "synced")


def _serve(
    home: str, start: str, database_url: str | None, inbox: Any, outbox: Any
) -> None:  # pragma: no cover - runs in the helper process
    try:
        from simulator.shop import InProcessShop

        shop = InProcessShop(Path(home), datetime.fromisoformat(start), database_url, prepare=False)
    except BaseException:
        outbox.put((-1, traceback.format_exc()))
        return
    parent = os.getppid()
    try:
        while True:
            try:
                message = inbox.get(timeout=5)
            except queue.Empty:
                if os.getppid() != parent:  # the simulator is gone: so is this process
                    break
                continue
            if message is None:
                break
            if message == SYNC:
                shop.flush_events()
                outbox.put(SYNCED)
                continue
            timestamp, body, token = message
            shop.set_time(datetime.fromtimestamp(timestamp, UTC))
            headers = {"content-type": "application/json"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            reply = shop.request("POST", "/collect", content=body, headers=headers)
            outbox.put((reply.status, reply.body))
    except BaseException:
        outbox.put((-1, traceback.format_exc()))
    finally:
        shop.close()
        outbox.put(None)


class CollectorProcess:
    def __init__(
        self, home: Path, start: datetime, database_url: str | None, *, backlog: int = 16
    ) -> None:
        context = multiprocessing.get_context("spawn")  # no threads or sockets inherited
        self._inbox = context.Queue(maxsize=backlog)
        self._outbox = context.Queue()
        self._process = context.Process(
            target=_serve,
            args=(str(home), start.isoformat(), database_url, self._inbox, self._outbox),
            name="mercado-sim-collector",
            daemon=True,
        )
        self._process.start()
        self._closed = False

    def post(self, at: datetime, body: bytes, token: str | None) -> list[Reply]:
        """Queue a batch; returns the answers that have come back meanwhile."""
        while True:
            try:
                self._inbox.put((at.timestamp(), body, token), timeout=5)
                break
            except queue.Full:
                if not self._process.is_alive():
                    return self._take(block=False) or [Reply(-1, "the collector process died")]
        return self._take(block=False)

    def sync(self) -> list[Reply]:
        """Wait until every batch queued so far is answered and its events are in the lake;
        returns the answers that came back meanwhile."""
        if self._closed or not self._process.is_alive():
            return self._take(block=False)
        self._inbox.put(SYNC)
        return self._take(block=True, until_synced=True)

    def _take(self, *, block: bool, until_synced: bool = False) -> list[Reply]:
        replies = []
        while True:
            try:
                item = self._outbox.get(block=block, timeout=600 if block else None)
            except queue.Empty:
                if block:
                    replies.append(Reply(-1, "the collector process stopped answering"))
                return replies
            if item is None:  # the worker has finished
                return replies
            if tuple(item) == SYNCED:
                if until_synced:
                    return replies
                continue
            replies.append(Reply(item[0], item[1]))

    def close(self) -> list[Reply]:
        """Send the end, wait for every remaining answer, stop the process."""
        if self._closed:
            return []
        self._closed = True
        if self._process.is_alive():
            self._inbox.put(None)
            replies = self._take(block=True)
        else:
            replies = self._take(block=False)
        self._process.join(timeout=60)
        return replies
