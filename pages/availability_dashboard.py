"""/availability/dashboard?report=<name>: one availability report, replayable over time.

The aggregated health score (large gauge and number), the services per status, a semicircular
gauge card per service (failures, error budget, weight), filters, a service x time status
heatmap, a per-service drill-down and downloads. The timeline replays every gauge, count and the
aggregated score in the browser (analytics/dashboard_model.py, assets/playback.js). Without a
report name the latest availability report is shown.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc

from analytics.dashboard_model import AVAILABILITY
from components.figures import availability_drilldown_figure
from pages._dashboard_page import (
    CardSpec,
    DashboardSpec,
    DashboardView,
    aggregated_card,
    counts_card,
    dashboard_page,
    gauge_figure,
)


def card_facts(entry: dict) -> str:
    return f"Budget {entry['error_budget']} · Weight {entry['weight']}"


def base_figures(view: DashboardView, theme: str) -> dict[str, Any]:
    """The figures the playback redraws (their values are set per frame)."""
    return {"gauge": gauge_figure(SPEC, view, theme)}


def summary_row(spec: DashboardSpec, view: DashboardView) -> dbc.Row:
    aggregated = aggregated_card(
        spec, view, caption="Health score weighted by service weight, over services with data"
    )
    counts = counts_card(
        spec,
        view,
        title="Services by status",
        note=f"{view.model.arrays.item_count} services in this report. Services with no data "
        "(yet) at the instant shown count as NO_DATA.",
    )
    return dbc.Row([dbc.Col(aggregated, lg=4), dbc.Col(counts, lg=8)], class_name="g-3 mb-4")


SPEC = DashboardSpec(
    shape=AVAILABILITY,
    title_icon="bi-activity",
    cards=CardSpec(shape="semi", facts=card_facts, live_label="Failures"),
    figures=("gauge",),
    base_figures=base_figures,
    summary_row=summary_row,
    drilldown=availability_drilldown_figure,
    drilldown_series=(("scores", "score"), ("cumulative_failures", "cumulative_failures")),
)

layout = dashboard_page(__name__, SPEC)
