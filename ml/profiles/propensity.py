"""Purchase propensity: the chance a customer places a paid order in the next 30 days.

Trained on a time split so nothing from the future leaks in: features as of T-60 days
labelled by a purchase in [T-60, T-30), evaluated on features as of T-30 labelled by
[T-30, T), against an RFM-only baseline (logistic regression on recency, frequency and
monetary value) on the same rows. The evaluated model is then refitted on the T-30 rows
(the freshest complete label window) and scores everyone as of T. The model is gradient
boosting (scikit-learn's histogram trees: missing values handled natively, fast at a
million rows) or a regularised logistic regression (which does not overfit a small
shop's few hundred rows), whichever cross-validates better on the training cut-off;
training cut-offs read a hash sample of customers when there are many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from ml.profiles.features import WINDOW_DAYS, buyers_between, features_as_of

HORIZON_DAYS = 30
RECENCY_CAP_DAYS = 730.0  # "never" counts as two years ago
RELIABILITY_BINS = 10
RFM = ["recency_days", "frequency", "monetary_log"]
SIGNALS = ["view", "cart", "search", "question", "review"]


@dataclass(frozen=True)
class PropensityConfig:
    horizon_days: int = HORIZON_DAYS
    # rows per training cut-off above which a hash sample is read
    max_training_customers: int = 100_000
    # below this many positives or negatives in a split, no model is trained
    min_class_rows: int = 10
    seed: int = 0
    # OpenMP threads of the trees: on a busy shared machine more threads spin and cost
    # more CPU than they save (12 s of CPU instead of 0.8 s for 20k rows on 2 loaded cores)
    threads: int = 1
    # the model family is chosen by this many folds of cross-validation on the training
    # cut-off (never on the test one), on at most ``max_selection_rows`` of its rows
    selection_folds: int = 3
    max_selection_rows: int = 20_000


@dataclass
class Propensity:
    """Scores for everyone in ``features`` (``None`` when there was too little history to
    train) and the evaluation for the asset's metadata."""

    scores: np.ndarray | None
    metrics: dict[str, Any] = field(default_factory=dict)


def model_frame(features: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The model's numeric inputs from ``features_as_of`` rows: days since each signal
    (capped; missing when it never happened, for the trees), counts, spend, tenure."""
    days = {}
    for signal in ["purchase", *SIGNALS]:
        stamp = pd.to_datetime(features[f"last_{signal}_at"], utc=True)
        days[f"days_since_{signal}"] = ((as_of - stamp).dt.total_seconds() / 86_400).clip(
            upper=RECENCY_CAP_DAYS
        )
    signed_up = pd.to_datetime(features["signed_up_at"], utc=True)
    frame = pd.DataFrame(days, index=features.index)
    frame["tenure_days"] = (as_of - signed_up).dt.total_seconds() / 86_400
    for column in [
        "orders",
        f"orders_{WINDOW_DAYS}d",
        "sessions",
        f"sessions_{WINDOW_DAYS}d",
        f"item_views_{WINDOW_DAYS}d",
        f"cart_adds_{WINDOW_DAYS}d",
        f"searches_{WINDOW_DAYS}d",
        "questions",
        "reviews",
        "top_category_share",
        "price_percentile",
        "top_seller_share",
    ]:
        frame[column] = features[column].astype(float)
    frame["monetary_log"] = np.log1p(features["spend_minor"].astype(float))
    # the baseline's inputs: R, F, M with "never bought" as the capped recency
    frame["recency_days"] = frame["days_since_purchase"].fillna(RECENCY_CAP_DAYS)
    frame["frequency"] = frame["orders"]
    return frame.astype(float)


def model_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("recency_days", "frequency")]


# columns kept as they are in the linear model (shares and percentiles in [0, 1]); the
# rest (days, counts, spend) are skewed and enter as log1p
BOUNDED = ("top_category_share", "price_percentile", "top_seller_share")


def observed_columns(x: pd.DataFrame) -> list[str]:
    return [column for column in x if x[column].notna().any()]


def observed() -> ColumnTransformer:
    """The columns with at least one value when fitted: a signal nobody has given yet (a
    young shop's questions or reviews) is all missing, which neither family can learn
    from (the trees' binning fails on it)."""
    return ColumnTransformer(
        [("observed", "passthrough", observed_columns)], verbose_feature_names_out=False
    ).set_output(transform="pandas")


def trees(seed: int) -> Any:
    return make_pipeline(
        observed(),
        HistGradientBoostingClassifier(
            max_iter=80, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0,
            early_stopping=False, random_state=seed,
        ),
    )  # fmt: skip


def linear_inputs(x: pd.DataFrame) -> pd.DataFrame:
    """Days since a signal that never happened count as the cap; days, counts and spend
    as log1p; shares left as they are (missing ones imputed by the pipeline)."""
    x = x.copy()
    days = [column for column in x if column.startswith("days_since_")]
    x[days] = x[days].fillna(RECENCY_CAP_DAYS)
    skewed = [column for column in x if column not in BOUNDED]
    x[skewed] = np.log1p(x[skewed].clip(lower=0))
    return x


def logistic(seed: int) -> Any:
    """Standardised, L2-regularised logistic regression: few parameters, so it does not
    overfit the few hundred rows of a small shop the way trees do."""
    return make_pipeline(
        observed(),
        FunctionTransformer(linear_inputs),
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=1000, random_state=seed),
    )


FAMILIES = {"gradient_boosting": trees, "logistic": logistic}


def choose_family(x: pd.DataFrame, y: np.ndarray, config: PropensityConfig) -> dict[str, Any]:
    """Each family's mean AUC over stratified folds of the training cut-off (a fixed
    sample of at most ``max_selection_rows``), and the best (trees on ties)."""
    rows = np.random.default_rng(config.seed).permutation(len(y))[: config.max_selection_rows]
    folds = StratifiedKFold(config.selection_folds, shuffle=True, random_state=config.seed)
    inputs = x[model_columns(x)].iloc[rows]
    scores = {
        name: round(
            float(
                cross_val_score(
                    make(config.seed), inputs, y[rows], cv=folds, scoring="roc_auc"
                ).mean()
            ),
            4,
        )
        for name, make in FAMILIES.items()
    }
    return {"chosen": max(scores, key=scores.__getitem__), "cv_auc": scores}


def fit_model(x: pd.DataFrame, y: np.ndarray, family: str, seed: int) -> Any:
    return FAMILIES[family](seed).fit(x[model_columns(x)], y)


def fit_baseline(x: pd.DataFrame, y: np.ndarray) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x[RFM], y)


def reliability(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> dict[str, Any]:
    """Equal-width bins of the predicted probability: rows, mean prediction and observed
    rate per non-empty bin, and the expected calibration error (row-weighted mean gap)."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=y, minlength=bins)
    table = [
        {
            "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
            "rows": int(rows[b]),
            "mean_predicted": round(float(predicted[b] / rows[b]), 4),
            "observed_rate": round(float(observed[b] / rows[b]), 4),
        }
        for b in range(bins)
        if rows[b]
    ]
    ece = float(np.abs(observed - predicted).sum() / max(len(y), 1))
    return {"ece": round(ece, 4), "table": table}


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    calibration = reliability(y, p)
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "ece": calibration["ece"],
        "reliability": calibration["table"],
    }


def labelled(
    conn: duckdb.DuckDBPyConnection, cut: pd.Timestamp, horizon: pd.Timedelta, permille: int
) -> tuple[pd.DataFrame, np.ndarray]:
    features = features_as_of(conn, cut, permille)
    buyers = buyers_between(conn, cut, cut + horizon)
    ids = pa.array(features["customer_id"].array, pa.string())
    y = pc.is_in(ids, value_set=buyers).to_numpy(zero_copy_only=False).astype(int)
    return model_frame(features, cut), y


def train_and_score(
    conn: duckdb.DuckDBPyConnection,
    today: pd.DataFrame,
    as_of: pd.Timestamp,
    config: PropensityConfig = PropensityConfig(),
) -> Propensity:
    """Train on features as of ``as_of`` - 2 horizons labelled by the next horizon,
    evaluate on the following cut-off against the RFM baseline, refit there and score
    ``today`` (``features_as_of(conn, as_of)`` rows). ``conn`` is ``features.registered``."""
    horizon = pd.Timedelta(days=config.horizon_days)
    permille = min(1000, max(1, int(1000 * config.max_training_customers / max(len(today), 1))))
    x_train, y_train = labelled(conn, as_of - 2 * horizon, horizon, permille)
    x_test, y_test = labelled(conn, as_of - horizon, horizon, permille)
    split = {
        "train_cutoff": str((as_of - 2 * horizon).date()),
        "test_cutoff": str((as_of - horizon).date()),
        "as_of": str(as_of.date()),
        "horizon_days": config.horizon_days,
        "sample_permille": permille,
        "train_rows": len(y_train),
        "train_positives": int(y_train.sum()),
        "test_rows": len(y_test),
        "test_positives": int(y_test.sum()),
    }
    for name, y in (("train", y_train), ("test", y_test)):
        if min(int(y.sum()), len(y) - int(y.sum())) < config.min_class_rows:
            return Propensity(
                None,
                {
                    "status": "skipped",
                    "reason": f"{name} split has fewer than {config.min_class_rows} "
                    "buyers or non-buyers (too little history)",
                    "split": split,
                },
            )
    with threadpool_limits(config.threads):
        selection = choose_family(x_train, y_train, config)
        family = selection["chosen"]
        model = fit_model(x_train, y_train, family, config.seed)
        baseline = fit_baseline(x_train, y_train)
        metrics = {
            "status": "trained",
            "split": split,
            "family": family,
            "selection": selection,
            "model": evaluate(y_test, model.predict_proba(x_test[model_columns(x_test)])[:, 1]),
            "rfm_baseline": evaluate(y_test, baseline.predict_proba(x_test[RFM])[:, 1]),
            "base_rate": round(float(y_test.mean()), 4),
        }
        final = fit_model(x_test, y_test, family, config.seed)
        x_today = model_frame(today, as_of)
        scores = final.predict_proba(x_today[model_columns(x_today)])[:, 1]
    return Propensity(scores, metrics)
