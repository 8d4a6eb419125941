"""``make demo`` end to end: a real server process, the scripted story over HTTP, the
simulation, the pipeline, a recommender trained, published, served and measured."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mercado_cli.demo import run_demo
from shop_api.core.config import Settings


@pytest.mark.slow
def test_demo_runs_start_to_finish_and_tells_the_story(tmp_path, capfd):
    """capfd: the pipeline and training runs print from their own processes."""
    settings = Settings(home=tmp_path / "var", argon2_memory_kib=1024, argon2_time_cost=1)

    today = datetime.now(UTC).date()
    exit_code = run_demo(settings)

    output = capfd.readouterr().out
    assert exit_code == 0, output
    assert "seller has 1 unread notification" in output
    assert "shopper notified: The seller answered your question" in output
    assert (tmp_path / "var" / "shop.db").exists()
    assert any((tmp_path / "var" / "media" / "listings").rglob("*.jpg"))
    assert "The shopper pays: one decline, then success" in output
    assert "order                    shipped → delivered" in output
    assert "Simulating 200 shoppers for 13 days" in output
    assert any((tmp_path / "var" / "lake" / "events").glob("dt=*/part-*.jsonl"))
    assert (tmp_path / "var" / "sim" / "truth").is_dir()
    assert (tmp_path / "var" / "warehouse.duckdb").exists()

    # The metric table: every model against the baselines, scored against the simulator's
    # ground truth too, the winner marked.
    header = next(line for line in output.splitlines() if line.startswith("model "))
    assert "P@10" in header and "true R@10" in header
    table_rows = {line.split()[0] for line in output.splitlines() if "  0." in line}
    assert {"popularity", "lightfm"} <= table_rows
    assert "* winner, chosen on precision@10 of the validation split" in output
    # Published at the midnight after day 10, so it served the last three days (up to
    # yesterday: the simulated days end where the story's today begins).
    serving = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    version = re.search(r"published: LATEST is now (\S+)", output).group(1)
    latest = tmp_path / "var" / "artifacts" / "recommender" / "LATEST"
    assert latest.read_text().strip() == version
    assert f"serves {version} from {serving[0]} on" in output

    # recommendation_performance: the model measured on the days it served.
    served_days = re.findall(
        rf"^  {re.escape(version)}\s+(\d{{4}}-\d\d-\d\d)\s+champion\s+[\d,]+\s+[\d,]+\s+"
        r"\d+\.\d% \[\d+\.\d%, \d+\.\d%\]\s+\d+$",
        output,
        re.MULTILINE,
    )
    assert served_days and set(served_days) <= set(serving)

    # Two shoppers' lists as the API serves them: the model's version, titles and reasons.
    served = re.findall(r"GET /recommendations\?k=5 → model (\S+) \(personalised", output)
    assert served == [version, version]
    reasons = re.findall(r"^  \d\. .+  reason: (\S+)", output, re.MULTILINE)
    assert len(reasons) >= 2 and all(
        r == "for_you"
        or r.split(":")[0] in {"similar_to", "bought_with", "popular_in"}
        or r == "popular"
        for r in reasons
    )
    assert "sample recommendations" in output  # the phase timings


@pytest.mark.slow
def test_demo_can_run_twice_on_the_same_home(tmp_path, capsys):
    """The shop part twice (the pipeline's reruns are the orchestration tests' business)."""
    settings = Settings(home=tmp_path / "var", argon2_memory_kib=1024, argon2_time_cost=1)

    assert run_demo(settings, simulate_shoppers=20, simulate_days=2, pipeline=False) == 0
    assert run_demo(settings, simulate_shoppers=20, simulate_days=2, pipeline=False) == 0
    assert "category tree seeded (0 new categories)" in capsys.readouterr().out
