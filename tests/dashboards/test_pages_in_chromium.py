"""Every dashboard page in headless Chromium: no console errors, every chart drawn (each
chart div holds Plotly's rendered ``.main-svg``), a screenshot of each under the test
home's ``screenshots/``.

The site is built from the home ``mercado pipeline run`` built for the orchestration
tests (which also ran the ``dashboards/site`` asset), with audience manifests written by
the test (the contract of ``published/audiences``). ``MERCADO_UPDATE_SCREENSHOTS=1``
copies the KPI and recommendation screenshots to ``dashboards/screenshots/`` (the README's).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.site import Site, build_site
from orchestration.settings import PROJECT_ROOT
from tests.browser import DevTools, Tab, devtools_session, running_chromium
from tests.dashboards.test_builder import write_manifest
from tests.orchestration.conftest import Home

COMMITTED = PROJECT_ROOT / "dashboards" / "screenshots"
CHARTS_DRAWN = (
    "Array.from(document.querySelectorAll('.plotly-graph-div'))"
    ".every(div => div.querySelector('.main-svg'))"
)
# Charts the simulated shop (and the test's audience manifests) draw at least, by page; the
# other panels may rightly say "no data yet" (no reviews) or "no check failed".
MIN_CHARTS = {"kpis": 4, "funnel": 3, "search": 3, "recommendations": 4, "audiences": 3,
              "quality": 1, "cost": 4}  # fmt: skip


@pytest.fixture(scope="module")
def home(built_home: Home, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert (built_home.path / "pipeline.exit").read_text() == "0"
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="module")
def site(built_home: Home, home: Path) -> Site:
    audiences = home / "published" / "audiences"
    for day, members, adds, removes in ((5, 40, 40, 0), (6, 46, 9, 3), (7, 44, 2, 4)):
        write_manifest(audiences, "lapsed_buyers", f"202601{day:02d}T020000Z",
                       f"2026-01-{day:02d}T02:00:00Z",
                       {"members": members, "adds": adds, "removes": removes})  # fmt: skip
    write_manifest(audiences, "cart_abandoners", "20260107T020000Z", "2026-01-07T02:00:00Z",
                   {"members": 17, "adds": 17, "removes": 0})  # fmt: skip
    return build_site(built_home.warehouse, home / "published" / "dashboards")


@pytest.fixture(scope="module")
def chromium(home: Path) -> Iterator[DevTools]:
    profile = home.parent / f"{home.name}-chromium"
    profile.mkdir()
    with running_chromium(profile) as process, devtools_session(process, profile) as devtools:
        yield devtools


@pytest.mark.slow
def test_the_pipeline_run_built_the_site(built_home: Home) -> None:
    index = built_home.path / "published" / "dashboards" / "index.html"
    assert index.exists()
    assert len(list(index.parent.glob("*.js"))) == 1  # one shared copy of Plotly


@pytest.mark.slow
def test_every_page_renders_its_charts_without_errors(
    site: Site, chromium: DevTools, home: Path
) -> None:
    drawn = {}
    for path in [site.index, *site.pages]:
        tab = Tab(chromium)
        try:
            tab.viewport(1280, 900)
            chromium.errors.clear()
            tab.open(path.as_uri(), ready="document.readyState === 'complete'")
            tab.wait_until(CHARTS_DRAWN, timeout=30)
            chromium.pump(0.2)
            charts = tab.evaluate("document.querySelectorAll('.chart').length")
            drawn[path.stem] = tab.evaluate(
                "Array.from(document.querySelectorAll('.chart .plotly-graph-div'))"
                ".filter(div => div.querySelector('.main-svg')).length"
            )
            empty = tab.evaluate(
                "Array.from(document.querySelectorAll('.empty')).map(e => e.textContent)"
            )
            assert drawn[path.stem] == charts, path.name
            assert all(text.startswith("No") for text in empty), empty
            assert chromium.errors == [], (path.name, chromium.errors)
            tab.screenshot(home / "screenshots" / f"{path.stem}.png")
        finally:
            tab.close()
    for page, charts in MIN_CHARTS.items():
        assert drawn[page] >= charts, (page, drawn[page])
    if os.environ.get("MERCADO_UPDATE_SCREENSHOTS"):
        for name in ("kpis", "recommendations"):
            shutil.copyfile(home / "screenshots" / f"{name}.png", COMMITTED / f"{name}.png")
