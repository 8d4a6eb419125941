"""The recommender: training data from the marts, the model with its publication gate
(a blocking check), and the published version (``LATEST``). The work is ``ml.training``'s;
these assets read the warehouse and report.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd

from ml import artifacts
from ml.config import TrainingConfig
from ml.training import DEFAULT_HOLDOUT_DAYS, train
from ml.truth import read_truth
from orchestration.defs.resources import WarehouseResource
from orchestration.settings import PipelineSettings

ML_GROUP = "ml"
GATE = "beats_popularity_and_champion"
TRAINING_DATA = ["ml", "training_data"]
MODEL = ["ml", "recommender_model"]


def artifact_root() -> Path:
    return artifacts.artifact_root(PipelineSettings().shop.resolved_home)


class TrainingRunConfig(dg.Config):
    """Run config of the model: holdout window and overrides of ``TrainingConfig``
    (JSON, e.g. ``{"candidates": [{"family": "ease"}]}``, or
    ``{"tune_signal_weights": false}`` to train with the dbt var's weights as they are)."""

    holdout_days: int = DEFAULT_HOLDOUT_DAYS
    training_config: str = "{}"


@dg.asset(
    key=TRAINING_DATA,
    group_name=ML_GROUP,
    kinds={"duckdb", "pandas"},
    deps=[
        ["marts", "interactions"],
        ["marts", "dim_products"],
        ["marts", "customer_rfm"],
        ["marts", "fct_sessions"],
    ],
)
def training_data(warehouse: WarehouseResource) -> dg.Output[dict[str, pd.DataFrame]]:
    """The ``interactions`` mart with the listings' attributes (``dim_products``), the
    accounts' behaviour buckets (``customer_rfm``) and the sessions that carry an account
    (``fct_sessions``: the sign-up visit's channel and locale become user features)."""
    with warehouse.reader() as conn:
        frames = {
            "interactions": conn.execute("select * from marts.interactions").df(),
            "products": conn.execute("select * from marts.dim_products").df(),
            "profiles": conn.execute(
                "select customer_id, rfm_segment from marts.customer_rfm"
            ).df(),
            "sessions": conn.execute(
                "select user_id, session_id, session_start_at, channel, locale "
                "from marts.fct_sessions where user_id is not null"
            ).df(),
        }
    interactions = frames["interactions"]
    return dg.Output(
        frames,
        metadata={
            "dagster/row_count": len(interactions),
            "users": int(interactions["user_key"].nunique()),
            "items": int(interactions["product_id"].nunique()),
            "first_day": str(interactions["interaction_date"].min()),
            "last_day": str(interactions["interaction_date"].max()),
        },
    )


@dg.asset(
    key=MODEL,
    group_name=ML_GROUP,
    kinds={"lightfm", "python"},
    ins={"frames": dg.AssetIn(key=TRAINING_DATA)},
    check_specs=[
        dg.AssetCheckSpec(
            GATE,
            asset=MODEL,
            blocking=True,
            description="On the holdout window the winner beats popularity and is at least "
            "as good as the current champion refitted on the same data.",
        )
    ],
)
def recommender_model(
    context: dg.AssetExecutionContext, config: TrainingRunConfig, frames: dict[str, pd.DataFrame]
) -> Iterator[dg.Output[str] | dg.AssetCheckResult]:
    """Every candidate evaluated on the holdout window (and, on simulated data, against the
    simulator's ground truth under ``$MERCADO_HOME/sim/truth``); the winner (chosen on a
    validation cut of the training window) refitted on all interactions and written as a
    version folder, not yet published."""
    run = train(
        frames["interactions"],
        frames["products"],
        frames["profiles"],
        artifact_root(),
        TrainingConfig.from_dict(
            {**TrainingConfig().to_dict(), **json.loads(config.training_config)}
        ),
        holdout_days=config.holdout_days,
        sessions=frames.get("sessions"),
        progress=context.log.info,
        truth=read_truth(PipelineSettings().shop.resolved_home),
    )
    table = run.evaluation.table()
    yield dg.Output(
        run.version,
        metadata={
            "version": run.version,
            "winner": run.evaluation.winner,
            "training_seconds": round(run.seconds, 2),
            "metrics": dg.MetadataValue.md(markdown_table(table)),
            "holdout": dg.MetadataValue.json(run.evaluation.split),
            "signal_weights": dg.MetadataValue.json(
                run.weights.to_dict() if run.weights else {"tuned": False}
            ),
        },
    )
    yield dg.AssetCheckResult(
        check_name=GATE,
        passed=run.gate.passed,
        metadata={
            "metric": run.gate.metric,
            "candidate": run.gate.candidate,
            "popularity": run.gate.popularity,
            "champion": run.gate.champion if run.gate.champion is not None else "none",
            "champion_version": run.gate.champion_version or "none",
            "reasons": "; ".join(run.gate.reasons) or "passed",
        },
    )


@dg.asset(
    key=["ml", "published_recommender"],
    group_name=ML_GROUP,
    kinds={"python"},
    ins={"version": dg.AssetIn(key=MODEL)},
)
def published_recommender(version: str) -> dg.MaterializeResult:
    """``LATEST`` pointed at the new version; runs only when the gate passed (a blocking
    check stops the run before it otherwise)."""
    root = artifact_root()
    previous = artifacts.read_pointer(root)
    artifacts.publish(root, version)
    return dg.MaterializeResult(metadata={"version": version, "previous": previous or "none"})


def markdown_table(table: dict[str, dict[str, float]]) -> str:
    metrics = list(next(iter(table.values())))
    lines = ["| model | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for model, values in table.items():
        lines.append(f"| {model} | " + " | ".join(f"{values[m]:.4f}" for m in metrics) + " |")
    return "\n".join(lines)
