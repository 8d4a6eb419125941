"""Splitters and the weighting of signals."""

from __future__ import annotations

import pandas as pd
import pytest

from ml import columns as c
from ml.data import reweigh_mart, signal_weights, signup_attributes, weigh_events, weight_grid
from ml.model_selection import leave_last_n, random_split, time_fraction


def test_leave_last_n_takes_each_users_latest_rows_ties_by_numeric_item_id() -> None:
    rows = pd.DataFrame(
        {
            c.USER: ["u"] * 4 + ["v"],
            c.ITEM: ["9", "10", "2", "3", "1"],
            c.TIMESTAMP: [5, 5, 1, 2, 1],
        }
    )
    split = leave_last_n(rows, 2)
    assert sorted(split.test[c.ITEM]) == ["10", "9"]  # t=5; v keeps its only row
    assert sorted(split.train[c.ITEM]) == ["1", "2", "3"]
    assert leave_last_n(rows, 3).test[c.ITEM].tolist() == ["9", "10", "3"]


def test_time_and_random_splits_partition_the_rows() -> None:
    rows = pd.DataFrame({c.USER: list("abcdefghij"), c.ITEM: "x", c.TIMESTAMP: range(10)})
    by_time = time_fraction(rows, 0.3)
    assert by_time.test[c.TIMESTAMP].tolist() == [7, 8, 9]
    at_random = random_split(rows, 0.5, seed=1)
    assert len(at_random.train) + len(at_random.test) == 10
    assert at_random.test.equals(random_split(rows, 0.5, seed=1).test)


def test_signals_are_weighted_by_the_dbt_interaction_weights() -> None:
    weights = signal_weights()
    events = pd.DataFrame(
        {
            c.USER: ["u", "u", "u"],
            c.ITEM: ["a", "a", "b"],
            c.TIMESTAMP: [1, 2, 3],
            c.EVENT: ["view_item", "purchase", "write_review"],
            c.VALUE: ["", "", "4"],
        }
    )
    weighed = weigh_events(events).set_index(c.ITEM)
    assert weighed.loc["a", c.WEIGHT] == pytest.approx(weights["view_item"] + weights["purchase"])
    assert weighed.loc["a", c.TIMESTAMP] == 2
    assert weighed.loc["b", c.WEIGHT] == pytest.approx(weights["write_review"] * 4 / 5)


def test_the_marts_signals_are_reweighed_as_the_mart_weighs_them() -> None:
    mart = pd.DataFrame(
        {
            "views": [2, 0], "clicks": [1, 0], "cart_adds": [1, 0], "units_purchased": [1, 0],
            "review_rating": [5, None],
        }
    )  # fmt: skip
    grid = weight_grid({"view_item": 1, "select_item": 0.5, "add_to_cart": 3, "purchase": 5,
                        "write_review": 2})  # fmt: skip

    assert reweigh_mart(mart, grid["defaults"]).tolist() == [2 + 0.5 + 3 + 5 + 2, 0]
    assert reweigh_mart(mart, grid["equal"]).tolist() == [2 + 1 + 1 + 1 + 1, 0]
    assert reweigh_mart(mart, grid["intent_x2"]).tolist() == [2 + 0.5 + 6 + 10 + 2, 0]
    assert reweigh_mart(mart, grid["browsing_x0.5"]).tolist() == [1 + 0.25 + 3 + 5 + 2, 0]


def test_an_account_is_described_by_the_visit_it_signed_up_in() -> None:
    sessions = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u3", None],
            "session_id": ["s2", "s1", "s3", "s4", "s5"],
            "session_start_at": [2, 1, 1, 1, 0],
            "channel": ["email", "social", "direct", "paid_search", "email"],
            "locale": ["en-GB", "de_AT", "fr", None, "it-IT"],
        }
    )
    users = signup_attributes(sessions).set_index(c.USER)
    assert users[c.SIGNUP_CHANNEL].to_dict() == {
        "u1": "social", "u2": "direct", "u3": "paid_search"
    }  # fmt: skip
    assert users[c.REGION].dropna().to_dict() == {"u1": "AT"}  # "fr" names no region


def test_a_test_set_of_users_and_items_unknown_to_training_evaluates_to_no_rows() -> None:
    from ml.config import TrainingConfig
    from ml.evaluation import evaluate
    from tests.ml.conftest import frame

    train = frame([(f"u{n}", item, t) for n in range(6) for t, item in enumerate("abc")])
    test = frame([("newcomer", "z", 9)])
    config = TrainingConfig(k=2, candidates=({"family": "popularity"},))

    evaluation, _, _ = evaluate(train, test, config, {"kind": "hand-built"})

    assert evaluation.flags["test_rows_evaluated"] == 0
    assert evaluation.table()["popularity"].keys() == {"fit_seconds"}
