"""Token buckets in memory, one per client key (per server process).

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request
costs as many tokens as it carries events. Buckets that have refilled completely are
forgotten now and then, so memory follows the number of recently active clients.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Take:
    """The outcome of one ``take``: ``wait`` is 0.0 when admitted, else the seconds until
    the request would be; ``remaining`` tokens are left; the bucket is full again in
    ``full_in`` seconds."""

    wait: float
    remaining: int
    full_in: float

    @property
    def admitted(self) -> bool:
        return self.wait == 0.0


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sweep_every: int = 4096,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sweep_every = sweep_every
        self._calls = 0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    def take(self, key: str, cost: float) -> Take:
        """Spend ``cost`` tokens if the bucket holds them.

        A cost above ``burst`` is charged as ``burst`` (a full bucket always admits one
        maximal request)."""
        now = self._clock()
        cost = min(cost, self.burst)
        tokens, updated = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        self._calls += 1
        if self._calls % self._sweep_every == 0:
            self._sweep(now)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (cost - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        return Take(wait, math.floor(tokens), (self.burst - tokens) / self.rate)

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            key: value for key, value in self._buckets.items() if now - value[1] < full_after
        }

    def __len__(self) -> int:
        return len(self._buckets)
