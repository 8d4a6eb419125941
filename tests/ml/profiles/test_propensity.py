"""The purchase-propensity model against the RFM-only baseline, on simulated months.

The small simulated shop of the orchestration tests covers 10 days, too short for a
60-day time split; ``ml.profiles.synthetic`` simulates 6 months of shoppers who visit,
cart, buy and churn (see its docstring), and ``simulator.histories`` the shop
simulator's own shoppers for 100 days."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ml.profiles.build import build_profiles
from ml.profiles.propensity import reliability
from ml.profiles.synthetic import synthetic_inputs
from simulator.histories import histories


@pytest.fixture(scope="module")
def built():
    return build_profiles(synthetic_inputs(6000, seed=3))


def test_beats_the_rfm_baseline_on_held_out_month(built) -> None:
    metrics = built.propensity
    model, baseline = metrics["model"], metrics["rfm_baseline"]

    assert metrics["status"] == "trained"
    assert model["auc"] > baseline["auc"] + 0.05
    assert model["brier"] < baseline["brier"]
    assert model["ece"] < 0.05


def test_a_small_shop_s_model_is_chosen_on_the_training_window_and_beats_rfm() -> None:
    """400 customers: ~330 training rows, few enough for trees to overfit; the family
    (trees or regularised logistic regression) is chosen by cross-validation on the
    training cut-off, and the chosen one beats RFM on the held-out month."""
    metrics = build_profiles(synthetic_inputs(400, seed=2)).propensity
    cv_auc = metrics["selection"]["cv_auc"]

    assert metrics["status"] == "trained" and metrics["split"]["train_rows"] < 400
    assert set(cv_auc) == {"gradient_boosting", "logistic"}
    assert metrics["family"] == metrics["selection"]["chosen"] == max(cv_auc, key=cv_auc.get)
    assert metrics["model"]["auc"] > metrics["rfm_baseline"]["auc"]
    assert 0 <= metrics["model"]["ece"] < 1 and metrics["model"]["reliability"]


def test_a_shop_without_questions_or_reviews_still_trains_and_scores() -> None:
    """A young shop's signals that never happened are columns with no value at all: the
    model learns from the others instead of failing."""
    inputs = synthetic_inputs(400, seed=2)
    quiet = replace(inputs, questions=inputs.questions.iloc[0:0], reviews=inputs.reviews.iloc[0:0])

    built = build_profiles(quiet)

    assert built.propensity["status"] == "trained"
    assert built.propensity["model"]["auc"] > built.propensity["rfm_baseline"]["auc"]
    assert built.profiles["purchase_propensity_30d"].between(0, 1).all()


def test_time_split_trains_before_it_tests(built) -> None:
    split = built.propensity["split"]

    assert split["train_cutoff"] < split["test_cutoff"] < split["as_of"]
    assert split["train_positives"] > 0 and split["test_positives"] > 0


def test_everyone_scored_with_a_probability(built) -> None:
    scores = built.profiles["purchase_propensity_30d"]

    assert scores.notna().all()
    assert ((scores > 0) & (scores < 1)).all()


def test_reliability_table_and_expected_calibration_error() -> None:
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.15, 0.95, 0.85])

    table = reliability(y, p)

    assert [row["bin"] for row in table["table"]] == ["0.0-0.1", "0.1-0.2", "0.8-0.9", "0.9-1.0"]
    assert [row["rows"] for row in table["table"]] == [1, 2, 1, 1]
    # gaps: |0 - .05| + |1 - .30| + |1 - .85| + |1 - .95| over 5 rows
    assert table["ece"] == pytest.approx((0.05 + 0.70 + 0.15 + 0.05) / 5)


@pytest.mark.slow  # about 9 s of CPU (23 s on a loaded machine): the simulation is Python
def test_beats_the_rfm_baseline_on_the_shop_simulator_s_shoppers() -> None:
    """The acceptance: 1,000 of the shop simulator's shoppers (its population: activity,
    churn, tastes, loyalty) over 100 days, their visits, carts and orders simulated by
    its behaviour's formulas without the API (``simulator.histories``)."""
    metrics = build_profiles(histories(1000, 100, seed=1)).propensity

    assert metrics["status"] == "trained"
    assert metrics["split"]["test_positives"] >= 30
    assert metrics["model"]["auc"] > metrics["rfm_baseline"]["auc"] + 0.05
