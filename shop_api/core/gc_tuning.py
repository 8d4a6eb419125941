"""The garbage collector's settings for a long-running API process."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived_heap(young_threshold: int) -> Iterator[None]:
    """Keep what startup built out of the cyclic collector's way while the app serves.

    A worker's heap is mostly long-lived: modules, routes, pydantic validators, SQLAlchemy
    mappers and compiled statements. CPython's full collections walk all of it, and under
    load they came every few seconds and paused a worker for 100-400 ms (the tail of the
    latency figures). ``gc.freeze`` moves the startup heap to a generation the collector
    never walks; a higher young-generation threshold runs the young collections, which
    still reclaim each request's cycles, less often. ``young_threshold`` 0 leaves the
    collector as it is. Undone on exit, so a process that builds many apps (tests) frees
    the old ones.
    """
    if young_threshold <= 0:
        yield
        return
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
