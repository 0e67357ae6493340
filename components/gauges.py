"""Lightweight CSS gauges: a semicircle per service, a circle per backup target, in cards.

Why not Plotly: a grid of 100 ``go.Indicator`` gauges costs 300 ms or more to redraw, and the
timeline replays every gauge many times a second. A gauge here is one element: its arc is a
``::before`` ``conic-gradient`` driven by two CSS variables (``--md-gauge-value``, a fraction, and
``--md-gauge-color``) and its number is its text, so the playback script (assets/playback.js)
redraws it by setting a style property and a text. Track and text use Bootstrap's theme
variables, so they follow the light/dark theme by themselves (assets/dashboard.css).

Why the grid is not made of Dash components: Dash re-checks every component of the page on
each update, so 100 cards of 7 components each added about 35 ms to every playback step. The
page renders one card (:func:`gauge_card`) as a hidden template, and the playback script clones
it per item and fills in the names as text (``textContent``: never parsed as HTML).

Every gauge card writes its status as text next to the colour, never colour alone.
"""

from __future__ import annotations

import math
from typing import Literal

from dash import html

from components.status import STATUS_ICONS, status_key

GaugeShape = Literal["semi", "circle"]

# Class names shared with assets/playback.js, which finds the parts of a card by them.
GAUGE_CLASS = "md-gauge"
STATUS_TEXT_CLASS = "md-status-text"
LIVE_FACT_CLASS = "md-card-live"
NO_VALUE_TEXT = "—"


def percent_text(value_percent: float | None) -> str:
    """A percentage as the dashboards write it: one decimal and a percent sign ("87.3%")."""
    if value_percent is None or math.isnan(value_percent):
        return NO_VALUE_TEXT
    return f"{value_percent:.1f}%"


def status_text_class(status: str) -> str:
    """Classes of a status text: its Bootstrap icon is drawn before the name by CSS (the
    playback script swaps these classes in place)."""
    return f"{STATUS_TEXT_CLASS} bi {STATUS_ICONS.get(status_key(status), 'bi-circle')}"


def gauge_style(*, value_percent: float | None, color: str | None = None) -> dict[str, str]:
    fraction = 0.0 if value_percent is None or math.isnan(value_percent) else value_percent / 100
    style = {"--md-gauge-value": f"{min(max(fraction, 0.0), 1.0):.4f}"}
    if color is not None:
        style["--md-gauge-color"] = color
    return style


def gauge(*, shape: GaugeShape, value_percent: float | None, color: str | None) -> html.Span:
    """A gauge filled to ``value_percent`` (0 to 100, None for no data) in ``color`` (None:
    the ``--md-gauge-color`` of the enclosing element), with the number written in it."""
    return html.Span(
        percent_text(value_percent),
        className=f"{GAUGE_CLASS} md-gauge--{shape}",
        style=gauge_style(value_percent=value_percent, color=color),
    )


def gauge_card(
    *,
    shape: GaugeShape,
    title: str,
    subtitle: str,
    value_percent: float | None,
    status: str,
    status_display: str,
    color: str,
    facts: str,
    live_fact: tuple[str, str] | None = None,
) -> html.Button:
    """One service or target: its gauge, name, type, status and a few figures, in ``color``.

    A button, so that a click (or Enter) opens its drill-down. ``facts`` is a fixed line
    ("Budget 5 · Weight 3") and ``live_fact`` the (label, value) the timeline replays
    (cumulative failures). The dashboards render one such card as the template of their grid
    (assets/playback.js clones it per item).
    """
    parts = [
        gauge(shape=shape, value_percent=value_percent, color=None),
        html.Span(title, className="md-card-title", title=title),
        html.Span(subtitle, className="md-card-subtitle"),
        html.Span(status_display, className=status_text_class(status)),
    ]
    if live_fact is not None:
        label, value = live_fact
        parts.append(html.Span(value, className=LIVE_FACT_CLASS, **{"data-label": label}))
    parts.append(html.Span(facts, className="md-card-facts"))
    return html.Button(
        parts,
        type="button",
        className="md-card",
        style={"--md-gauge-color": color},
        title=f"Show the timeline of {title}",
    )
