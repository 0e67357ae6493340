"""/resilience/dashboard?report=<name>: one backup-resilience report, replayable hour by hour.

A donut of the five resilience levels, the aggregated score, a circular indicator per backup
target, a table of the final RPO figures, filters, a target x time status heatmap, a per-target
drill-down (score, RPO compliance, success rate) and downloads. The timeline replays the
indicators, counts, donut and aggregated score in the browser. Without a report name the latest
resilience report is shown.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from components.dashboard_common import (
    DashboardData,
    DashboardSpec,
    aggregated_card,
    counts_card,
    dashboard_page,
    final_counts,
    point_series,
    point_times,
    register_common_callbacks,
    status_texts,
)
from components.figures import (
    aggregated_gauge_figure,
    resilience_drilldown_figure,
    status_donut_figure,
)
from components.gauges import NO_VALUE_TEXT, percent_text
from components.reports import format_utc
from components.timeline import register_playback_callbacks
from metrics_dashboard.runner import analysis_defaults
from metrics_dashboard.web.context import get_settings


def fraction_text(value: Any) -> str:
    """A fraction (0 to 1) of the report as a percentage."""
    return NO_VALUE_TEXT if value is None else percent_text(float(value) * 100)


def hours_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "never"
    return f"{float(value):.1f} h"


TABLE_HEADER = (
    "Target",
    "Type",
    "Status",
    "Score",
    "Actual RPO",
    "Target RPO",
    "RPO compliance",
    "Success rate",
    "Last successful backup",
    "Backups ok / run",
)


def card_facts(entry: dict) -> str:
    return f"RPO target {hours_text(entry['target_rpo_hours'])} · Weight {entry.get('weight', 1)}"


def table_row(entry: dict, name: str, target_type: str, status: str) -> list[str]:
    """A target's final figures, as the table writes them (in TABLE_HEADER order)."""
    return [
        name,
        target_type,
        status,
        percent_text(entry.get("final_score")),
        hours_text(entry.get("actual_rpo_hours")),
        hours_text(entry.get("target_rpo_hours")),
        fraction_text(entry.get("final_rpo_compliance")),
        fraction_text(entry.get("final_success_rate")),
        format_utc(entry.get("last_successful_backup")),
        f"{entry.get('successful_backups', 0)} / {entry.get('total_backups', 0)}",
    ]


SPEC = DashboardSpec(
    kind="resilience",
    items_key="targets",
    points_key="timeline",
    point_status_key="status",
    statuses=("EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE"),
    figures=("gauge", "donut"),
    item_noun="target",
    card_shape="circle",
    card_facts=card_facts,
    table_row=table_row,
    table_status_column=TABLE_HEADER.index("Status"),
)

dash.register_page(
    __name__,
    path="/resilience/dashboard",
    name="Resilience dashboard",
    title="Resilience dashboard",
)


def status_bands() -> list[tuple[float, float, str]]:
    """The level ranges of the aggregated gauge, in percent, from the configured thresholds."""
    thresholds = analysis_defaults(get_settings()).resilience.status_thresholds
    severe, critical = thresholds.critical_from * 100, thresholds.acceptable_from * 100
    acceptable, good = thresholds.good_from * 100, thresholds.excellent_above * 100
    return [
        (0, severe, "SEVERE"),
        (severe, critical, "CRITICAL"),
        (critical, acceptable, "ACCEPTABLE"),
        (acceptable, good, "GOOD"),
        (good, 100, "EXCELLENT"),
    ]


def donut_figure(*, counts: list[int], theme: str | None) -> Any:
    texts = status_texts(SPEC.statuses)
    return status_donut_figure(
        statuses=SPEC.statuses,
        counts=counts,
        texts=[texts[status] for status in SPEC.statuses],
        theme=theme,
    )


@functools.cache  # one per theme: the thresholds are fixed for the process
def base_figures(theme: str | None) -> dict:
    """The figures the playback redraws, for the theme (their values are set per frame)."""
    gauge = aggregated_gauge_figure(value_percent=None, bands=status_bands(), theme=theme)
    donut = donut_figure(counts=[0] * len(SPEC.statuses), theme=theme)
    return {"gauge": gauge.to_plotly_json(), "donut": donut.to_plotly_json()}


def targets_table() -> dbc.Card:
    """The final RPO figures of every target. The browser fills the rows from the playback
    payload, as text, and filters them with the cards (a component per cell would slow every
    playback step: see components/gauges.py)."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Targets at the end of the window", className="h6"),
                html.Div(
                    dbc.Table(
                        [
                            html.Thead(
                                html.Tr([html.Th(title, scope="col") for title in TABLE_HEADER])
                            ),
                            html.Tbody(id=SPEC.id("table-body")),
                        ],
                        id=SPEC.id("table"),
                        hover=True,
                        size="sm",
                        class_name="mb-0 align-middle md-table",
                    ),
                    className="table-responsive md-table-scroll",
                ),
            ]
        ),
        class_name="mb-4",
    )


def summary_row(data: DashboardData) -> dbc.Row:
    aggregated = aggregated_card(
        spec=SPEC,
        data=data,
        bands=status_bands(),
        caption="Mean of the targets' scores (weighted by target weight)",
    )
    donut = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Targets by level", className="h6 text-body-secondary mb-0"),
                dcc.Graph(
                    id=SPEC.id("donut"),
                    figure=donut_figure(counts=final_counts(data), theme=None),
                    config={"displayModeBar": False},
                ),
            ]
        ),
        class_name="h-100",
    )
    counts = counts_card(
        spec=SPEC,
        data=data,
        title="Targets per level",
        note=f"{len(data.ids)} backup targets in this report.",
    )
    return dbc.Row(
        [dbc.Col(aggregated, lg=4), dbc.Col(donut, lg=4), dbc.Col(counts, lg=4)],
        class_name="g-3 mb-4",
    )


def layout(report: str | None = None, **_query: str) -> Component:
    return dashboard_page(
        spec=SPEC,
        report=report,
        title="Resilience dashboard",
        title_icon="bi-shield-check",
        summary_row=summary_row,
        base_figures=base_figures,
        extra_sections=[targets_table()],
    )


def drilldown(display_name: str, entry: dict, theme: str | None) -> Any:
    """The picked target's scores over the window."""
    return resilience_drilldown_figure(
        name=display_name,
        timestamps=point_times(entry, SPEC.points_key),
        scores=point_series(entry, SPEC.points_key, "score"),
        compliance=point_series(entry, SPEC.points_key, "rpo_compliance"),
        success_rate=point_series(entry, SPEC.points_key, "success_rate"),
        theme=theme,
    )


register_playback_callbacks(prefix=SPEC.prefix, figures=SPEC.figures, buckets=SPEC.statuses)
register_common_callbacks(SPEC, base_figures=base_figures, drilldown=drilldown)
