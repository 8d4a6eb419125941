"""The engine: runs the behaviour's flows in simulated-time order against the shop.

A heap of (time, sequence, flow) entries is the whole scheduler: the earliest entry runs
next, the clock (the shop's ``FrozenClock`` in-process) is set to its time first, and
the flow runs until it waits for a later time (``Until``) or ends. API calls and
``Settle`` run immediately at the current time. Because every random draw comes from
generators seeded by (seed, what, who, when) and ties are broken by insertion order, a
seed gives the same run every time.

Clickstream events wait in the ``EventSink`` until the clock reaches them and go to
``POST /collect`` in batches of up to 500 events (under 1 MB).
"""

from __future__ import annotations

import heapq
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from simulator import truth
from simulator.behaviour import Behaviour, Call, Flow, Reply, Settle, Until
from simulator.collector import CollectorProcess
from simulator.population import PopulationConfig, make_population
from simulator.shop import HttpShop, InProcessShop, Shop
from simulator.tag import EventSink

MAX_REPORTED_REJECTS = 20


class SimulationError(RuntimeError):
    """The shop answered in a way the simulation cannot go on from."""


@dataclass
class SimulationConfig:
    shoppers: int = 1000
    days: int = 30
    seed: int = 42
    start: date = date(2026, 1, 1)
    home: Path = Path("var")
    base_url: str | None = None
    database_url: str | None = None
    sellers: int | None = None
    batch_size: int = 500
    max_batch_bytes: int = 900_000
    visit_rate: float = 0.4
    consent_rate: float = 0.5
    http_settle_seconds: float = 1.5
    # POST /collect from a second process (in-process mode only); None: for big runs.
    collect_process: bool | None = None
    strict: bool = False  # raise on rejected events and unplanned answers (tests)

    @property
    def uses_collect_process(self) -> bool:
        if self.base_url:
            return False
        if self.collect_process is None:
            return self.shoppers * self.days >= 20_000
        return self.collect_process

    @property
    def population(self) -> PopulationConfig:
        return PopulationConfig(
            shoppers=self.shoppers,
            days=self.days,
            sellers=self.sellers,
            visit_rate=self.visit_rate,
            consent_rate=self.consent_rate,
        )

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    def parameters(self) -> dict[str, Any]:
        """What determines the run (for the manifest); where it ran is not part of it."""
        values = asdict(self)
        for key in (
            "home",
            "base_url",
            "database_url",
            "strict",
            "http_settle_seconds",
            "collect_process",
        ):
            values.pop(key)
        values["start"] = self.start.isoformat()
        return values


@dataclass
class DayReport:
    day: date
    sessions: int
    events: int
    orders: int
    total_events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.total_events / self.seconds if self.seconds else 0.0


@dataclass
class RunReport:
    config: dict[str, Any]
    seconds: float = 0.0
    events_sent: int = 0
    events_accepted: int = 0
    events_rejected: int = 0
    batches: int = 0
    api_calls: int = 0
    events_by_name: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    rejects: list[Any] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    truth_dir: str = ""

    @property
    def events_per_second(self) -> float:
        return self.events_accepted / self.seconds if self.seconds else 0.0


class Simulator:
    def __init__(
        self,
        config: SimulationConfig,
        *,
        shop: Shop | None = None,
        progress: Callable[[DayReport], None] | None = None,
        midnight: Callable[[date], None] | None = None,
    ) -> None:
        """``midnight(day)`` runs between simulated days, before ``day`` begins, with the
        events so far in the lake (the collect process's too) and the shop's
        ids so far in ``sim/id_map.csv``: a model trained and published there serves from
        ``day`` on (the demo does this)."""
        self.config = config
        self.progress = progress
        self.midnight = midnight
        start = config.start_at
        self.shop = shop or (
            HttpShop(config.base_url, config.http_settle_seconds)
            if config.base_url
            else InProcessShop(config.home.expanduser().resolve(), start, config.database_url)
        )
        self.now = start
        self._heap: list[tuple[float, int, Flow, Any]] = []
        self._sequence = 0
        self.report = RunReport(config=config.parameters())
        self.sink = EventSink(
            self._send, batch_size=config.batch_size, max_bytes=config.max_batch_bytes
        )
        self.collector: CollectorProcess | None = None
        if config.uses_collect_process:
            self.collector = CollectorProcess(
                config.home.expanduser().resolve(), start, config.database_url
            )

    # ----- scheduling ------------------------------------------------------------------

    def spawn(self, at: datetime, flow: Flow) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (at.timestamp(), self._sequence, flow, None))

    def _advance(self, timestamp: float) -> None:
        if timestamp > self.now.timestamp():
            self.now = datetime.fromtimestamp(timestamp, UTC)
            self.shop.set_time(self.now)
        self.sink.release(self.now.timestamp())

    def _step(self, flow: Flow, value: Any) -> None:
        """Run ``flow`` until it waits for a later time or ends."""
        send = flow.send
        try:
            command = send(value)
            while True:
                if type(command) is Call:
                    command = send(self._call(command))
                elif type(command) is Until:
                    if command.at.timestamp() > self.now.timestamp():
                        self._sequence += 1
                        heapq.heappush(
                            self._heap, (command.at.timestamp(), self._sequence, flow, None)
                        )
                        return
                    command = send(None)
                elif type(command) is Settle:
                    self.shop.settle()
                    command = send(None)
                else:
                    raise TypeError(f"a flow yielded {command!r}")
        except StopIteration:
            return

    def run_until(self, moment: datetime) -> None:
        limit = moment.timestamp()
        heap = self._heap
        while heap and heap[0][0] < limit:
            timestamp, _, flow, value = heapq.heappop(heap)
            self._advance(timestamp)
            self._step(flow, value)
        self._advance(limit)

    # ----- I/O -------------------------------------------------------------------------

    def _call(self, call: Call) -> Reply:
        self.report.api_calls += 1
        reply = self.shop.request(
            call.method, call.path, json=call.json, data=call.data, files=call.files,
            headers=call.headers,
        )  # fmt: skip
        if reply.status >= 500:
            raise SimulationError(
                f"{call.method} {call.path} answered {reply.status}: {str(reply.body)[:500]}"
            )
        return reply

    def _send(self, lines: list[bytes], token: str | None) -> None:
        body = b'{"events":[' + b",".join(lines) + b"]}"
        self.report.batches += 1
        self.report.events_sent += len(lines)
        if self.collector is not None:
            for reply in self.collector.post(self.now, body, token):
                self._record(reply)
            return
        headers = {"content-type": "application/json"}
        if token is not None:  # one signed-in browser's events, with its bearer token
            headers["Authorization"] = f"Bearer {token}"
        for _ in range(10):
            reply = self.shop.request("POST", "/collect", content=body, headers=headers)
            if reply.status != 429:
                break
            time.sleep(float(reply.headers.get("retry-after", "1")))
        self._record(reply)

    def _record(self, reply: Reply) -> None:
        """Account for one answer of /collect; anything but 200 stops the simulation."""
        report = self.report
        if reply.status == -1:
            raise SimulationError(f"the collector process failed:\n{reply.body}")
        if reply.status in (404, 405):
            raise SimulationError(
                "POST /collect is not available in this shop (answered "
                f"{reply.status}): the simulator needs the clickstream collector"
            )
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise SimulationError(f"POST /collect answered {reply.status}: {reply.body!r:.500}")
        accepted, rejected = reply.body["accepted"], reply.body["rejected"]
        report.events_accepted += len(accepted)
        report.events_rejected += len(rejected)
        if rejected:
            room = MAX_REPORTED_REJECTS - len(report.rejects)
            report.rejects.extend(rejected[: max(0, room)])
            if self.config.strict:
                raise SimulationError(f"/collect rejected {len(rejected)} events: {rejected[:3]}")

    # ----- the run ---------------------------------------------------------------------

    def run(self) -> RunReport:
        config = self.config
        started = time.perf_counter()
        population = make_population(config.population, _population_rng(config.seed))
        truth_dir = truth.write_truth(
            population, config, truth.truth_dir(config.home.expanduser().resolve())
        )
        self.report.truth_dir = str(truth_dir)
        behaviour = Behaviour(
            population, seed=config.seed, start=config.start_at, sink=self.sink,
            spawn=self.spawn, now=lambda: self.now,
            token_minutes=getattr(getattr(self.shop, "settings", None), "access_token_minutes",
                                  60 * 24),
        )  # fmt: skip
        self.behaviour = behaviour
        self.shop.set_time(self.now)
        try:
            for day in range(config.days):
                events_before = self.sink.emitted
                orders_before = behaviour.stats["orders_paid"]
                serves_model = self.shop.load_recommender()
                sessions = behaviour.plan_day(day, serves_model=serves_model)
                self.run_until(behaviour.day_start(day + 1))
                if self.progress:
                    self.progress(
                        DayReport(
                            day=(config.start_at + timedelta(days=day)).date(),
                            sessions=sessions,
                            events=self.sink.emitted - events_before,
                            orders=behaviour.stats["orders_paid"] - orders_before,
                            total_events=self.report.events_accepted,
                            seconds=time.perf_counter() - started,
                        )
                    )
                if self.midnight is not None and day + 1 < config.days:
                    self.sink.flush()
                    if self.collector is not None:  # its batches in the lake too
                        for reply in self.collector.sync():
                            self._record(reply)
                    self.shop.flush_events()
                    truth.write_ids(behaviour, config.home.expanduser().resolve())
                    paused = time.perf_counter()
                    self.midnight((config.start_at + timedelta(days=day + 1)).date())
                    started += time.perf_counter() - paused  # the run's time is its own
            self.shop.settle()
            # Sessions that began before the end still send their last events.
            latest = self.sink.latest
            if latest is not None:
                self._advance(latest)
            self.sink.drain()
            if self.collector is not None:
                for reply in self.collector.close():
                    self._record(reply)
        finally:
            if self.collector is not None:
                self.collector.close()
            self.report.seconds = time.perf_counter() - started
            self.report.events_by_name = dict(sorted(self.sink.by_name.items()))
            self.report.stats = dict(sorted(behaviour.stats.items()))
            self.report.unexpected = list(behaviour.unexpected)
            home = config.home.expanduser().resolve()
            truth.write_ids(behaviour, home)
            truth.write_run_report(self.report, home)
            self.shop.close()
        if config.strict and behaviour.unexpected:
            raise SimulationError(f"unplanned answers from the shop: {behaviour.unexpected[:5]}")
        return self.report


def _population_rng(seed: int) -> random.Random:
    return random.Random(f"{seed}:population")


def run_simulation(
    config: SimulationConfig, progress: Callable[[DayReport], None] | None = None
) -> RunReport:
    return Simulator(config, progress=progress).run()


def dumps_report(report: RunReport) -> str:
    values = asdict(report)
    values["events_per_second"] = round(report.events_per_second, 1)
    return json.dumps(values, indent=2, default=str)
