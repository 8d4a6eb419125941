"""Models measured against the simulator's ground truth: each shopper's true top-k by
utility among the listed items, read from a tiny hand-built truth folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from ml.config import TrainingConfig
from ml.evaluation import evaluate
from ml.truth import UTILITY, TruthError, read_truth, true_top_k, truth_metrics
from tests.ml.conftest import frame

PREFS = "pref_shoes,pref_books"


def write_truth(home: Path, utility: str = UTILITY) -> None:
    """Two shoppers: sh1 (account u1) likes shoes and seller sel2; sh2 never signed up
    (``client:c2``) and likes books. Item i5 was never listed in the shop."""
    folder = home / "sim" / "truth"
    folder.mkdir(parents=True)
    (folder / "shoppers.csv").write_text(
        f"shopper_key,client_id,budget,price_tolerance,favourite_sellers,{PREFS}\n"
        "sh1,c1,1.0,1.0,sel2,0.9,0.1\n"
        "sh2,c2,1.0,1.0,,0.1,0.9\n"
    )
    (folder / "items.csv").write_text(
        "item_key,seller_key,category,price_minor,quality\n"
        "i1,sel1,shoes,1000,0.5\n"
        "i2,sel2,shoes,1000,0.6\n"
        "i3,sel1,books,2000,0.5\n"
        "i4,sel1,books,2000,0.0\n"
        "i5,sel1,books,2000,2.0\n"
    )
    manifest = {"utility": utility, "category_median_price_minor": {"shoes": 1000, "books": 2000}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (home / "sim" / "id_map.csv").write_text(
        "kind,key,shop_id\nshopper,sh1,u1\nitem,i1,a\nitem,i2,b\nitem,i3,c\nitem,i4,d\n"
    )


def test_true_utility_follows_the_manifests_formula(tmp_path: Path) -> None:
    write_truth(tmp_path)
    truth = read_truth(tmp_path)
    assert truth is not None

    utility = truth.utility(["u1", "client:c2"], ["a", "b", "c", "d", "unlisted"])

    # sh1: log(0.9001) + quality - 0.5 (+1 for b's seller); prices sit at budget x median.
    shoes, books = np.log(0.9001), np.log(0.1001)
    np.testing.assert_allclose(utility[0, :4], [shoes, shoes + 1.1, books, books - 0.5])
    np.testing.assert_allclose(utility[1, :4], [books, books + 0.1, shoes, shoes - 0.5])
    assert np.isneginf(utility[:, 4]).all()


def test_the_true_top_k_leaves_out_training_positives_and_unlisted_items(
    tmp_path: Path,
) -> None:
    write_truth(tmp_path)
    truth = read_truth(tmp_path)
    assert truth is not None
    items = ["a", "b", "c", "d"]
    seen = np.array([[0, 1, 0, 0], [0, 0, 0, 0]], np.float32)  # u1 has b already

    top = true_top_k(truth, ["u1", "client:c2"], items, sp.csr_matrix(seen), 2)

    assert [[items[i] for i in row] for row in top] == [["a", "c"], ["c", "d"]]


def test_truth_metrics_score_the_overlap_with_the_true_top_k() -> None:
    ranked = np.array([[1, 0], [3, 2]])
    true = np.array([[1, 2], [0, 1]])
    result = truth_metrics(ranked, true, n_items=4)
    assert result["truth_recall@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert result["truth_ndcg@2"] == pytest.approx((1 / (1 + 1 / np.log2(3)) + 0.0) / 2)


def test_every_model_is_measured_against_the_truth_in_the_metric_table(tmp_path: Path) -> None:
    write_truth(tmp_path)
    truth = read_truth(tmp_path)
    rows = [("u1", "a", 1), ("client:c2", "d", 1)]
    rows += [(f"u{n}", item, t) for n in range(3, 9) for t, item in enumerate("cb")]
    config = TrainingConfig(k=2, candidates=({"family": "popularity"}, {"family": "item_knn"}))

    evaluation, _, _ = evaluate(
        frame(rows), frame([("u1", "b", 9)]), config, {"kind": "hand-built"}, truth=truth
    )

    report = evaluation.to_dict()
    # popularity offers b and c to both: u1's true top 2 is b, c; c2's is c, b.
    assert report["table"]["popularity"]["truth_recall@2"] == 1.0
    assert set(report["table"]["item_knn"]) >= {"truth_recall@2", "truth_ndcg@2"}
    assert report["flags"]["truth"]["users"] == 2
    assert "true R@2" in evaluation.render()


def test_a_truth_with_another_utility_formula_is_refused(tmp_path: Path) -> None:
    write_truth(tmp_path, utility="something else")
    with pytest.raises(TruthError, match="utility formula"):
        read_truth(tmp_path)
    assert read_truth(tmp_path / "elsewhere") is None


def test_the_utility_is_the_simulated_shoppers_own(tmp_path: Path) -> None:
    import random

    from simulator.driver import SimulationConfig
    from simulator.population import PopulationConfig, make_population
    from simulator.truth import write_truth as write_simulated

    population = make_population(PopulationConfig(shoppers=20, days=5), random.Random(3))
    write_simulated(population, SimulationConfig(shoppers=20, days=5), tmp_path / "sim" / "truth")
    items = population.items[:40]
    (tmp_path / "sim" / "id_map.csv").write_text(
        "kind,key,shop_id\n" + "".join(f"item,{i.key},L{i.key}\n" for i in items)
    )
    truth = read_truth(tmp_path)
    assert truth is not None

    shoppers = population.shoppers
    utility = truth.utility(
        [f"client:{s.client_id}" for s in shoppers], [f"L{i.key}" for i in items]
    )

    expected = [[s.utility(i, population.sellers[i.seller]) for i in items] for s in shoppers]
    np.testing.assert_allclose(utility, expected, atol=5e-3)  # the CSVs keep 6 decimals
