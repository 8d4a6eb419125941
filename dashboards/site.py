"""``build_site``: the dashboards as static HTML, one page per topic plus an overview,
sharing one copy of Plotly's JavaScript written beside them (offline: no CDN).

Pure: it reads a DuckDB connection and the published audience manifests and writes
files; the Dagster asset ``dashboards/site`` calls it with the tables' refresh times.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import jinja2
import plotly.io as pio
import plotly.offline

from dashboards.manifests import read_audience_manifests
from dashboards.pages import PAGES
from dashboards.panels import Page, Panel
from dashboards.queries import Frame, read_frames
from orchestration.loads.warehouse import open_reader

PLOTLY_JS = "plotly.min.js"
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("dashboards", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Site:
    index: Path
    pages: list[Path]  # the topic pages, without the overview
    charts: int  # charts drawn (panels with data)
    empty: int  # panels showing "no data yet"


def freshness(frame: Frame, refreshed_at: datetime | None) -> str:
    """``data through <latest date>`` and, when known, when the table was last built."""
    parts = []
    through = frame.through
    if isinstance(through, datetime):
        parts.append(f"data through {through.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    elif isinstance(through, date):
        parts.append(f"data through {through:%Y-%m-%d}")
    if refreshed_at is not None:
        parts.append(f"refreshed {refreshed_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    return " · ".join(parts)


def _write(path: Path, text: str) -> None:
    """Write through a temporary file, so a reader never sees half a page."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.write_text(text, encoding="utf-8")
    staged.replace(path)


def write_plotly_js(out_dir: Path) -> Path:
    """The installed plotly package's JavaScript, once, beside the pages."""
    path = out_dir / PLOTLY_JS
    source = plotly.offline.get_plotlyjs()
    digest = hashlib.sha256(source.encode()).hexdigest()
    current = path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == digest
    if not current:
        _write(path, source)
    return path


def render_pages(
    frames: Mapping[str, Frame],
    out_dir: Path,
    *,
    refreshed_at: Mapping[str, datetime] | None = None,
    source_label: str = "the warehouse",
    built_at: datetime | None = None,
) -> Site:
    """Every page from ``frames`` (query name -> frame), written into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_plotly_js(out_dir)
    refreshed_at = refreshed_at or {}
    built = f"{(built_at or datetime.now(UTC)).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    pages = [build(frames) for build in PAGES]
    template = TEMPLATES.get_template("page.html.j2")
    common = {"pages": pages, "plotly_js": PLOTLY_JS, "built_at": built, "warehouse": source_label}
    paths, charts, empty = [], 0, 0
    for page in pages:
        panels = [
            _render(panel, f"{page.slug}-{n}", refreshed_at)
            for n, panel in enumerate(page.panels, 1)
        ]
        charts += sum(1 for p in panels if p["html"])
        empty += sum(1 for p in panels if not p["html"])
        path = out_dir / page.filename
        _write(
            path,
            template.render(
                page=page, panels=panels, charts=any(p["html"] for p in panels), **common
            ),
        )
        paths.append(path)
    overview = Page(
        "index",
        "Mercado dashboards",
        "The shop at a glance; each page below says where its numbers come from "
        "and how recent they are.",
        tiles=next(p for p in pages if p.slug == "kpis").tiles,
    )
    cards = [{"page": p, "charts": sum(1 for x in p.panels if x.figure is not None)} for p in pages]
    index = out_dir / "index.html"
    _write(index, template.render(page=overview, panels=[], cards=cards, charts=False, **common))
    return Site(index, paths, charts, empty)


def _render(panel: Panel, div_id: str, refreshed_at: Mapping[str, datetime]) -> dict:
    html = ""
    if panel.figure is not None:
        html = pio.to_html(
            panel.figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    return {
        "title": panel.title,
        "description": panel.description,
        "empty": panel.empty,
        "html": html,
        "sources": [
            {"table": f.table, "freshness": freshness(f, refreshed_at.get(f.table))}
            for f in panel.sources
        ],
    }


def build_site(
    warehouse: Path,
    out_dir: Path,
    *,
    audiences_dir: Path | None = None,
    refreshed_at: Mapping[str, datetime] | None = None,
) -> Site:
    """Read the marts (and ``ops.*``) from the DuckDB file ``warehouse`` and the audience
    manifests under ``audiences_dir`` (default: ``audiences`` beside ``out_dir``, i.e.
    ``published/audiences``), and write the site into ``out_dir``.

    ``refreshed_at`` maps ``schema.table`` to when the table was last built (the asset
    passes Dagster's latest materialisations); it is shown beside each chart's source."""
    frames: dict[str, Frame] = {}
    with open_reader(warehouse) if warehouse.exists() else duckdb.connect() as conn:
        frames.update(read_frames(conn))
    audiences = audiences_dir or out_dir.parent / "audiences"
    frames["audiences"] = read_audience_manifests(audiences)
    return render_pages(frames, out_dir, refreshed_at=refreshed_at, source_label=warehouse.name)
