"""MovieLens 100k as frames for the benchmark: every rating is a positive; users carry
age band, gender and occupation, items their genres and release decade."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml import columns as c
from ml.config import TrainingConfig
from ml.data import weigh_events
from ml.evaluation import Evaluation, Progress, evaluate
from ml.model_selection import leave_last_n

TEST_LAST_N = 10


def load(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(interactions, users, items) from ``u.data``, ``u.user``, ``u.item`` and ``u.genre``."""
    ratings = pd.read_csv(
        folder / "u.data", sep="\t", names=[c.USER, c.ITEM, "rating", c.TIMESTAMP]
    )
    interactions = ratings.assign(**{c.WEIGHT: 1.0})[[c.USER, c.ITEM, c.TIMESTAMP, c.WEIGHT]]
    users = pd.read_csv(
        folder / "u.user", sep="|", names=[c.USER, "age", "gender", "occupation", "zip"]
    )
    users = pd.DataFrame(
        {
            c.USER: users[c.USER].astype(str),
            "age": pd.cut(users["age"], [0, 18, 25, 35, 45, 55, 200], right=False).astype(str),
            "gender": users["gender"],
            "occupation": users["occupation"],
        }
    )
    genres = [
        line.split("|")[0]
        for line in (folder / "u.genre").read_text(encoding="latin-1").splitlines()
        if line.strip()
    ]
    movies = pd.read_csv(
        folder / "u.item",
        sep="|",
        names=[c.ITEM, c.TITLE, "release", "video", "url", *genres],
        encoding="latin-1",
    )
    flags = movies[genres].to_numpy().astype(bool)
    first_genre = [next((g for g, f in zip(genres, row, strict=True) if f), None) for row in flags]
    items = pd.DataFrame(
        {
            c.ITEM: movies[c.ITEM].astype(str),
            c.CATEGORY: first_genre,
            "decade": pd.to_datetime(movies["release"], format="%d-%b-%Y", errors="coerce")
            .dt.year.floordiv(10)
            .mul(10)
            .astype("Int64")
            .astype(str)
            .replace("<NA>", None),
        }
    )
    for genre, column in zip(genres, flags.T, strict=True):
        items[f"genre:{genre}"] = pd.Series(column).map({True: "1", False: None})
    return interactions, users, items


def benchmark(
    folder: Path, config: TrainingConfig | None = None, progress: Progress | None = None
) -> Evaluation:
    """The issue 15 protocol: per user the last 10 ratings by timestamp (ties by item id)
    are the test, every rating a positive, training items excluded."""
    interactions, users, items = load(folder)
    split = leave_last_n(weigh_events(interactions), TEST_LAST_N)
    evaluation, _, _ = evaluate(
        split.train, split.test, config or TrainingConfig(), split.description, users, items,
        progress,
    )  # fmt: skip
    return evaluation
