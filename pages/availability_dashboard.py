"""/availability/dashboard?report=<name>: one availability report, replayable over time.

The aggregated health score (large gauge and number), the services per status, a semicircular
gauge card per service (failures, error budget, weight), filters, a service x time status
heatmap, a per-service drill-down and downloads. The timeline replays every gauge, count and the
aggregated score in the browser (components/timeline.py, assets/playback.js). Without a report
name the latest availability report is shown.
"""

from __future__ import annotations

import functools
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash.development.base_component import Component

from components.dashboard_common import (
    DashboardData,
    DashboardSpec,
    aggregated_card,
    counts_card,
    dashboard_page,
    point_series,
    point_times,
    register_common_callbacks,
)
from components.figures import aggregated_gauge_figure, availability_drilldown_figure
from components.timeline import register_playback_callbacks
from metrics_dashboard.runner import analysis_defaults
from metrics_dashboard.web.context import get_settings


def card_facts(entry: dict) -> str:
    return f"Budget {entry['error_budget']} · Weight {entry['weight']}"


SPEC = DashboardSpec(
    kind="availability",
    items_key="services",
    points_key="detailed_metrics",
    point_status_key="status_type",
    statuses=("GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA"),
    figures=("gauge",),
    item_noun="service",
    card_shape="semi",
    card_facts=card_facts,
    count_key="cumulative_failures",
    count_label="Failures",
)

dash.register_page(
    __name__,
    path="/availability/dashboard",
    name="Availability dashboard",
    title="Availability dashboard",
)


def status_bands() -> list[tuple[float, float, str]]:
    """The status ranges of the aggregated gauge, in percent, from the configured thresholds."""
    thresholds = analysis_defaults(get_settings()).availability.status_thresholds
    critical, good = thresholds.critical_below * 100, thresholds.good_above * 100
    return [(0, critical, "CRITICAL"), (critical, good, "ATTENZIONE"), (good, 100, "GOOD")]


@functools.cache  # one per theme: the thresholds are fixed for the process
def base_figures(theme: str | None) -> dict:
    """The figures the playback redraws, for the theme (their values are set per frame)."""
    gauge = aggregated_gauge_figure(value_percent=None, bands=status_bands(), theme=theme)
    return {"gauge": gauge.to_plotly_json()}


def summary_row(data: DashboardData) -> dbc.Row:
    aggregated = aggregated_card(
        spec=SPEC,
        data=data,
        bands=status_bands(),
        caption="Health score weighted by service weight, over services with data",
    )
    counts = counts_card(
        spec=SPEC,
        data=data,
        title="Services by status",
        note=f"{len(data.ids)} services in this report. Services with no data (yet) at the "
        "instant shown count as NO_DATA.",
    )
    return dbc.Row([dbc.Col(aggregated, lg=4), dbc.Col(counts, lg=8)], class_name="g-3 mb-4")


def layout(report: str | None = None, **_query: str) -> Component:
    return dashboard_page(
        spec=SPEC,
        report=report,
        title="Availability dashboard",
        title_icon="bi-activity",
        summary_row=summary_row,
        base_figures=base_figures,
    )


def drilldown(display_name: str, entry: dict, theme: str | None) -> Any:
    """The picked service's scores over the window."""
    return availability_drilldown_figure(
        name=display_name,
        timestamps=point_times(entry, SPEC.points_key),
        scores=point_series(entry, SPEC.points_key, "score"),
        cumulative_failures=point_series(entry, SPEC.points_key, "cumulative_failures"),
        theme=theme,
    )


register_playback_callbacks(prefix=SPEC.prefix, figures=SPEC.figures, buckets=SPEC.statuses)
register_common_callbacks(SPEC, base_figures=base_figures, drilldown=drilldown)
