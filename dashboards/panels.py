"""The pieces a page is made of: panels (a chart or a "no data yet" note, with its
source and freshness) and headline tiles, and the figure conventions they share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from dashboards.queries import Frame

HEIGHT = 380
COLORS = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"]


@dataclass
class Panel:
    """One chart on a page; ``figure`` is None when its source has nothing to draw yet,
    and the page shows ``empty`` instead."""

    title: str
    sources: list[Frame]
    figure: go.Figure | None
    empty: str = ""
    description: str = ""


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    note: str = ""


@dataclass
class Page:
    slug: str
    title: str
    description: str
    panels: list[Panel] = field(default_factory=list)
    tiles: list[Tile] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.slug}.html"


def figure(**layout: object) -> go.Figure:
    """A figure in the site's look: white, compact margins, legend on top."""
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        colorway=COLORS,
        legend={"orientation": "h", "y": 1.12, "x": 0},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    fig.update_layout(**layout)
    return fig


def toggle(fig: go.Figure, groups: dict[str, list[bool]]) -> go.Figure:
    """Buttons that show one group of traces at a time (e.g. Day / Week), top left (the
    legend's place: a toggled chart has none; Plotly's own tools sit top right)."""
    buttons = [
        {"label": label, "method": "update", "args": [{"visible": visible}]}
        for label, visible in groups.items()
    ]
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "xanchor": "left",
                "y": 1.16,
                "yanchor": "top",
                "showactive": True,
                "buttons": buttons,
            }
        ]
    )
    return fig


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of successes / trials, the formula of the marts'
    ``wilson_bound`` macro (so a total's interval is computed as the mart's daily ones);
    NaN without trials."""
    if trials <= 0:
        return float("nan"), float("nan")
    p = min(successes, trials) / trials  # as the macro: add-to-carts may exceed items shown
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    scale = 1 + z * z / trials
    return (centre - spread) / scale, (centre + spread) / scale


def has_rows(frame: Frame, *columns: str) -> bool:
    """The frame has a row with a value in every one of ``columns``."""
    data = frame.data
    if data.empty or any(c not in data.columns for c in columns):
        return False
    return bool(data[list(columns)].notna().all(axis=1).any()) if columns else True


def money(value: float, currency: str = "") -> str:
    if pd.isna(value):
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {currency}".strip()


def percent(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.1%}"


def count(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:,.0f}"
