"""``mercado ml …``: evaluate recommenders on any interactions file, benchmark them on
MovieLens, pin or roll back the served version (see ``ml/README.md``)."""

from __future__ import annotations

import csv
import json
import os
import uuid
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shop_api.core.errors import MercadoError

if TYPE_CHECKING:
    import pandas as pd

    from ml.data import TrainingData
    from ml.models import Recommender

ml_app = typer.Typer(
    help="Recommendations: evaluate models against baselines, benchmark, publish.",
    no_args_is_help=True,
)
benchmark_app = typer.Typer(help="Benchmarks on public datasets.", no_args_is_help=True)
ml_app.add_typer(benchmark_app, name="benchmark")

RECOMMENDATIONS_OUT_K = 10


class SplitKind(StrEnum):
    time = "time"
    random = "random"


def _progress(line: str) -> None:
    typer.echo(line, err=True)


@ml_app.command("evaluate")
def evaluate_command(
    interactions: Annotated[
        Path,
        typer.Option(
            help="CSV with a header: user_id,item_id[,timestamp][,weight] "
            "(or user_id,item_id,timestamp[,event_name,value]); ids are strings"
        ),
    ],
    test: Annotated[
        Path | None,
        typer.Option(help="Test set in the same layout; --interactions is then the training set"),
    ] = None,
    split: Annotated[
        SplitKind, typer.Option(help="time: a global cut-off date; random: random rows")
    ] = SplitKind.time,
    test_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="Share of rows in the test set")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the split and of the models")] = 42,
    recommendations_out: Annotated[
        Path | None,
        typer.Option(help="Write user_id,item_id,rank: the winner's top 10 per test user"),
    ] = None,
    truth_home: Annotated[
        Path | None,
        typer.Option(
            help="A simulation's MERCADO_HOME: also score every model against the shoppers' "
            "true top 10 (sim/truth, sim/id_map.csv)"
        ),
    ] = None,
) -> None:
    """Run every model (baselines and candidates) with the same split, metrics and k and
    print the metric table with fit times; the winner is chosen on a validation cut of the
    training set."""
    from ml.config import TrainingConfig
    from ml.data import InteractionsFileError, read_interactions_csv, weigh_events
    from ml.evaluation import evaluate
    from ml.model_selection import random_split, time_fraction
    from ml.truth import TruthError, read_truth

    try:
        truth = read_truth(truth_home) if truth_home is not None else None
    except TruthError as exc:
        raise MercadoError(str(exc)) from None
    if truth_home is not None and truth is None:
        raise MercadoError(f"{truth_home}: no sim/truth/manifest.json")
    try:
        frame = weigh_events(read_interactions_csv(interactions))
        test_frame = weigh_events(read_interactions_csv(test)) if test is not None else None
    except (InteractionsFileError, FileNotFoundError) as exc:
        raise MercadoError(str(exc)) from None
    if frame.empty:
        raise MercadoError(f"{interactions}: no interactions with a positive weight")
    if test_frame is not None:
        train, test_rows, description = frame, test_frame, {"kind": "given", "test": str(test)}
    elif split is SplitKind.time:
        if frame["timestamp"].nunique() < 2:
            raise MercadoError(
                f"{interactions}: a time split needs a timestamp column with more than one "
                "value; use --split random"
            )
        chosen = time_fraction(frame, test_fraction)
        train, test_rows, description = chosen.train, chosen.test, chosen.description
    else:
        chosen = random_split(frame, test_fraction, seed)
        train, test_rows, description = chosen.train, chosen.test, chosen.description
    if train.empty or test_rows.empty:
        raise MercadoError("the split leaves the training or the test set empty")
    config = TrainingConfig(seed=seed)
    evaluation, model, data = evaluate(
        train, test_rows, config, description, progress=_progress, truth=truth
    )
    typer.echo(
        f"split: {description}; train rows {len(train)}, test rows {len(test_rows)} "
        f"({evaluation.flags['test_rows_evaluated']} of known users and items evaluated)"
    )
    typer.echo(evaluation.render())
    if recommendations_out is not None:
        write_recommendations(recommendations_out, model, data, test_rows)
        typer.echo(f"recommendations of {evaluation.winner} written to {recommendations_out}")


def write_recommendations(
    path: Path, model: Recommender, data: TrainingData, test_rows: pd.DataFrame
) -> None:
    """The winner's top 10 per test user known to training (train items excluded), written
    under a temporary name and renamed."""
    import numpy as np

    from ml import columns as c
    from ml.outputs import recommend
    from ml.ranking import batches

    users = data.rows_of(test_rows)[c.USER_ROW].unique()
    users = np.sort(users)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.USER, c.ITEM, c.RANK])
            for rows in batches(users, len(data.item_ids)):
                items, _ = recommend(model, rows, RECOMMENDATIONS_OUT_K, data.positives[rows])
                for row, ranked in zip(rows, items, strict=True):
                    for rank, item in enumerate(ranked[ranked >= 0], start=1):
                        writer.writerow([data.user_ids[row], data.item_ids[item], rank])
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise MercadoError(f"cannot write {path}: {exc.strerror or exc}") from None


@benchmark_app.command("movielens")
def benchmark_movielens(
    path: Annotated[
        Path | None, typer.Option(help="The movielens_100k folder (default: shared data)")
    ] = None,
) -> None:
    """Issue 15's protocol on MovieLens 100k: per user the last 10 ratings by timestamp
    (ties by item id) are the test, every rating a positive, training items excluded."""
    from ml.movielens import benchmark
    from simulator.importers.datasets import MOVIELENS, DatasetMissing, dataset_dir

    try:
        folder = path or dataset_dir(MOVIELENS)
    except DatasetMissing as exc:
        raise MercadoError(str(exc)) from None
    missing = [
        name for name in ("u.data", "u.item", "u.user", "u.genre") if not (folder / name).is_file()
    ]
    if missing:
        raise MercadoError(f"{folder} is not a MovieLens 100k folder: no {', '.join(missing)}")
    evaluation = benchmark(folder, progress=_progress)
    typer.echo(f"MovieLens 100k ({folder}): {evaluation.split}")
    typer.echo(evaluation.render())


@ml_app.command("publish")
def publish_command(
    version: Annotated[str, typer.Argument(help="A version folder's name")],
    challenger: Annotated[
        bool, typer.Option("--challenger", help="Set CHALLENGER instead of LATEST")
    ] = False,
) -> None:
    """Point LATEST (or CHALLENGER) at a version: to promote, pin or roll back."""
    from ml.artifacts import artifact_root, set_pointer
    from ml.serving import ArtifactError
    from shop_api.core.config import get_settings

    root = artifact_root(get_settings().resolved_home)
    pointer = "CHALLENGER" if challenger else "LATEST"
    try:
        set_pointer(root, version, pointer)
    except ArtifactError as exc:
        raise MercadoError(str(exc)) from None
    typer.echo(f"{pointer} is now {version}")


@ml_app.command("train")
def train_command(
    build_marts: Annotated[
        bool,
        typer.Option(
            help="First build what training reads (raw loads and the dbt models upstream of "
            "it) without dbt tests or quality checks: a quick build for a fresh model; "
            "`mercado pipeline run` builds and tests everything"
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option(help="Show Dagster's logs here instead of in a log file")
    ] = False,
) -> None:
    """Materialise the recommender assets (training data from the marts, the model and its
    publication gate, the published version) in-process, showing each step as it goes
    (Dagster's logs in ``$MERCADO_HOME/logs/ml-train-<time>.log``), then print the metric
    table; ``mercado pipeline run`` (or ``--build-marts``) builds the marts first."""
    import dagster as dg

    from mercado_cli.pipeline import progress_and_log, stdout_console
    from ml.artifacts import artifact_root, read_pointer, versions
    from ml.evaluation import render_table
    from orchestration.pipeline import run_pipeline
    from shop_api.core.config import get_settings

    root = artifact_root(get_settings().resolved_home)
    before = set(versions(root))
    console = stdout_console()
    ml = dg.AssetSelection.groups("ml")
    if build_marts:
        console.print("building what training reads (no tests or quality checks)")
        with progress_and_log(console, verbose=verbose, log_name="ml-marts") as (progress, log):
            marts = run_pipeline(
                selection=ml.upstream() - ml, checks=False, listener=progress,
                on_plan=progress.planned,
            )  # fmt: skip
        typer.echo(marts.summary())
        if log is not None:
            typer.echo(f"  log: {log}")
        if not marts.success:
            raise typer.Exit(1)
        console.print("training")
    with progress_and_log(console, verbose=verbose, log_name="ml-train") as (progress, log):
        result = run_pipeline(
            selection=ml, prepare=not build_marts, listener=progress, on_plan=progress.planned
        )
    typer.echo(result.summary())
    if log is not None:
        typer.echo(f"  log: {log}")
    written = [v for v in versions(root) if v not in before]
    if not written:
        raise typer.Exit(1)
    report = json.loads((root / written[-1] / "metrics.json").read_text())
    typer.echo(render_table(report))
    gate = report.get("gate", {})
    verdict = "published" if read_pointer(root) == written[-1] else "not published"
    reasons = "; ".join(gate.get("reasons", [])) or "beats popularity and the champion"
    if verdict == "not published" and gate.get("passed"):
        reasons = "its outputs failed ml/recommender_model:outputs_conform (see above)"
    typer.echo(f"version {written[-1]} ({report['winner']}): {verdict} ({reasons})")
    raise typer.Exit(0 if result.success else 1)
