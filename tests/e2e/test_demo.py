"""``make demo`` end to end: a real server process, the scripted story over HTTP."""

from __future__ import annotations

import pytest

from mercado_cli.demo import run_demo
from shop_api.core.config import Settings


@pytest.mark.slow
def test_demo_runs_start_to_finish_and_tells_the_story(tmp_path, capsys):
    settings = Settings(home=tmp_path / "var", argon2_memory_kib=1024, argon2_time_cost=1)

    exit_code = run_demo(settings)

    output = capsys.readouterr().out
    assert exit_code == 0, output
    assert "seller has 1 unread notification" in output
    assert "shopper notified: The seller answered your question" in output
    assert (tmp_path / "var" / "shop.db").exists()
    assert any((tmp_path / "var" / "media" / "listings").rglob("*.jpg"))
    assert "The shopper pays: one decline, then success" in output
    assert "order                    shipped → delivered" in output
    assert "Simulating 200 shoppers for 7 days" in output
    assert any((tmp_path / "var" / "lake" / "events").glob("dt=*/part-*.jsonl"))
    assert (tmp_path / "var" / "sim" / "truth").is_dir()
    assert (tmp_path / "var" / "warehouse.duckdb").exists()


@pytest.mark.slow
def test_demo_can_run_twice_on_the_same_home(tmp_path, capsys):
    """The shop part twice (the pipeline's reruns are the orchestration tests' business)."""
    settings = Settings(home=tmp_path / "var", argon2_memory_kib=1024, argon2_time_cost=1)

    assert run_demo(settings, simulate_shoppers=20, simulate_days=2, pipeline=False) == 0
    assert run_demo(settings, simulate_shoppers=20, simulate_days=2, pipeline=False) == 0
    assert "category tree seeded (0 new categories)" in capsys.readouterr().out
