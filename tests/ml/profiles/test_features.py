"""Features as of a cut-off on hand-built inputs, and profiles built from them."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ml.profiles.build import build_profiles
from ml.profiles.features import features_as_of, registered
from ml.profiles.inputs import ProfileInputs
from tests.ml.profiles.conftest import ts

JUNE = ts("2026-06-01")


@pytest.fixture
def june(small_inputs: ProfileInputs) -> pd.DataFrame:
    with registered(small_inputs) as conn:
        return features_as_of(conn, JUNE).set_index("customer_id")


def test_only_customers_signed_up_and_not_erased_before_the_cut_off(june: pd.DataFrame) -> None:
    assert list(june.index) == ["ann", "bob"]


def test_orders_spend_and_seller_loyalty_count_only_paid_orders_before_the_cut_off(
    june: pd.DataFrame,
) -> None:
    ann, bob = june.loc["ann"], june.loc["bob"]
    assert (ann["orders"], ann["spend_minor"]) == (2, 9000)
    assert (ann["top_seller_id"], ann["top_seller_share"]) == ("s1", pytest.approx(6000 / 9000))
    assert ann["last_purchase_at"] == ts("2026-05-20 10:00")
    assert (bob["orders"], bob["spend_minor"]) == (0, 0)
    assert pd.isna(bob["top_seller_id"]) and pd.isna(bob["last_purchase_at"])


def test_category_and_price_affinity_weighted_by_interactions(june: pd.DataFrame) -> None:
    ann, bob = june.loc["ann"], june.loc["bob"]
    assert ann["top_category"] == "home"
    assert ann["top_category_share"] == pytest.approx(0.9)
    assert json.loads(ann["category_shares"]) == {"home": 0.9, "fashion": 0.1}
    # p2 is the dearer of two sofas (percentile 1), p3 the only dress (0)
    assert ann["price_percentile"] == pytest.approx(0.9)
    assert (bob["top_category"], bob["price_percentile"]) == ("electronics", 0.0)


def test_last_time_of_each_signal(june: pd.DataFrame) -> None:
    ann, bob = june.loc["ann"], june.loc["bob"]
    assert ann["last_view_at"] == ts("2026-05-20 09:00")
    assert ann["last_cart_at"] == ts("2026-05-20 09:00")
    assert ann["last_review_at"] == ts("2026-05-28 12:00")
    assert bob["last_search_at"] == ts("2026-05-25 09:00")
    assert bob["last_question_at"] == ts("2026-05-26 12:00")
    assert pd.isna(bob["last_cart_at"])  # his cart add came after the cut-off
    assert bob["sessions_30d"] == 1 and bob["searches_30d"] == 2


def test_profiles_carry_rfm_signup_attributes_and_a_null_embedding_without_a_model(
    small_inputs: ProfileInputs,
) -> None:
    built = build_profiles(small_inputs, as_of=JUNE)
    profiles = built.profiles.set_index("customer_id")

    assert profiles.loc["ann", "rfm_segment"] == "champions"
    assert pd.isna(profiles.loc["bob", "rfm_segment"])
    assert (profiles.loc["ann", "signup_channel"], profiles.loc["ann", "region"]) == (
        "social",
        "AT",
    )
    assert profiles.loc["ann", "price_band"] == "high"
    assert profiles.loc["bob", "price_band"] == "low"
    assert profiles["embedding"].isna().all()
    # two customers are too few to train on: no scores, and the metrics say why
    assert built.propensity["status"] == "skipped"
    assert profiles["purchase_propensity_30d"].isna().all()


def test_default_as_of_is_the_midnight_after_the_last_activity(small_inputs: ProfileInputs) -> None:
    assert build_profiles(small_inputs).as_of == ts("2026-06-21")
