"""The page's charts: matplotlib figures rendered to SVG text that the page inlines.

Figures are built with the object API (no pyplot, no GUI backend); text is drawn as
paths so the SVG needs no font, and ids are salted per chart so that several SVGs in one
page never share an id.
"""

from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

ACCENT = "#2563eb"
MUTED = "#94a3b8"
ALERT = "#dc2626"
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')
_ID_REFERENCE = re.compile(r'(href="#|url\(#)([^")]+)')


def _svg(figure: Figure, chart_id: str) -> str:
    """The figure as an inline <svg> element (no XML prologue, no date, ids of its own)."""
    FigureCanvasSVG(figure)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": chart_id}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    # Every SVG defines the same glyph ids (DejaVuSans-31...): scope them to the chart so
    # the page's ids stay unique.
    svg = _ID.sub(rf'id="{chart_id}-\1"', svg)
    return _ID_REFERENCE.sub(rf"\1{chart_id}-\2", svg)


def _figure(width: float = 6.0, height: float = 2.8) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    figure.set_facecolor("white")
    return figure


def _tidy(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def score_histogram(chart_id: str, kind: str, scores: list[int], p90: int | None) -> str:
    """Scores 0-100 in bins of 5, with a line at the population's P90."""
    figure = _figure()
    axes = figure.add_subplot()
    axes.hist(scores, bins=range(0, 101, 5), color=ACCENT, edgecolor="white")
    if p90 is not None:
        axes.axvline(p90, color=ALERT, linestyle="--", linewidth=1.5)
        axes.annotate(
            f"P90 = {p90}",
            xy=(p90, 1),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            color=ALERT,
        )
    axes.set_xlim(0, 100)
    axes.set_xlabel("engagement score")
    axes.set_ylabel(kind)
    _tidy(axes)
    return _svg(figure, chart_id)


def bar_chart(chart_id: str, counts: list[tuple[str, int]], xlabel: str) -> str:
    """Horizontal bars, first item on top, each labelled with its count."""
    figure = _figure(height=0.45 * max(len(counts), 2) + 0.8)
    axes = figure.add_subplot()
    names = [name for name, _ in counts]
    values = [value for _, value in counts]
    bars = axes.barh(range(len(counts)), values, color=ACCENT)
    axes.bar_label(bars, padding=3)
    axes.set_yticks(range(len(counts)), names)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    axes.margins(x=0.12)
    _tidy(axes)
    return _svg(figure, chart_id)


def days_histogram(chart_id: str, days: list[float]) -> str:
    """Days from first seen to activated, in 20 equal bins."""
    figure = _figure()
    axes = figure.add_subplot()
    axes.hist(days, bins=20, color=ACCENT, edgecolor="white")
    axes.set_xlabel("days from first seen to activated")
    axes.set_ylabel("activated")
    _tidy(axes)
    return _svg(figure, chart_id)
