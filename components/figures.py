"""Plotly figures of the dashboards: the large aggregated gauge, the donut of the resilience
levels, the item x time status heatmap and the drill-down line charts.

Every figure takes the theme ("light" or "dark") and uses the matching Plotly template with a
transparent background, so it sits on the Bootstrap card of either theme. Names from the data go
through :func:`plotly_text`: Plotly reads a small subset of HTML in its labels, and a service
called ``<b>x</b>`` (or worse) must show literally.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from components.status import AVAILABILITY_COLORS

LIGHT_TEMPLATE = "plotly_white"
DARK_TEMPLATE = "plotly_dark"
HEATMAP_MAX_COLUMNS = 200


def plotly_template(theme: str | None) -> str:
    return DARK_TEMPLATE if theme == "dark" else LIGHT_TEMPLATE


def plotly_text(text: str) -> str:
    """``text`` escaped for Plotly labels, which would otherwise interpret tags in it."""
    return html.escape(str(text), quote=False)


def translucent(color: str, alpha: float) -> str:
    """A ``#rrggbb`` colour as ``rgba(...)`` with ``alpha``."""
    red, green, blue = (int(color.lstrip("#")[at : at + 2], 16) for at in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def _layout(theme: str | None, **extra: object) -> dict:
    return {
        "template": plotly_template(theme),
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        **extra,
    }


def aggregated_gauge_figure(
    *,
    value_percent: float | None,
    bands: Sequence[tuple[float, float, str]],
    colors: Mapping[str, str],
    theme: str | None,
    height: int = 200,
) -> go.Figure:
    """A large semicircular gauge of the aggregated score (0 to 100). ``bands`` are the status
    ranges ``(from, to, status)`` drawn faintly behind the bar in the status ``colors``. The number itself is written
    next to the figure as text (by the page), so Plotly draws no number."""
    bar_color = "#e9ecef" if theme == "dark" else "#343a40"
    return go.Figure(
        go.Indicator(
            mode="gauge",
            value=value_percent,
            gauge={
                "shape": "angular",
                "axis": {"range": [0, 100], "ticksuffix": "%", "nticks": 6},
                "bar": {"color": bar_color, "thickness": 0.3},
                "borderwidth": 0,
                "steps": [
                    {"range": [low, high], "color": translucent(colors[status], 0.45)}
                    for low, high, status in bands
                ],
            },
        ),
        layout=_layout(theme, height=height, margin={"l": 35, "r": 35, "t": 15, "b": 5}),
    )


def status_donut_figure(
    *,
    statuses: Sequence[str],
    counts: Sequence[int],
    texts: Sequence[str],
    colors: Mapping[str, str],
    theme: str | None,
    height: int = 240,
) -> go.Figure:
    """A donut of how many items are at each status (``statuses`` in display order)."""
    return go.Figure(
        go.Pie(
            labels=list(texts),
            values=list(counts),
            hole=0.6,
            sort=False,
            direction="clockwise",
            marker={"colors": [colors[status] for status in statuses]},
            textinfo="value",
            hovertemplate="%{label}: %{value}<extra></extra>",
        ),
        layout=_layout(
            theme,
            height=height,
            showlegend=True,
            legend={"orientation": "h", "y": -0.05, "x": 0.5, "xanchor": "center"},
        ),
    )


def status_heatmap_figure(
    *,
    names: Sequence[str],
    instants: np.ndarray,
    codes: np.ndarray,
    status_texts: Sequence[str],
    colors: Sequence[str],
    theme: str | None,
) -> go.Figure:
    """Items (rows, in the given order) x time: the status of each item as of each instant.

    ``codes`` is (len(names), len(instants)) indexes into ``status_texts``/``colors``; at most
    :data:`HEATMAP_MAX_COLUMNS` evenly spaced instants are drawn (the last one included).
    """
    columns = np.unique(
        np.rint(
            np.linspace(0, max(len(instants) - 1, 0), min(len(instants), HEATMAP_MAX_COLUMNS))
        ).astype(np.int64)
    )
    shown = np.asarray(codes)[:, columns] if len(names) else np.empty((0, len(columns)))
    levels = len(status_texts)
    # A stepped colour scale: code k fills [k/levels, (k+1)/levels] with its colour.
    colorscale = [
        [position / levels, colors[code]] for code in range(levels) for position in (code, code + 1)
    ]
    text_of = np.asarray(status_texts, dtype=object)
    figure = go.Figure(
        go.Heatmap(
            z=shown,
            x=np.asarray(instants)[columns],
            y=list(range(len(names))),
            zmin=-0.5,
            zmax=levels - 0.5,
            colorscale=colorscale,
            customdata=text_of[shown.astype(np.int64)] if shown.size else None,
            hovertemplate="%{x}<br>%{customdata}<extra></extra>",
            colorbar={
                "tickvals": list(range(levels)),
                "ticktext": list(status_texts),
                "thickness": 12,
            },
            xgap=0,
            ygap=1,
        ),
        layout=_layout(
            theme,
            height=max(220, 22 * len(names) + 80),
            margin={"l": 10, "r": 10, "t": 10, "b": 40},
        ),
    )
    figure.update_yaxes(
        tickvals=list(range(len(names))),
        ticktext=[plotly_text(name) for name in names],
        autorange="reversed",
        automargin=True,
    )
    figure.update_xaxes(title_text="time (UTC)")
    return figure


def _empty_figure(*, message: str, theme: str | None, height: int) -> go.Figure:
    figure = go.Figure(layout=_layout(theme, height=height))
    figure.add_annotation(
        text=plotly_text(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def availability_drilldown_figure(
    *,
    name: str,
    timestamps: np.ndarray,
    scores: np.ndarray,
    cumulative_failures: np.ndarray,
    theme: str | None,
    height: int = 360,
) -> go.Figure:
    """One service over time: its score (percent, left axis) and its cumulative failures (right
    axis, a step line), with a marker at every instant where failures happened."""
    if len(timestamps) == 0:
        return _empty_figure(message=f"{name}: no data in the window", theme=theme, height=height)
    failures = np.asarray(cumulative_failures)
    failed_at = np.flatnonzero(np.diff(failures, prepend=0) > 0)
    # Whole-number ticks for a count: about five of them whatever the total.
    failure_step = max(1, math.ceil(float(np.nanmax(failures)) / 5)) if len(failures) else 1
    figure = go.Figure(
        [
            go.Scatter(
                x=timestamps,
                y=np.asarray(scores, dtype=float) * 100,
                name="score",
                mode="lines",
                line={"shape": "hv", "width": 2},
                hovertemplate="%{x}<br>score %{y:.1f}%<extra></extra>",
            ),
            go.Scatter(
                x=timestamps,
                y=failures,
                name="cumulative failures",
                yaxis="y2",
                mode="lines",
                line={"shape": "hv", "dash": "dot", "color": AVAILABILITY_COLORS["CRITICAL"]},
                hovertemplate="%{x}<br>%{y} failures<extra></extra>",
            ),
            go.Scatter(
                x=np.asarray(timestamps)[failed_at],
                y=failures[failed_at],
                name="failures",
                yaxis="y2",
                mode="markers",
                marker={"symbol": "x", "size": 9, "color": AVAILABILITY_COLORS["CRITICAL"]},
                hovertemplate="%{x}<br>failure(s): total %{y}<extra></extra>",
            ),
        ],
        layout=_layout(
            theme,
            height=height,
            margin={"l": 50, "r": 50, "t": 40, "b": 40},
            title={"text": plotly_text(name), "x": 0.01},
            yaxis={"title": {"text": "score (%)"}, "range": [0, 105]},
            yaxis2={
                "title": {"text": "cumulative failures"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "tick0": 0,
                "dtick": failure_step,
                "showgrid": False,
            },
            legend={"orientation": "h", "y": -0.2},
            hovermode="x",
        ),
    )
    return figure


def resilience_drilldown_figure(
    *,
    name: str,
    timestamps: np.ndarray,
    scores: np.ndarray,
    compliance: np.ndarray,
    success_rate: np.ndarray,
    theme: str | None,
    height: int = 360,
) -> go.Figure:
    """One backup target hour by hour: score, RPO compliance and success rate (percent)."""
    if len(timestamps) == 0:
        return _empty_figure(message=f"{name}: no data in the window", theme=theme, height=height)
    lines = (
        ("score", scores, 3, "solid"),
        ("RPO compliance", compliance, 2, "dash"),
        ("success rate", success_rate, 2, "dot"),
    )
    return go.Figure(
        [
            go.Scatter(
                x=timestamps,
                y=np.asarray(values, dtype=float) * 100,
                name=label,
                mode="lines",
                line={"width": width, "dash": dash},
                hovertemplate=f"%{{x}}<br>{label} %{{y:.1f}}%<extra></extra>",
            )
            for label, values, width, dash in lines
        ],
        layout=_layout(
            theme,
            height=height,
            margin={"l": 50, "r": 20, "t": 40, "b": 40},
            title={"text": plotly_text(name), "x": 0.01},
            yaxis={"title": {"text": "percent"}, "range": [0, 105]},
            legend={"orientation": "h", "y": -0.2},
            hovermode="x",
        ),
    )
