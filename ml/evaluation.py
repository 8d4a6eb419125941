"""Runs every candidate with the same split, metrics and k, and picks the winner on a
validation split carved from the training set only (the test split never chooses)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml import columns as c
from ml import metrics
from ml.config import TrainingConfig
from ml.data import TrainingData, build_training_data
from ml.model_selection import Split, leave_last_n, random_split, time_fraction
from ml.models import Recommender, model_from_dict
from ml.ranking import batches, top_k
from ml.truth import Truth, true_top_k, truth_metrics

SELECTION_METRIC = "precision"
Progress = Callable[[str], None]


@dataclass
class ModelResult:
    name: str
    config: dict[str, Any]
    metrics: dict[str, float]
    fit_seconds: float
    segments: dict[str, dict[str, float]] = field(default_factory=dict)
    validation: float | None = None


@dataclass
class Evaluation:
    results: list[ModelResult]
    split: dict[str, Any]
    flags: dict[str, Any]
    winner: str
    k: int

    def table(self) -> dict[str, dict[str, float]]:
        """``{model: {metric@k: value, "fit_seconds": s}}``, as in ``metrics.json``."""
        return {r.name: {**r.metrics, "fit_seconds": round(r.fit_seconds, 3)} for r in self.results}

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "table": self.table(),
            "validation": {
                f"{SELECTION_METRIC}@{self.k}": {r.name: r.validation for r in self.results}
            },
            "segments": {r.name: r.segments for r in self.results},
            "split": self.split,
            "flags": self.flags,
            "winner": self.winner,
        }

    def render(self) -> str:
        """The metric table as aligned text, the winner marked."""
        return render_table(self.to_dict())


def render_table(report: dict[str, Any]) -> str:
    """The metric table of ``Evaluation.to_dict()`` (a version's ``metrics.json``) as
    aligned text, the winner marked: what ``mercado ml`` and the demo print."""
    k = report["k"]
    table: dict[str, dict[str, float]] = report["table"]
    validation = report["validation"][f"{SELECTION_METRIC}@{k}"]
    names = [
        f"precision@{k}",
        f"recall@{k}",
        f"ndcg@{k}",
        f"map@{k}",
        "auc",
        f"coverage@{k}",
        f"novelty@{k}",
    ]
    if any(f"truth_recall@{k}" in values for values in table.values()):
        names += [f"truth_recall@{k}", f"truth_ndcg@{k}"]
    short = {
        "precision": "P",
        "recall": "R",
        "ndcg": "NDCG",
        "map": "MAP",
        "coverage": "cov",
        "truth_recall": "true R",
        "truth_ndcg": "true NDCG",
    }
    headers = ["model"]
    for metric in names:
        base, _, cut = metric.partition("@")
        headers.append(f"{short.get(base, base)}@{cut}" if cut else base)
    headers += [f"val P@{k}", "fit s"]
    rows = []
    for name, values in table.items():
        cells = [name + (" *" if name == report["winner"] else "")]
        cells += [f"{values[n]:.4f}" if n in values else "-" for n in names]
        chosen_on = validation.get(name)
        cells += ["-" if chosen_on is None else f"{chosen_on:.4f}", f"{values['fit_seconds']:.2f}"]
        rows.append(cells)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"* winner, chosen on {SELECTION_METRIC}@{k} of the validation split")
    return "\n".join(lines)


def fit(config: dict[str, Any], data: TrainingData, seed: int) -> tuple[Recommender, float]:
    """The fitted model and its fit time in seconds."""
    model = model_from_dict(config, seed=seed)
    started = time.perf_counter()
    model.fit(data)
    return model, time.perf_counter() - started


def scored_batches(
    model: Recommender, data: TrainingData, user_rows: np.ndarray, k: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(user rows, full scores, top-k items) per batch, training positives excluded."""
    positives = data.positives
    for rows in batches(user_rows, data.shape[1]):
        scores = model.score(rows)
        items, _ = top_k(scores.copy(), k, exclude=positives[rows])
        yield rows, scores, items


def evaluate_model(
    model: Recommender, data: TrainingData, test: pd.DataFrame, config: TrainingConfig
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Metrics over the test users known to ``data``, overall and per user segment."""
    known = data.rows_of(test)
    user_rows = np.unique(known[c.USER_ROW].to_numpy()).astype(np.int64)
    relevant = sp.csr_matrix(
        (np.ones(len(known), np.float32), (known[c.USER_ROW], known[c.ITEM_ROW])),
        shape=data.shape,
    )[user_rows]
    positives = data.positives
    ranked, aucs = [], []
    for rows, scores, items in scored_batches(model, data, user_rows, config.k):
        ranked.append(items)
        finite = np.where(np.isfinite(scores), scores, np.float32(-1e30))
        aucs.append(metrics.auc(finite, relevant_rows(relevant, user_rows, rows), positives[rows]))
    ranked_all = np.vstack(ranked) if ranked else np.zeros((0, config.k), np.int32)
    result = metrics.summary(ranked_all, relevant, positives[user_rows]) if len(user_rows) else {}
    if len(user_rows):
        result["auc"] = float(np.mean(np.concatenate(aucs)))
    counts = np.diff(positives.indptr)[user_rows]
    segments = {}
    for segment, mask in user_segments(counts, config).items():
        if mask.any():
            part = ranked_all[mask], relevant[mask]
            segments[segment] = {
                "users": int(mask.sum()),
                f"precision@{config.k}": float(np.mean(metrics.precision_at_k(*part))),
                f"recall@{config.k}": float(np.mean(metrics.recall_at_k(*part))),
                f"ndcg@{config.k}": float(np.mean(metrics.ndcg_at_k(*part))),
            }
    return result, segments


def truth_lists(truth: Truth | None, data: TrainingData, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The user rows the truth knows and their true top-k (empty without truth)."""
    if truth is None:
        return np.zeros(0, np.int64), np.zeros((0, k), np.int32)
    known = truth.shoppers.index
    rows = np.array([r for r, user in enumerate(data.user_ids) if user in known], np.int64)
    users = [data.user_ids[r] for r in rows]
    return rows, true_top_k(truth, users, data.item_ids, data.positives[rows], k)


def relevant_rows(
    relevant: sp.csr_matrix, user_rows: np.ndarray, rows: np.ndarray
) -> sp.csr_matrix:
    return relevant[np.searchsorted(user_rows, rows)]


def user_segments(train_counts: np.ndarray, config: TrainingConfig) -> dict[str, np.ndarray]:
    """cold / light / heavy users by their number of training interactions."""
    return {
        "cold": train_counts <= config.cold_user_max,
        "light": (train_counts > config.cold_user_max) & (train_counts <= config.light_user_max),
        "heavy": train_counts > config.light_user_max,
    }


def precision(model: Recommender, data: TrainingData, test: pd.DataFrame, k: int) -> float:
    known = data.rows_of(test)
    if known.empty:
        return 0.0
    user_rows = np.unique(known[c.USER_ROW].to_numpy()).astype(np.int64)
    relevant = sp.csr_matrix(
        (np.ones(len(known), np.float32), (known[c.USER_ROW], known[c.ITEM_ROW])),
        shape=data.shape,
    )[user_rows]
    ranked = np.vstack([items for _, _, items in scored_batches(model, data, user_rows, k)])
    return float(np.mean(metrics.precision_at_k(ranked, relevant)))


def validation_split(
    train: pd.DataFrame, test_split: dict[str, Any], config: TrainingConfig
) -> Split:
    """A validation split of ``train`` made as the test split was: the latest share of
    rows for a global time cut-off, a random share for a random split, otherwise each
    user's last ``validation_last_n`` interactions (fewer when the median user has fewer
    than five times as many, so that validation is not empty)."""
    kind = test_split.get("kind")
    if kind == "time_cutoff" and "fraction" in test_split:
        return time_fraction(train, test_split["fraction"])
    if kind == "random":
        return random_split(train, test_split["fraction"], config.seed)
    median_rows = float(train.groupby(c.USER).size().median())
    return leave_last_n(train, max(1, min(config.validation_last_n, int(median_rows // 5))))


def select(
    train: pd.DataFrame,
    config: TrainingConfig,
    test_split: dict[str, Any],
    users: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Validation precision@k per candidate, each fitted on the training part of
    ``validation_split``, and that split's description."""
    split = validation_split(train, test_split, config)
    data = build_training_data(split.train, users, items)
    scores = {}
    for candidate in config.candidates:
        model, _ = fit(candidate, data, config.seed)
        scores[model.name] = precision(model, data, split.test, config.k)
        if progress:
            progress(f"validation {model.name}: {scores[model.name]:.4f}")
    return scores, split.description


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    config: TrainingConfig,
    split: dict[str, Any],
    users: pd.DataFrame | None = None,
    items: pd.DataFrame | None = None,
    progress: Progress | None = None,
    truth: Truth | None = None,
) -> tuple[Evaluation, Recommender, TrainingData]:
    """Every candidate fitted on ``train`` and measured on ``test`` (and, with the
    simulator's ``truth``, against each shopper's true top-k); the winner (best on
    validation) is returned fitted, with its training data."""
    validation, validation_description = select(train, config, split, users, items, progress)
    winner = max(validation, key=lambda name: validation[name])  # first of equals
    data = build_training_data(train, users, items)
    known = data.rows_of(test)
    truth_rows, truth_ranked = truth_lists(truth, data, config.k)
    results, fitted = [], None
    for candidate in config.candidates:
        model, seconds = fit(candidate, data, config.seed)
        measured, segments = evaluate_model(model, data, test, config)
        if len(truth_rows):
            ranked = np.vstack(
                [top for _, _, top in scored_batches(model, data, truth_rows, config.k)]
            )
            measured.update(truth_metrics(ranked, truth_ranked, data.shape[1]))
        results.append(
            ModelResult(
                model.name, model.to_dict(), measured, seconds, segments, validation.get(model.name)
            )
        )
        if progress:
            progress(f"test {model.name}: {measured.get(f'precision@{config.k}', 0):.4f}")
        if model.name == winner:
            fitted = model
    assert fitted is not None
    flags = {
        "train_positives_excluded": True,
        "test_rows": len(test),
        "test_rows_evaluated": len(known),
        "cold_users": "test rows of users absent from training are not evaluated",
        "cold_items": "test rows of items absent from training are not evaluated",
        "selection": f"{SELECTION_METRIC}@{config.k} on a validation split of the training set",
        "validation_split": validation_description,
    }
    if truth is not None:
        flags["truth"] = {
            "users": len(truth_rows),
            "relevant": f"each shopper's true top {config.k} by utility among the listed "
            "items of the catalogue, their training positives excluded",
        }
    evaluation = Evaluation(results, split, flags, winner, config.k)
    return evaluation, fitted, data
