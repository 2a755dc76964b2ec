"""The HTML page: the report's content laid out by a Jinja2 template, charts inlined."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from plg_report import charts
from plg_report.report_content import ReportContent


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("plg_report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["thousands"] = lambda n: f"{n:,}"
    environment.filters["signed"] = lambda n: "-" if n is None else f"{n:+d}"
    environment.filters["number"] = lambda v: "-" if v is None else f"{v:g}"
    environment.filters["dash"] = lambda v: "-" if v is None or v == "" else v
    environment.filters["percent"] = lambda part, whole: (
        f"{100 * part / whole:.0f}%" if whole else "-"
    )
    return environment


def _charts(content: ReportContent) -> dict[str, Markup]:
    """Every chart as trusted SVG markup (matplotlib escapes the text it draws)."""
    drawn: dict[str, str] = {}
    for summary in content.scores:
        drawn[f"scores-{summary.kind}"] = charts.score_histogram(
            f"scores-{summary.kind}", summary.kind, summary.scores, summary.p90
        )
    for stages in content.stages:
        if stages.counts:
            drawn[f"stages-{stages.kind}"] = charts.bar_chart(
                f"stages-{stages.kind}", stages.counts, stages.kind
            )
    for activation in content.activation:
        if activation.reached:
            drawn[f"milestones-{activation.kind}"] = charts.bar_chart(
                f"milestones-{activation.kind}",
                [(f"{k} of {activation.steps}", n) for k, n in activation.reached],
                f"{activation.kind} with at least this many milestones",
            )
        if activation.days_to_activate:
            drawn[f"days-{activation.kind}"] = charts.days_histogram(
                f"days-{activation.kind}", activation.days_to_activate
            )
    return {name: Markup(svg) for name, svg in drawn.items()}  # noqa: S704


def render_page(content: ReportContent, title: str, sources: dict[str, str]) -> str:
    """The whole page as one HTML string: no script, stylesheet or font from anywhere."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title,
        content=content,
        charts=_charts(content),
        sources=sources,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
