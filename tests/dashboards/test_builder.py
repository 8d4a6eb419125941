"""The dashboard builder on tiny frames: each page's arithmetic, the "no data yet" state,
the audience manifests' contract, and the site's files (one shared Plotly script, pages
that link to each other and name their sources)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from dashboards.manifests import read_audience_manifests
from dashboards.pages import PAGES, ab_summary, audiences_page, kpi_series, recommendations_page
from dashboards.panels import wilson
from dashboards.queries import QUERIES, Frame
from dashboards.site import PLOTLY_JS, build_site, freshness, render_pages


def empty_frames() -> dict[str, Frame]:
    frames = {q.name: Frame(q.table, pd.DataFrame()) for q in QUERIES}
    frames["audiences"] = Frame("published/audiences/*/*/manifest.json", pd.DataFrame())
    return frames


def frames_with(**data: pd.DataFrame) -> dict[str, Frame]:
    frames = empty_frames()
    for name, frame in data.items():
        frames[name] = Frame(frames[name].table, frame, date(2026, 1, 14))
    return frames


ORDERS = pd.DataFrame(
    {
        "day": [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 12), date(2026, 1, 12)],
        "currency": ["EUR", "EUR", "EUR", "USD"],
        "orders": [2, 1, 3, 1],
        "gmv": [100.0, 50.0, 90.0, 999.0],
    }
)
FUNNEL = pd.DataFrame(
    {
        "session_date": [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 12)],
        "sessions": [10, 10, 20],
        "sessions_view_item": [8, 6, 15],
        "sessions_add_to_cart": [4, 2, 6],
        "sessions_begin_checkout": [3, 1, 4],
        "sessions_purchase": [2, 1, 3],
        "view_to_cart_rate": [0.5, 1 / 3, 0.4],
        "cart_to_checkout_rate": [0.75, 0.5, 2 / 3],
        "checkout_to_purchase_rate": [2 / 3, 1.0, 0.75],
    }
)


def test_kpis_by_day_and_by_week_in_the_main_currency() -> None:
    daily, weekly, currency = kpi_series(frames_with(orders_daily=ORDERS, session_funnel=FUNNEL))

    assert currency == "EUR"  # 6 EUR orders against 1 USD: amounts never mix currencies
    assert daily["gmv"].tolist() == [100.0, 50.0, 90.0]
    assert daily["aov"].tolist() == [50.0, 50.0, 30.0]
    assert daily["conversion"].tolist() == [0.2, 0.1, 0.15]
    # Weeks start on Monday: 5 and 6 January, then 12 January.
    assert weekly["day"].dt.date.tolist() == [date(2026, 1, 5), date(2026, 1, 12)]
    assert weekly["orders"].tolist() == [3, 3]
    assert weekly["aov"].tolist() == [50.0, 30.0]
    assert weekly["conversion"].tolist() == [0.15, 0.15]


def test_kpi_page_toggles_day_and_week_and_totals_the_period() -> None:
    page = PAGES[0](frames_with(orders_daily=ORDERS, session_funnel=FUNNEL))

    assert [p.title for p in page.panels] == ["GMV", "Orders", "Average order value", "Conversion"]
    for panel in page.panels:
        assert panel.figure is not None
        assert [t.visible for t in panel.figure.data] == [True, False]
        buttons = panel.figure.layout.updatemenus[0].buttons
        assert [b.label for b in buttons] == ["Day", "Week"]
    assert {t.label: t.value for t in page.tiles} == {
        "GMV": "240 EUR",
        "Orders": "6",
        "AOV": "40.00 EUR",
        "Conversion": "15.0%",
    }


def test_every_page_shows_no_data_yet_on_an_empty_warehouse() -> None:
    frames = empty_frames()
    for build in PAGES:
        page = build(frames)
        assert page.panels, page.slug
        for panel in page.panels:
            assert panel.figure is None, (page.slug, panel.title)
            assert panel.empty.startswith("No"), (page.slug, panel.title)


def test_wilson_interval_matches_the_marts_macro() -> None:
    low, high = wilson(10, 100)  # z = 1.96, as dbt_project/macros/wilson_bound.sql
    assert low == pytest.approx(0.05523, abs=1e-4)
    assert high == pytest.approx(0.17437, abs=1e-4)
    assert all(pd.isna(bound) for bound in wilson(0, 0))


RECS = pd.DataFrame(
    {
        "model_version": ["v1", "v1", "v2", "v2"],
        "activity_date": [date(2026, 1, 5), date(2026, 1, 6)] * 2,
        "ab_arm": ["champion", "champion", "challenger", "challenger"],
        "impressions": [60, 40, 50, 50],
        "clicks": [6, 4, 15, 5],
        "attributed_add_to_carts": [1, 1, 4, 0],
        "attributed_revenue_minor": [1000, 0, 2550, 0],
        "click_through_rate": [0.1, 0.1, 0.3, 0.1],
        "click_through_rate_ci_low": [0.05, 0.04, 0.2, 0.04],
        "click_through_rate_ci_high": [0.2, 0.23, 0.44, 0.21],
        "add_to_cart_rate": [1 / 60, 1 / 40, 0.08, 0.0],
        "add_to_cart_rate_ci_low": [0.0, 0.0, 0.03, 0.0],
        "add_to_cart_rate_ci_high": [0.09, 0.13, 0.19, 0.07],
    }
)


def test_ab_comparison_totals_each_arm_with_intervals() -> None:
    summary = ab_summary(RECS).set_index("ab_arm")

    assert summary.loc["champion", "impressions"] == 100
    assert summary.loc["champion", "ctr"] == pytest.approx(0.1)
    assert summary.loc["champion", "ctr_low"] == pytest.approx(wilson(10, 100)[0])
    assert summary.loc["challenger", "ctr"] == pytest.approx(0.2)
    assert summary.loc["challenger", "add_to_cart_rate"] == pytest.approx(0.04)
    assert summary.loc["challenger", "attributed_revenue_minor"] == 2550


def test_recommendations_page_draws_every_chart_by_version() -> None:
    page = recommendations_page(frames_with(recommendations=RECS))

    assert all(panel.figure is not None for panel in page.panels)
    ctr = page.panels[0].figure
    assert [trace.name for trace in ctr.data] == ["v1", "v2"]
    ab = page.panels[-1].figure
    assert list(ab.data[0].x) == ["champion: v1", "challenger: v2"]


def write_manifest(root: Path, audience: str, version: str, created: str, counts: dict) -> None:
    folder = root / audience / version
    folder.mkdir(parents=True)
    manifest = {
        "audience": audience,
        "version": version,
        "created_at": created,
        "status": "published",
        "counts": counts,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def audiences_dir(tmp_path: Path) -> Path:
    root = tmp_path / "published" / "audiences"
    write_manifest(root, "lapsed", "20260105T020000Z", "2026-01-05T02:00:00Z",
                   {"members": 40, "adds": 40, "removes": 0})  # fmt: skip
    write_manifest(root, "lapsed", "20260106T020000Z", "2026-01-06T02:00:00+00:00",
                   {"members": 45, "adds": 8, "removes": 3})  # fmt: skip
    write_manifest(root, "champions", "20260106T020000Z", "2026-01-06T02:00:00Z",
                   {"members": 12, "adds": 12, "removes": 0})  # fmt: skip
    broken = root / "broken" / "v1"
    broken.mkdir(parents=True)
    (broken / "manifest.json").write_text('{"audience": "broken"}')
    return root


def test_audience_manifests_one_row_per_version(audiences_dir: Path) -> None:
    frame = read_audience_manifests(audiences_dir)

    assert frame.data[["audience", "members", "adds", "removes"]].values.tolist() == [
        ["champions", 12, 12, 0],
        ["lapsed", 40, 40, 0],
        ["lapsed", 45, 8, 3],
    ]  # the manifest without counts is skipped
    assert frame.through == datetime(2026, 1, 6, 2, tzinfo=UTC)
    page = audiences_page({"audiences": frame})
    sizes = page.panels[0].figure
    assert dict(zip(sizes.data[0].y, sizes.data[0].x, strict=True)) == {
        "champions": 12,
        "lapsed": 45,
    }
    assert read_audience_manifests(audiences_dir.parent / "nothing").data.empty


def test_freshness_names_the_latest_data_and_the_last_build() -> None:
    frame = Frame("marts.fct_orders", pd.DataFrame(), date(2026, 1, 14))
    assert freshness(frame, None) == "data through 2026-01-14"
    built = datetime(2026, 1, 15, 2, 30, tzinfo=UTC)
    assert freshness(frame, built) == "data through 2026-01-14 · refreshed 2026-01-15 02:30 UTC"


def test_site_on_a_missing_warehouse_is_every_page_saying_no_data_yet(tmp_path: Path) -> None:
    out = tmp_path / "published" / "dashboards"

    site = build_site(tmp_path / "absent.duckdb", out)

    assert site.charts == 0 and site.empty > 0
    assert sorted(p.name for p in out.glob("*.html")) == sorted(
        ["index.html", *(p.name for p in site.pages)]
    )
    for path in site.pages:
        html = path.read_text()
        assert "No data yet" in html
        assert "plotly-graph-div" not in html


def test_pages_share_one_local_plotly_script_and_link_to_each_other(
    tmp_path: Path, audiences_dir: Path
) -> None:
    frames = frames_with(orders_daily=ORDERS, session_funnel=FUNNEL, recommendations=RECS)
    frames["audiences"] = read_audience_manifests(audiences_dir)
    refreshed = {"marts.fct_orders": datetime(2026, 1, 15, 2, 30, tzinfo=UTC)}

    site = render_pages(frames, tmp_path, refreshed_at=refreshed)

    assert [p.name for p in tmp_path.glob("*.js")] == [PLOTLY_JS]
    assert (tmp_path / PLOTLY_JS).stat().st_size > 1_000_000
    kpis = (tmp_path / "kpis.html").read_text()
    assert f'<script src="{PLOTLY_JS}"></script>' in kpis
    assert not re.search(r"(src|href)=\"(https?:)?//", kpis)  # nothing fetched from a CDN
    assert "Source: <code>marts.fct_orders</code> · data through 2026-01-14 · refreshed" in kpis
    assert kpis.count('class="plotly-graph-div"') == 4
    index = (tmp_path / "index.html").read_text()
    for page in site.pages:
        assert f'href="{page.name}"' in index and f'href="{page.name}"' in kpis


def check_rows(run: str, started: str, failures: dict[str, str]) -> list[dict]:
    return [
        {
            "run_id": run,
            "asset": "marts/fct_orders",
            "check_name": name,
            "severity": failures.get(name, "ERROR"),
            "passed": name not in failures,
            "failing_rows": 3 if name in failures else 0,
            "evaluated_at": pd.Timestamp(started, tz="UTC"),
            "run_started_at": pd.Timestamp(started, tz="UTC"),
        }
        for name in ("unique_order_id", "reconciles_with_raw", "order_value_distribution")
    ]


def test_quality_page_counts_outcomes_per_run_and_maps_only_failed_checks() -> None:
    checks = pd.DataFrame(
        check_rows("run-a", "2026-01-05 02:00", {})
        + check_rows("run-b", "2026-01-06 02:00", {"order_value_distribution": "WARN"})
    )
    page = PAGES[8](frames_with(check_results=checks))

    outcomes, failing = (panel.figure for panel in page.panels)
    by_name = {trace.name: list(trace.y) for trace in outcomes.data}
    assert by_name == {"passed": [3, 2], "warning": [0, 1]}
    assert list(failing.data[0].y) == ["marts/fct_orders:order_value_distribution"]
    assert failing.data[0].z.tolist() == [[2, 1]]  # passed in run a, warned in run b
    assert [t.value for t in page.tiles] == ["3", "2", "1", "0"]

    all_passed = PAGES[8](
        frames_with(check_results=pd.DataFrame(check_rows("a", "2026-01-05", {})))
    )
    assert all_passed.panels[1].figure is None
    assert all_passed.panels[1].empty == "No check failed in the last 1 run(s)."


def test_cost_page_stacks_seconds_per_run_and_sizes_the_last_run() -> None:
    costs = pd.DataFrame(
        {
            "run_id": ["a", "a", "b", "b"],
            "asset": ["raw/events", "marts/fct_orders"] * 2,
            "seconds": [4.0, 1.0, 5.0, 2.0],
            "rows": [100, 10, 120, None],
            "bytes": [2**20, None, 2**21, 2**18],
            "run_started_at": pd.to_datetime(
                ["2026-01-05", "2026-01-05", "2026-01-06", "2026-01-06"], utc=True
            ),
        }
    )
    page = PAGES[9](frames_with(asset_costs=costs))

    per_run, seconds, rows, size = (panel.figure for panel in page.panels)
    assert {t.name: list(t.y) for t in per_run.data} == {
        "marts/fct_orders": [1.0, 2.0],
        "raw/events": [4.0, 5.0],
    }
    assert list(seconds.data[0].y) == ["raw/events", "marts/fct_orders"]  # run b, costliest first
    assert list(rows.data[0].x) == [120]
    assert list(size.data[0].x) == [2.0, 0.25]  # MiB
