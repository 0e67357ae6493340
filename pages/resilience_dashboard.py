"""/resilience/dashboard?report=<name>: one backup-resilience report, replayable hour by hour.

A donut of the five resilience levels, the aggregated score, a circular indicator per backup
target, a grid of the final RPO figures, filters, a target x time status heatmap, a per-target
drill-down (score, RPO compliance, success rate) and downloads. The timeline replays the
indicators, counts, donut and aggregated score in the browser. Without a report name the latest
resilience report is shown.
"""

from __future__ import annotations

import math
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from analytics.dashboard_model import RESILIENCE, final_counts
from components.figures import resilience_drilldown_figure, status_donut_figure
from components.gauges import NO_VALUE_TEXT, percent_text
from components.reports import format_utc
from pages._dashboard_page import (
    CardSpec,
    DashboardSpec,
    DashboardView,
    TableSpec,
    aggregated_card,
    counts_card,
    dashboard_page,
    gauge_figure,
    status_texts,
)


def fraction_text(value: Any) -> str:
    """A fraction (0 to 1) of the report as a percentage."""
    return NO_VALUE_TEXT if value is None else percent_text(float(value) * 100)


def hours_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "never"
    return f"{float(value):.1f} h"


TABLE_COLUMNS = (
    ("name", "Target"),
    ("type", "Type"),
    ("status", "Status"),
    ("score", "Score"),
    ("actual_rpo", "Actual RPO"),
    ("target_rpo", "Target RPO"),
    ("compliance", "RPO compliance"),
    ("success_rate", "Success rate"),
    ("last_success", "Last successful backup"),
    ("backups", "Backups ok / run"),
)


def card_facts(entry: dict) -> str:
    return f"RPO target {hours_text(entry['target_rpo_hours'])} · Weight {entry.get('weight', 1)}"


def table_row(entry: dict, name: str, target_type: str, status: str) -> dict[str, str]:
    """A target's final figures, as the grid writes them (fields of TABLE_COLUMNS)."""
    return {
        "name": name,
        "type": target_type,
        "status": status,
        "score": percent_text(entry.get("final_score")),
        "actual_rpo": hours_text(entry.get("actual_rpo_hours")),
        "target_rpo": hours_text(entry.get("target_rpo_hours")),
        "compliance": fraction_text(entry.get("final_rpo_compliance")),
        "success_rate": fraction_text(entry.get("final_success_rate")),
        "last_success": format_utc(entry.get("last_successful_backup")),
        "backups": f"{entry.get('successful_backups', 0)} / {entry.get('total_backups', 0)}",
    }


def donut_figure(*, counts: list[int], theme: str | None) -> Any:
    texts = status_texts(SPEC.statuses)
    return status_donut_figure(
        statuses=SPEC.statuses,
        counts=counts,
        texts=[texts[status] for status in SPEC.statuses],
        colors=SPEC.colors,
        theme=theme,
    )


def base_figures(view: DashboardView, theme: str) -> dict[str, Any]:
    """The figures the playback redraws (their values are set per frame)."""
    return {
        "gauge": gauge_figure(SPEC, view, theme),
        "donut": donut_figure(counts=[0] * len(SPEC.statuses), theme=theme),
    }


def summary_row(spec: DashboardSpec, view: DashboardView) -> dbc.Row:
    aggregated = aggregated_card(
        spec, view, caption="Mean of the targets' scores (weighted by target weight)"
    )
    donut = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Targets by level", className="h6 text-body-secondary mb-0"),
                dcc.Graph(
                    id=spec.id("donut"),
                    figure=donut_figure(counts=final_counts(view.model), theme=None),
                    config={"displayModeBar": False},
                ),
            ]
        ),
        class_name="h-100",
    )
    counts = counts_card(
        spec,
        view,
        title="Targets per level",
        note=f"{view.model.arrays.item_count} backup targets in this report.",
    )
    return dbc.Row(
        [dbc.Col(aggregated, lg=4), dbc.Col(donut, lg=4), dbc.Col(counts, lg=4)],
        class_name="g-3 mb-4",
    )


SPEC = DashboardSpec(
    shape=RESILIENCE,
    title_icon="bi-shield-check",
    cards=CardSpec(shape="circle", facts=card_facts),
    figures=("gauge", "donut"),
    base_figures=base_figures,
    summary_row=summary_row,
    drilldown=resilience_drilldown_figure,
    drilldown_series=(
        ("scores", "score"),
        ("compliance", "rpo_compliance"),
        ("success_rate", "success_rate"),
    ),
    table=TableSpec(
        title="Targets at the end of the window",
        columns=TABLE_COLUMNS,
        row=table_row,
        status_field="status",
    ),
)

layout = dashboard_page(__name__, SPEC)
