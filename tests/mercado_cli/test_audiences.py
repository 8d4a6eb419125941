"""``mercado audiences list|show|pull|approve`` on published files: what a marketer sees."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

from audiences.consent import ConsentSnapshot
from audiences.definition import load_definitions
from audiences.publication import read_latest, read_manifest
from audiences.refresh import audiences_root, refresh_audience
from mercado_cli.main import app
from shop_api.core.config import get_settings
from tests.audiences import warehouse as wh

LAPSED = load_definitions()["lapsed_buyers"]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with lapsed_buyers released at T0 (4 members) and a blocked version (1)."""
    for name in list(os.environ):
        if name.startswith("MERCADO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    root = audiences_root(tmp_path)
    with duckdb.connect(":memory:") as conn:
        wh.build(conn)
        ids = [wh.customer(conn, orders_paid=1, last_order_days_ago=300) for _ in range(4)]
        for at, consenting in ((T0, ids), (T0 + timedelta(hours=1), ids[:1])):
            snapshot = ConsentSnapshot(frozenset(consenting), frozenset())
            refresh_audience(conn, root, LAPSED, snapshot, now=at)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def mercado(*args: str) -> Result:
    get_settings.cache_clear()
    return CliRunner().invoke(app, list(args))


def test_list_shows_sizes_deltas_paths_and_the_blocked_version(home) -> None:
    result = mercado("audiences", "list")
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert line.split()[:4] == ["lapsed_buyers", "4", "members", "+4"]
    assert "20260301T090000Z" in line and "blocked: 20260301T100000Z" in line
    assert str(home / "published" / "audiences" / "lapsed_buyers" / "20260301T090000Z") in line


def test_show_says_why_members_are_in_and_lists_versions(home) -> None:
    result = mercado("audiences", "show", "lapsed_buyers")
    assert result.exit_code == 0, result.output
    assert LAPSED.description in result.output
    assert "last_order_at < current_date - interval 180 day" in result.output
    assert "20260301T090000Z* published" in result.output
    assert "20260301T100000Z  blocked" in result.output
    assert "fell from 4 to 1" in result.output


def test_pull_copies_the_release_or_a_chosen_version(home, tmp_path) -> None:
    out = tmp_path / "upload"
    result = mercado("audiences", "pull", "lapsed_buyers", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "adds.csv", "manifest.json", "members.csv", "removes.csv",
    ]  # fmt: skip
    assert len((out / "members.csv").read_text().splitlines()) == 5
    older = mercado("audiences", "pull", "lapsed_buyers", "--version", "20990101T000000Z")
    assert older.exit_code == 2 and "no version 20990101T000000Z" in older.output


def test_approve_records_who_and_releases(home) -> None:
    folder = audiences_root(home) / "lapsed_buyers"
    result = mercado("audiences", "approve", "lapsed_buyers")
    assert result.exit_code == 0, result.output
    assert read_latest(folder) == "20260301T100000Z"
    manifest = read_manifest(folder, "20260301T100000Z")
    assert manifest["approved_by"] == getpass.getuser() and manifest["status"] == "approved"
    again = mercado("audiences", "approve", "lapsed_buyers", "--by", "ana")
    assert again.exit_code == 2 and "no blocked version" in again.output


def test_an_unknown_audience_is_a_one_line_error(home) -> None:
    result = mercado("audiences", "show", "nobody")
    assert result.exit_code == 2 and "no published audience named 'nobody'" in result.output
