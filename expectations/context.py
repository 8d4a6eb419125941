"""The one GE data context of a process: ephemeral (nothing written, nothing fetched)."""

from __future__ import annotations

import functools
from typing import Any

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig


@functools.cache
def data_context() -> Any:
    """GE 1.x binds suites to the active context; ours keeps everything in memory."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context
