"""Runs a suite on a pandas batch with GE itself (an ephemeral context, no network)."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from expectations.context import data_context
from expectations.results import Outcome, from_ge


@functools.cache
def _batch_definition() -> Any:
    source = data_context().data_sources.add_pandas("mercado_frames")
    return source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("whole")


def validate_frame(suite: Any, frame: pd.DataFrame) -> list[Outcome]:
    """Validate ``frame`` (one batch: a partition, a mart) against ``suite`` with GE."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    return from_ge(suite.name, batch.validate(suite, result_format="SUMMARY"))
