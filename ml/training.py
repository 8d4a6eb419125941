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

import pandas as pd

from ml import artifacts
from ml import columns as c
from ml.config import TrainingConfig
from ml.data import TrainingData, build_training_data, from_mart
from ml.evaluation import Evaluation, Progress, evaluate, precision
from ml.model_selection import Split, time_cutoff
from ml.models import model_from_dict
from ml.truth import Truth

DEFAULT_HOLDOUT_DAYS = 7


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


@dataclass
class TrainingRun:
    version: str
    evaluation: Evaluation
    gate: Gate
    seconds: float


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


def users_from_profiles(profiles: pd.DataFrame) -> pd.DataFrame:
    """Behaviour buckets per account (``customer_rfm.rfm_segment``)."""
    return pd.DataFrame(
        {c.USER: profiles["customer_id"].astype(str), "behaviour": profiles["rfm_segment"]}
    )


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
    holdout_days: int = DEFAULT_HOLDOUT_DAYS,
    revision: str | None = None,
    progress: Progress | None = None,
    truth: Truth | None = None,
) -> TrainingRun:
    """Evaluate (against the simulator's ``truth`` too, when given), refit the winner on
    every interaction and write its version (unpublished)."""
    started = time.perf_counter()
    config = config or TrainingConfig()
    frame = from_mart(interactions)
    frame[c.TIMESTAMP] = pd.to_datetime(frame[c.TIMESTAMP], utc=True)
    frame = frame[frame[c.WEIGHT] > 0]
    frame = frame.groupby([c.USER, c.ITEM], as_index=False).agg(
        **{c.WEIGHT: (c.WEIGHT, "sum"), c.TIMESTAMP: (c.TIMESTAMP, "max")}
    )
    items = items_from_products(products)
    users = users_from_profiles(profiles) if profiles is not None else None
    split = holdout_split(frame, holdout_days)
    if split.train.empty or split.test.empty:
        raise ValueError(
            f"the interactions need days before and within the {holdout_days}-day holdout window"
        )
    evaluation, winner, data = evaluate(
        split.train, split.test, config, split.description, users, items, progress, truth
    )
    gate = publication_gate(evaluation, root, data, split.test, config)
    full = build_training_data(frame, users, items)
    model = model_from_dict(winner.to_dict()).fit(full)
    purchases = interactions.loc[interactions["units_purchased"] > 0, ["user_key", "product_id"]]
    bundle = artifacts.build_bundle(
        model, full, evaluation, config,
        items=items,
        purchases=purchases.rename(columns={"user_key": c.USER, "product_id": c.ITEM}),
        segments=users.set_index(c.USER)["behaviour"] if users is not None else None,
        revision=revision,
    )  # fmt: skip
    bundle.json_files["metrics.json"]["gate"] = asdict(gate)
    artifacts.write_version(root, bundle)
    return TrainingRun(bundle.version, evaluation, gate, time.perf_counter() - started)


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
