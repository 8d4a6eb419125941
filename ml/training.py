"""A production training run on the warehouse's marts: evaluate every candidate on a
holdout window, compare the winner with popularity and with the current champion
(refitted on the same data), write the version, and say whether it may be published.

Pure functions on frames; the Dagster assets (``orchestration/defs/ml``) and
``mercado ml train`` read the marts and call ``train``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ml import artifacts
from ml import columns as c
from ml.config import TrainingConfig
from ml.data import (
    TrainingData,
    build_training_data,
    from_mart,
    has_signals,
    signal_weights,
    signup_attributes,
    weight_grid,
)
from ml.evaluation import Evaluation, Progress, evaluate, precision, validation_split
from ml.model_selection import Split, time_cutoff
from ml.models import model_from_dict
from ml.truth import Truth

DEFAULT_HOLDOUT_DAYS = 7
# the family whose best candidate on validation lends its user and item vectors to a
# winner without any (``ease``, ``item_knn``): ALS, because refitting it on 1M
# interactions costs 16 s of CPU where LightFM's single-threaded WARP took over 80 s
EMBEDDING_FAMILIES = ("als",)


@dataclass(frozen=True)
class Gate:
    """Whether a version may replace the champion: it must beat popularity and be at
    least as good as the champion refitted on the same training data, on the holdout."""

    passed: bool
    reasons: list[str]
    metric: str
    candidate: float
    popularity: float
    champion: float | None
    champion_version: str | None


@dataclass(frozen=True)
class WeightTuning:
    """The signal weight variants compared on the validation split with the winner's
    configuration (``probe``), and the one chosen (the best; the defaults on ties)."""

    chosen: str
    weights: dict[str, float]
    probe: str
    metric: str
    grid: dict[str, dict[str, Any]]  # name -> {"weights": ..., metric: value}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingRun:
    version: str
    evaluation: Evaluation
    gate: Gate
    seconds: float
    weights: WeightTuning | None = None


def items_from_products(products: pd.DataFrame) -> pd.DataFrame:
    """``dim_products`` as item attributes (category, path, seller, price band source,
    condition, title)."""
    return pd.DataFrame(
        {
            c.ITEM: products["product_id"].astype(str),
            c.CATEGORY: products["category_id"].astype("string"),
            c.CATEGORY_PATH: products["category_path"],
            c.SELLER: products["seller_id"].astype(str),
            c.PRICE: pd.to_numeric(products["price_minor"], errors="coerce"),
            c.CONDITION: products["item_condition"],
            c.TITLE: products["title"],
        }
    )


def user_attributes(
    profiles: pd.DataFrame | None, sessions: pd.DataFrame | None = None
) -> pd.DataFrame | None:
    """Per account: the behaviour bucket (``customer_rfm.rfm_segment``) and the sign-up
    channel and region (``ml.data.signup_attributes`` of ``fct_sessions``)."""
    parts = []
    if profiles is not None:
        parts.append(
            pd.DataFrame(
                {c.USER: profiles["customer_id"].astype(str), c.BEHAVIOUR: profiles["rfm_segment"]}
            )
        )
    if sessions is not None:
        parts.append(signup_attributes(sessions))
    if not parts:
        return None
    users = parts[0]
    for part in parts[1:]:
        users = users.merge(part, on=c.USER, how="outer")
    return users


def holdout_split(frame: pd.DataFrame, days: int) -> Split:
    """The last ``days`` days (by interaction time) as the holdout window."""
    last = pd.to_datetime(frame[c.TIMESTAMP]).max().normalize()
    return time_cutoff(frame, last - timedelta(days=days - 1))


def train(
    interactions: pd.DataFrame,
    products: pd.DataFrame,
    profiles: pd.DataFrame | None,
    root: Path,
    config: TrainingConfig | None = None,
    *,
    sessions: pd.DataFrame | None = None,
    holdout_days: int = DEFAULT_HOLDOUT_DAYS,
    revision: str | None = None,
    progress: Progress | None = None,
    truth: Truth | None = None,
) -> TrainingRun:
    """Evaluate (against the simulator's ``truth`` too, when given), tune the signal
    weights on validation with the winner (``config.tune_signal_weights``; the evaluation
    is redone when other weights win), refit the winner on every interaction and write
    its version (unpublished)."""
    started = time.perf_counter()
    config = config or TrainingConfig()
    items = items_from_products(products)
    users = user_attributes(profiles, sessions)
    frame = user_item_frame(interactions)
    split = holdout_split(frame, holdout_days)
    if split.train.empty or split.test.empty:
        raise ValueError(
            f"the interactions need days before and within the {holdout_days}-day holdout window"
        )
    evaluation, winner, data = evaluate(
        split.train, split.test, config, split.description, users, items, progress, truth
    )
    tuning = None
    if config.tune_signal_weights and has_signals(interactions):
        tuning = tune_signal_weights(
            interactions, holdout_days, winner.to_dict(), users, items, config, progress
        )
        if tuning.chosen != "defaults":
            frame = user_item_frame(interactions, tuning.weights)
            split = holdout_split(frame, holdout_days)
            evaluation, winner, data = evaluate(
                split.train, split.test, config, split.description, users, items, progress, truth
            )
    gate = publication_gate(evaluation, root, data, split.test, config)
    full = build_training_data(frame, users, items)
    model = model_from_dict(winner.to_dict()).fit(full)
    embedder = None
    if model.embeddings() is None:
        chosen = embedding_candidate(evaluation)
        embedder = model_from_dict(chosen, seed=config.seed).fit(full) if chosen else None
    purchases = interactions.loc[interactions["units_purchased"] > 0, ["user_key", "product_id"]]
    bundle = artifacts.build_bundle(
        model, full, evaluation, config,
        items=items,
        purchases=purchases.rename(columns={"user_key": c.USER, "product_id": c.ITEM}),
        segments=users.set_index(c.USER)[c.BEHAVIOUR]
        if users is not None and c.BEHAVIOUR in users
        else None,
        revision=revision,
        embedder=embedder,
    )  # fmt: skip
    bundle.json_files["metrics.json"]["gate"] = asdict(gate)
    if tuning is not None:
        bundle.json_files["metrics.json"]["signal_weights"] = tuning.to_dict()
        bundle.manifest["signal_weights"] = {"chosen": tuning.chosen, "weights": tuning.weights}
    artifacts.write_version(root, bundle)
    return TrainingRun(bundle.version, evaluation, gate, time.perf_counter() - started, tuning)


def embedding_candidate(evaluation: Evaluation) -> dict[str, Any] | None:
    """The configuration of the best ``EMBEDDING_FAMILIES`` candidate on the validation
    split, for a winner without embeddings; ``None`` when none was evaluated."""
    scored = [
        r for r in evaluation.results
        if r.config.get("family") in EMBEDDING_FAMILIES and r.validation is not None
    ]  # fmt: skip
    if not scored:
        return None
    return max(scored, key=lambda r: r.validation or 0.0).config


def user_item_frame(
    interactions: pd.DataFrame, weights: dict[str, float] | None = None
) -> pd.DataFrame:
    """One row per (user, item) of the mart: summed weight (the mart's, or recomputed
    with ``weights``), latest time; rows without a positive weight left out."""
    frame = from_mart(interactions, weights)
    frame[c.TIMESTAMP] = pd.to_datetime(frame[c.TIMESTAMP], utc=True)
    frame = frame[frame[c.WEIGHT] > 0]
    return frame.groupby([c.USER, c.ITEM], as_index=False).agg(
        **{c.WEIGHT: (c.WEIGHT, "sum"), c.TIMESTAMP: (c.TIMESTAMP, "max")}
    )


def tune_signal_weights(
    interactions: pd.DataFrame,
    holdout_days: int,
    probe: dict[str, Any],
    users: pd.DataFrame | None,
    items: pd.DataFrame | None,
    config: TrainingConfig,
    progress: Progress | None = None,
) -> WeightTuning:
    """Each variant of ``weight_grid`` (around the dbt var's defaults) scored by the
    ``probe`` model's precision@k on the validation split of the training window (the
    holdout is never looked at)."""
    metric = f"precision@{config.k}"
    grid: dict[str, dict[str, Any]] = {}
    for name, weights in weight_grid(signal_weights()).items():
        split = holdout_split(user_item_frame(interactions, weights), holdout_days)
        validation = validation_split(split.train, split.description, config)
        data = build_training_data(validation.train, users, items)
        model = model_from_dict(probe, seed=config.seed).fit(data)
        grid[name] = {"weights": weights, metric: precision(model, data, validation.test, config.k)}
        if progress:
            progress(f"signal weights {name}: validation {metric} {grid[name][metric]:.4f}")
    chosen = max(grid, key=lambda name: grid[name][metric])  # first of equals: the defaults
    name = model_from_dict(probe).name
    return WeightTuning(chosen, grid[chosen]["weights"], name, metric, grid)


def publication_gate(
    evaluation: Evaluation,
    root: Path,
    data: TrainingData,
    holdout: pd.DataFrame,
    config: TrainingConfig,
) -> Gate:
    metric = f"precision@{evaluation.k}"
    table = evaluation.table()
    candidate = table[evaluation.winner].get(metric, 0.0)
    popularity = table.get("popularity", {}).get(metric, 0.0)
    reasons = []
    if not candidate > popularity:
        reasons.append(f"{metric} {candidate:.4f} does not beat popularity's {popularity:.4f}")
    champion_version = artifacts.read_pointer(root)
    champion = None
    if champion_version is not None:
        manifest = artifacts.read_manifest(root, champion_version)
        model = model_from_dict(manifest["model"], seed=config.seed).fit(data)
        champion = precision(model, data, holdout, evaluation.k)
        if candidate < champion:
            reasons.append(
                f"{metric} {candidate:.4f} is below the champion's {champion:.4f} "
                f"({champion_version}, refitted on the same data)"
            )
    return Gate(not reasons, reasons, metric, candidate, popularity, champion, champion_version)
