"""The collector settings a serving worker runs with, and that they are undone after."""

from __future__ import annotations

import gc

from shop_api.core.gc_tuning import long_lived_heap


def test_serving_freezes_the_startup_heap_and_collects_the_young_less_often() -> None:
    before = gc.get_threshold()
    with long_lived_heap(10_000):
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (10_000, *before[1:])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_zero_threshold_leaves_the_collector_alone() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with long_lived_heap(0):
        assert gc.get_freeze_count() == frozen
        assert gc.get_threshold() == before
