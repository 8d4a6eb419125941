"""``mercado ml``: evaluate any interactions file, write the winner's lists, publish."""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mercado_cli.main import app
from shop_api.core.config import get_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in list(os.environ):
        if name.startswith("MERCADO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def mercado(*args: str) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def two_tastes(n_users: int = 30) -> list[list[object]]:
    """Half the users see books, half see shoes, one item a day in a seeded order."""
    rng = random.Random(4)
    rows: list[list[object]] = []
    for user in range(n_users):
        shelf = [f"{'book' if user % 2 else 'shoe'}-{i}" for i in range(12)]
        for day, item in enumerate(rng.sample(shelf, 8)):
            rows.append([f"user {user}", item, f"2026-01-{day + 1:02d}T10:00:00"])
    return rows


def test_evaluate_prints_every_model_and_writes_the_winners_lists(
    home: Path, tmp_path: Path
) -> None:
    rows = two_tastes()
    train = [row for row in rows if row[2] < "2026-01-07"]
    test = [row for row in rows if row[2] >= "2026-01-07"]
    header = ["user_id", "item_id", "timestamp"]
    out = tmp_path / "recs.csv"

    result = mercado(
        "ml", "evaluate",
        "--interactions", str(write_csv(tmp_path / "train.csv", header, train)),
        "--test", str(write_csv(tmp_path / "test.csv", header, test)),
        "--recommendations-out", str(out),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for model in ("popularity", "category_popularity", "item_knn", "als", "ease", "lightfm"):
        assert any(line.startswith(model + " ") for line in lines), model
    assert "fit s" in lines[1] and "* winner" in result.stdout
    with out.open() as handle:
        written = list(csv.DictReader(handle))
    assert {row["user_id"] for row in written} == {row[0] for row in test}
    for user in {row[0] for row in test}:
        ranks = [row["rank"] for row in written if row["user_id"] == user]
        assert ranks == [str(rank) for rank in range(1, 11)]
    trained = {(row[0], row[1]) for row in train}
    assert not [row for row in written if (row["user_id"], row["item_id"]) in trained]
    firsts = [row for row in written if row["rank"] == "1"]
    same_taste = [
        r for r in firsts if r["item_id"][:4] == ("book" if int(r["user_id"][5:]) % 2 else "shoe")
    ]
    assert len(same_taste) == len(firsts)


def test_evaluate_accepts_the_import_csv_layout_and_a_random_split(
    home: Path, tmp_path: Path
) -> None:
    rows = [
        [*row, "purchase" if i % 3 == 0 else "view_item", ""] for i, row in enumerate(two_tastes())
    ]
    header = ["user_id", "item_id", "timestamp", "event_name", "value"]
    data = write_csv(tmp_path / "events.csv", header, rows)

    result = mercado(
        "ml", "evaluate", "--interactions", str(data), "--split", "random", "--seed", "3"
    )

    assert result.exit_code == 0, result.output
    assert "'kind': 'random'" in result.stdout and "'seed': 3" in result.stdout


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["user", "item_id"], [["u", "i"]], "header naming user_id,item_id"),
        (
            ["user_id", "item_id", "timestamp"],
            [["u", "i", "yesterday"]],
            "timestamp neither unix seconds nor ISO 8601 on line 2",
        ),
        (["user_id", "item_id"], [["u", "i"], ["v", "j"]], "a time split needs a timestamp column"),
        (["user_id", "item_id", "weight"], [["u", "i", "x"]], "weight not a number on line 2"),
    ],
)
def test_a_bad_file_is_one_line_and_exit_code_2(
    home: Path, tmp_path: Path, header: list[str], rows: list[list[object]], message: str
) -> None:
    data = write_csv(tmp_path / "bad.csv", header, rows)
    result = mercado("ml", "evaluate", "--interactions", str(data))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert message in result.stderr


def test_publish_refuses_a_version_that_does_not_exist(home: Path) -> None:
    result = mercado("ml", "publish", "20990101T000000Z-ease-00000000")
    assert result.exit_code == 2
    assert "no complete version 20990101T000000Z-ease-00000000" in result.stderr
    assert not (home / "artifacts" / "recommender" / "LATEST").exists()


def test_evaluate_scores_every_model_against_a_simulations_truth(
    home: Path, tmp_path: Path
) -> None:
    from tests.ml.test_truth import write_truth

    write_truth(tmp_path / "simulated")
    rows = [["u1", "a", 1], ["client:c2", "d", 1], ["u1", "b", 5], ["client:c2", "c", 5]]
    rows += [[f"u{n}", item, t] for n in range(3, 9) for t, item in enumerate("cb")]
    data = write_csv(tmp_path / "rows.csv", ["user_id", "item_id", "timestamp"], rows)

    result = mercado(
        "ml", "evaluate", "--interactions", str(data), "--split", "random",
        "--truth-home", str(tmp_path / "simulated"),
    )  # fmt: skip
    missing = mercado(
        "ml", "evaluate", "--interactions", str(data), "--truth-home", str(tmp_path / "none")
    )

    assert result.exit_code == 0, result.output
    assert "true R@10" in result.output and "true NDCG@10" in result.output
    assert missing.exit_code != 0 and "no sim/truth/manifest.json" in missing.output
