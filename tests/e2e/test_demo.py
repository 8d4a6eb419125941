"""``make demo`` end to end, on a small plan: a real server process, the scripted story
over HTTP, the simulation with a recommender trained, published and served part-way,
every asset built, and the summary."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mercado_cli.demo import run_demo
from mercado_cli.demo_plan import DemoPlan
from shop_api.core.config import Settings


@pytest.mark.slow
def test_demo_runs_start_to_finish_and_tells_the_story(tmp_path, capfd):
    """capfd: the pipeline and training runs print from their own processes."""
    settings = Settings(home=tmp_path / "var", argon2_memory_kib=1024, argon2_time_cost=1)
    plan = DemoPlan(shoppers=120, days=12, serve_days=3, visit_rate=0.3, docs=False)

    today = datetime.now(UTC).date()
    exit_code = run_demo(settings, plan)

    output = capfd.readouterr().out
    assert exit_code == 0, output
    assert "dagster - DEBUG" not in output  # Dagster's log goes to var/logs, not the story
    assert "seller has 1 unread notification" in output
    assert "shopper notified: The seller answered your question" in output
    assert (tmp_path / "var" / "shop.db").exists()
    assert any((tmp_path / "var" / "media" / "listings").rglob("*.jpg"))
    assert "The shopper pays: one decline, then success" in output
    assert "order                    shipped → delivered" in output
    assert "Simulating 120 shoppers for 12 days" in output
    assert any((tmp_path / "var" / "lake" / "events").glob("dt=*/part-*.jsonl"))
    assert (tmp_path / "var" / "sim" / "truth").is_dir()
    assert (tmp_path / "var" / "warehouse.duckdb").exists()

    # Trained at the midnight before the last three days (the simulated days end
    # yesterday: the story's today follows them), so the model served those three days.
    serving = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    version = re.search(r"published: LATEST is now (\S+)", output).group(1)
    latest = tmp_path / "var" / "artifacts" / "recommender" / "LATEST"
    assert latest.read_text().strip() == version
    assert f"serves {version} from {serving[0]} on" in output

    # The served lists by version: the storefront's own popular list before, the model
    # on its three days, each with clicks and a click-through rate with its interval.
    rows = dict(
        re.findall(
            r"^  (\S+)\s+(\d+) \(\d\d-\d\d\.\.\d\d-\d\d\)\s+[\d,]+\s+[\d,]+\s+"
            r"\d+\.\d% \[\d+\.\d%, \d+\.\d%\]\s+[\d,]+\s+[\d,.]+$",
            output,
            re.MULTILINE,
        )
    )
    assert rows.get(version) == "3"
    assert "popular-v0" in rows

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

    # The summary: GMV from the marts, the model against the baselines (scored against
    # the simulator's ground truth too, the winner marked), where to look, the phases.
    summary = output[output.index("The month in figures") :]
    assert re.search(r"GMV [\d,]+\.\d\d USD", summary)
    header = next(line for line in summary.splitlines() if line.startswith("model "))
    assert "P@10" in header and "true R@10" in header
    table_rows = {line.split()[0] for line in summary.splitlines() if "  0." in line}
    assert {"popularity", "lightfm"} <= table_rows
    assert f"version {version}, published" in summary
    assert "make dev" in summary and "http://127.0.0.1:8000/docs" in summary
    site = tmp_path / "var" / "published" / "dashboards" / "index.html"
    assert site.exists() and f"dashboards         {site}" in summary
    assert "customers profiled" in summary

    # Every audience published, consent-filtered and hashed, and listed with its counts.
    audiences = tmp_path / "var" / "published" / "audiences"
    released = {
        folder.name: (folder / "LATEST").read_text().strip() for folder in audiences.iterdir()
    }
    assert {"cart_abandoners", "lapsed_buyers", "best_customer_lookalikes"} <= set(released)
    for name, version in released.items():
        members = (audiences / name / version / "members.csv").read_text().splitlines()
        assert members[0] == "Email,Phone"
        assert all(
            re.fullmatch(r"[0-9a-f]{64}|", cell) for row in members[1:] for cell in row.split(",")
        )
        assert re.search(rf"^  {name}\s+\d+ members  \+\d+\s+-\d+", summary, re.MULTILINE)
    assert f"audience files     {audiences}" in summary
    assert re.search(r"sample recommendations\s+│?\s*[\d.]+\s+│?\s*[\d.]+", summary)


@pytest.mark.slow
def test_demo_can_run_twice_on_the_same_home(tmp_path, capsys):
    """The shop part twice (the pipeline's reruns are the orchestration tests' business)."""
    settings = Settings(home=tmp_path / "var", argon2_memory_kib=1024, argon2_time_cost=1)
    plan = DemoPlan(shoppers=20, days=2, pipeline=False)

    assert run_demo(settings, plan) == 0
    assert run_demo(settings, plan) == 0
    assert "category tree seeded (0 new categories)" in capsys.readouterr().out
