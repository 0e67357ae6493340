"""Timeline playback controls and how the replayed frames look.

The frames themselves (what every gauge, count and the aggregated score show at each instant)
are computed once per report by the pure dashboard model (analytics/dashboard_model.py); the
browser gets them in one ``dcc.Store`` and replays them with clientside callbacks
(assets/playback.js), so stepping the timeline never calls the server. This module adds what the
data does not say: the texts, colours and icon classes of the statuses, and the controls (the
page factory, pages/_dashboard_page.py, registers the clientside callbacks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from analytics.dashboard_model import NO_DATA
from components.gauges import NO_VALUE_TEXT, status_text_class

PLAY_BASE_INTERVAL_MS = 250
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0)
PLAY_TEXT = "Play"
PAUSE_TEXT = "Pause"
CLIENTSIDE_NAMESPACE = "metricsPlayback"


def playback_look(
    *,
    prefix: str,
    status_order: Sequence[str],
    status_texts: Mapping[str, str],
    colors: Mapping[str, str],
    figures: Sequence[str],
    facts: Sequence[str],
) -> dict:
    """What the playback payload adds to the model's data (read by assets/playback.js):
    ``status_texts`` and ``colors`` of each status of ``status_order`` (statuses without a
    colour, "no data yet", are drawn as NO_DATA), the keys of the base figures the playback
    redraws ("gauge", "donut"), one line of fixed figures per item (``facts``) and the
    controls' texts."""
    return {
        "prefix": prefix,
        "statusTexts": [status_texts[name] for name in status_order],
        "statusClasses": [status_text_class(name) for name in status_order],
        "colors": [colors.get(name, colors[NO_DATA]) for name in status_order],
        "figures": list(figures),
        "facts": list(facts),
        "noValue": NO_VALUE_TEXT,
        "baseInterval": PLAY_BASE_INTERVAL_MS,
        "playText": PLAY_TEXT,
        "pauseText": PAUSE_TEXT,
    }


def timeline_controls(*, prefix: str, labels: Sequence[str]) -> html.Div:
    """Slider over the frames (starting at the last one), Play/Pause, Reset, speed and the
    instant label; the play ticks come from a ``dcc.Interval`` that is disabled while paused."""
    last = max(len(labels) - 1, 0)
    # Empty marks at both ends (no marks at all would make the slider number every few steps);
    # the first and last instants are written under the slider instead.
    marks = {0: "", last: ""}
    return html.Div(
        [
            html.Div(
                [
                    dbc.ButtonGroup(
                        [
                            dbc.Button(
                                PLAY_TEXT,
                                id=f"{prefix}-play",
                                color="primary",
                                n_clicks=0,
                                disabled=not labels,
                            ),
                            dbc.Button(
                                "Reset",
                                id=f"{prefix}-reset",
                                color="secondary",
                                outline=True,
                                n_clicks=0,
                                disabled=not labels,
                            ),
                        ],
                        size="sm",
                    ),
                    html.Label("Speed", htmlFor=f"{prefix}-speed", className="ms-3 me-1 small"),
                    dbc.Select(
                        id=f"{prefix}-speed",
                        options=[
                            {"label": f"{speed:g}x", "value": f"{speed:g}"} for speed in SPEEDS
                        ],
                        value="1",
                        size="sm",
                        class_name="md-speed",
                    ),
                    html.Span(
                        [
                            html.Span("Shown: ", className="text-body-secondary"),
                            html.Span(
                                labels[-1] if labels else NO_VALUE_TEXT,
                                id=f"{prefix}-instant",
                                className="md-instant",
                            ),
                        ],
                        className="ms-auto",
                    ),
                ],
                className="d-flex flex-wrap align-items-center gap-1 mb-2",
            ),
            dcc.Slider(
                id=f"{prefix}-slider",
                min=0,
                max=last,
                step=1,
                value=last,
                marks=marks,
                updatemode="drag",
                allow_direct_input=False,
                disabled=not labels,
                className="md-slider",
            ),
            html.Div(
                [html.Span(labels[0] if labels else ""), html.Span(labels[-1] if labels else "")],
                className="d-flex justify-content-between small text-body-secondary",
            ),
            dcc.Interval(
                id=f"{prefix}-interval",
                interval=PLAY_BASE_INTERVAL_MS,
                disabled=True,
                n_intervals=0,
            ),
        ],
        className="md-timeline",
    )
