"""The pieces of the two dashboards: typed keyword-only factories, values in, components out.

Ids are built from the page's prefix (``availability-dashboard-gauge``); the page factory
(pages/_dashboard_page.py) decides what goes in and wires the callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from components.figures import aggregated_gauge_figure
from components.gauges import GaugeShape, gauge_card, percent_text
from components.grids import data_grid, status_column
from components.layout import empty_state, error_alert, icon
from components.reports import format_utc, format_window
from components.status import NO_DATA_COLOR, status_badge


def unavailable_layout(*, prefix: str, kind: str, message: str) -> html.Div:
    """The page when the report cannot be shown: why, and the way back to the list."""
    return html.Div(
        [
            error_alert(
                title="This report cannot be shown",
                message=message,
                component_id=f"{prefix}-error",
            ),
            dbc.Button(
                [icon(name="bi-list-ul"), f"All {kind} reports"],
                href=f"/{kind}",
                color="secondary",
                outline=True,
            ),
        ]
    )


def no_report_layout(*, prefix: str, kind: str) -> html.Div:
    return empty_state(
        title=f"No {kind} report yet",
        message=f"Configure and run a {kind} analysis: its dashboard opens here.",
        actions=[
            dbc.Button(
                [icon(name="bi-sliders"), "Configure an analysis"],
                href=f"/{kind}/config",
                color="primary",
            ),
            dbc.Button(
                [icon(name="bi-upload"), "Upload a report"],
                href=f"/{kind}",
                color="secondary",
                outline=True,
            ),
        ],
        component_id=f"{prefix}-empty",
    )


def report_subtitle(*, name: str, report: Mapping[str, Any]) -> str:
    """The report's name, window and when it was analysed."""
    window = report.get("window") or {}
    if window.get("start"):
        shown_window = format_window(start=window.get("start"), end=window.get("end"))
    else:  # the older tool's files name their days instead
        shown_window = ", ".join(str(day) for day in report.get("analysis_dates") or []) or "—"
    analysed = format_utc(report.get("analysis_timestamp"))
    return f"{name} · window {shown_window} · analysed {analysed}"


def data_quality_alert(
    *, prefix: str, counts: Sequence[str], warnings: Sequence[str], warnings_omitted: int
) -> dbc.Alert:
    """What the data sources dropped or could not classify for this report: the counts, then
    the sources' own messages (as text)."""
    messages = list(warnings)
    if warnings_omitted:
        messages.append(f"… and {warnings_omitted} more warnings")
    return dbc.Alert(
        [
            html.Div(
                [
                    icon(name="bi-exclamation-triangle-fill"),
                    html.Strong("Some data was not counted as expected"),
                ]
            ),
            html.Ul([html.Li(line) for line in counts], className="mb-1") if counts else None,
            html.Ul(
                [html.Li(message, className="small") for message in messages],
                className="mb-0 data-quality-messages",
            )
            if messages
            else None,
        ],
        id=f"{prefix}-data-quality",
        color="warning",
        class_name="app-alert",
    )


def aggregated_card(
    *,
    prefix: str,
    value_percent: float | None,
    bands: Sequence[tuple[float, float, str]],
    colors: Mapping[str, str],
    caption: str,
) -> dbc.Card:
    """The large gauge of the aggregated score and the number under it."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Aggregated score", className="h6 text-body-secondary mb-0"),
                dcc.Graph(
                    id=f"{prefix}-gauge",
                    figure=aggregated_gauge_figure(
                        value_percent=value_percent, bands=bands, colors=colors, theme=None
                    ),
                    config={"displayModeBar": False},
                    className="md-aggregated-gauge",
                ),
                html.Div(
                    percent_text(value_percent),
                    id=f"{prefix}-aggregated-value",
                    className="md-aggregated-value",
                ),
                html.Div(caption, className="small text-body-secondary text-center"),
            ]
        ),
        class_name="h-100",
    )


def counts_card(
    *, prefix: str, kind: str, statuses: Sequence[str], counts: Sequence[int], title: str, note: str
) -> dbc.Card:
    """One tile per status with its badge and how many items are at it (``<prefix>-count-<S>``)."""
    tiles = [
        html.Div(
            [
                status_badge(kind=kind, status=status),
                html.Span(str(count), id=f"{prefix}-count-{status}", className="md-count-value"),
            ],
            className="md-count-tile",
        )
        for status, count in zip(statuses, counts, strict=True)
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(title, className="h6 text-body-secondary"),
                html.Div(tiles, className="md-count-tiles"),
                html.P(note, className="small text-body-secondary mt-3 mb-0"),
            ]
        ),
        class_name="h-100",
    )


def filter_bar(
    *, prefix: str, item_noun: str, types: Sequence[str], statuses: Sequence[str]
) -> html.Div:
    """Filters by item type and by final status, and how many items they keep."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(
                        f"{item_noun.capitalize()} type",
                        htmlFor=f"{prefix}-filter-type",
                        className="form-label small mb-1",
                    ),
                    dcc.Dropdown(
                        id=f"{prefix}-filter-type",
                        options=[{"label": value, "value": value} for value in sorted(set(types))],
                        multi=True,
                        placeholder="All types",
                    ),
                ],
                className="md-filter-type",
            ),
            html.Div(
                [
                    html.Div("Final status", className="form-label small mb-1"),
                    dbc.Checklist(
                        id=f"{prefix}-filter-status",
                        options=[{"label": status, "value": status} for status in statuses],
                        value=[],
                        inline=True,
                    ),
                ]
            ),
            html.Span(
                f"Showing {len(types)} of {len(types)}",
                id=f"{prefix}-filter-summary",
                className="small text-body-secondary ms-auto",
                **{"aria-live": "polite"},
            ),
        ],
        className="md-filters d-flex flex-wrap align-items-end gap-3",
    )


DOWNLOADS = (("json", "JSON report"), ("summary", "Summary CSV"), ("timeline", "Timeline CSV"))


def download_buttons(*, prefix: str) -> html.Div:
    """Downloads of the report as stored (JSON) and of its two CSV exports."""
    return html.Div(
        [
            dbc.ButtonGroup(
                [
                    dbc.Button(
                        [icon(name="bi-download"), label],
                        id=f"{prefix}-download-{part}-button",
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    )
                    for part, label in DOWNLOADS
                ]
            ),
            *(dcc.Download(id=f"{prefix}-download-{part}") for part, _ in DOWNLOADS),
        ]
    )


def live_controls(*, prefix: str, interval_ms: int, uploaded: bool = False) -> html.Div:
    """The live-mode switch: re-run this analysis every ``interval_ms`` and show the result.
    Off for an uploaded report: live mode follows only the analyses this program runs."""
    label = (
        "Live: off for an uploaded report"
        if uploaded
        else f"Live (re-run every {interval_ms / 1000:g} s)"
    )
    return html.Div(
        [
            dbc.Switch(
                id=f"{prefix}-live-switch",
                label=label,
                value=False,
                disabled=uploaded,
                persistence=not uploaded,
                persistence_type="session",
                class_name="mb-0",
            ),
            html.Span(id=f"{prefix}-live-status", className="small text-body-secondary"),
            dcc.Interval(id=f"{prefix}-live-interval", interval=interval_ms, disabled=True),
            dcc.Location(id=f"{prefix}-location", refresh="callback-nav"),
        ],
        className="d-flex align-items-center gap-2",
    )


def drilldown_section(
    *,
    prefix: str,
    item_noun: str,
    ids: Sequence[str],
    names: Sequence[str],
    selected: str | None,
) -> dbc.Card:
    """A picker of one item (also set by clicking its card) and its chart over time."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.H2(f"{item_noun.capitalize()} over time", className="h6 mb-0"),
                        dcc.Dropdown(
                            id=f"{prefix}-drilldown-select",
                            options=[
                                {"label": name, "value": item_id}
                                for item_id, name in zip(ids, names, strict=True)
                            ],
                            value=selected,
                            clearable=False,
                            className="md-drilldown-select",
                        ),
                    ],
                    className="d-flex flex-wrap align-items-center gap-3 mb-2",
                ),
                dcc.Loading(dcc.Graph(id=f"{prefix}-drilldown", config={"displaylogo": False})),
            ]
        ),
        id=f"{prefix}-drilldown-section",
        class_name="mb-4",
    )


def heatmap_section(*, prefix: str, item_noun: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Status of every {item_noun} over time", className="h6"),
                dcc.Loading(dcc.Graph(id=f"{prefix}-heatmap", config={"displaylogo": False})),
            ]
        ),
        class_name="mb-4",
    )


def card_template(*, shape: GaugeShape, live_label: str | None) -> html.Button:
    """The card the browser copies for every item and fills in per frame."""
    return gauge_card(
        shape=shape,
        title="",
        subtitle="",
        value_percent=None,
        status="NO_DATA",
        status_display="",
        color=NO_DATA_COLOR,
        facts="",
        live_fact=(live_label, "0") if live_label else None,
    )


def cards_section(
    *,
    prefix: str,
    item_noun: str,
    types: Sequence[str],
    statuses: Sequence[str],
    shape: GaugeShape,
    live_label: str | None,
) -> dbc.Card:
    """The filters and the grid of item cards, which the browser builds from one hidden
    template card (assets/playback.js; components/gauges.py says why)."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"{item_noun.capitalize()}s", className="h6"),
                filter_bar(prefix=prefix, item_noun=item_noun, types=types, statuses=statuses),
                html.Div(
                    card_template(shape=shape, live_label=live_label),
                    id=f"{prefix}-card-template",
                    hidden=True,
                ),
                html.Div(id=f"{prefix}-cards", className="md-card-grid mt-3"),
            ]
        ),
        class_name="mb-4",
    )


def final_figures_grid(
    *,
    prefix: str,
    kind: str,
    title: str,
    columns: Sequence[tuple[str, str]],
    status_field: str,
    statuses: Sequence[str],
    rows: int,
) -> dbc.Card:
    """The items' final figures as a grid (``<prefix>-table``), one row per item; ``columns``
    are (field, header). The browser fills and filters its rows from the playback payload with
    the cards, so the rows travel once; AG Grid draws only the rows in view."""
    column_defs = [
        status_column(field=field, header=header, kind=kind, statuses=statuses)
        if field == status_field
        else {"field": field, "headerName": header}
        for field, header in columns
    ]
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(title, className="h6"),
                data_grid(
                    grid_id=f"{prefix}-table",
                    column_defs=column_defs,
                    row_data=[],
                    rows=rows,
                    max_rows=12,
                    columnSize="autoSize",
                ),
            ]
        ),
        class_name="mb-4",
    )


def dashboard_stores(*, prefix: str, name: str, payload: dict, base_figures: dict) -> html.Div:
    """The report name (for server callbacks), the playback payload (sent once) and the
    theme's base figures."""
    return html.Div(
        [
            dcc.Store(id=f"{prefix}-report-name", data=name),
            dcc.Store(id=f"{prefix}-playback", data=payload),
            dcc.Store(id=f"{prefix}-figures", data=base_figures),
        ]
    )


def page_actions(
    *, prefix: str, kind: str, interval_ms: int, uploaded: bool = False
) -> list[Component]:
    """The header's live mode, downloads and the way back to the list."""
    return [
        live_controls(prefix=prefix, interval_ms=interval_ms, uploaded=uploaded),
        download_buttons(prefix=prefix),
        dbc.Button(
            [icon(name="bi-list-ul"), "All reports"],
            href=f"/{kind}",
            color="secondary",
            outline=True,
            size="sm",
        ),
    ]
