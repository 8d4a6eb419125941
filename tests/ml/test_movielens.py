"""Quality floor on real data: MovieLens 100k with issue 15's protocol."""

from __future__ import annotations

import pytest

from ml.config import TrainingConfig
from ml.movielens import benchmark
from simulator.importers.datasets import MOVIELENS, data_dir, dataset_unavailable_reason

UNAVAILABLE = dataset_unavailable_reason(MOVIELENS, "u.data", "u.item", "u.user", "u.genre")


@pytest.mark.slow
@pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")
def test_the_production_model_reaches_the_movielens_floor() -> None:
    # The neighbourhood candidates only: LightFM and ALS add a minute and never win here
    # (`mercado ml benchmark movielens` runs them all).
    candidates = (
        {"family": "popularity"},
        {"family": "ease"},
        {"family": "ease", "profile_half_life": 5.0},
        {"family": "ease", "profile_half_life": 10.0},
    )
    evaluation = benchmark(data_dir() / MOVIELENS, TrainingConfig(candidates=candidates))
    table = evaluation.table()
    assert table[evaluation.winner]["precision@10"] >= 0.135
    assert table[evaluation.winner]["precision@10"] > table["popularity"]["precision@10"]
