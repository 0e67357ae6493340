"""What the availability and resilience dashboards share: reading a report into playback frames,
the aggregated-score and count tiles, filters, downloads, the drill-down picker, the live mode,
and the registration of the callbacks that work the same on both pages.

A :class:`DashboardSpec` says what differs between the two (report keys, statuses, ids); the page
modules own their layout and their own callbacks and call the ``register_*`` helpers here once,
at import, so that no callback is written twice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from analytics.config import ConfigError, parse_config
from analytics.report import ReportError, summary_csv, timeline_csv
from components.figures import aggregated_gauge_figure, status_heatmap_figure
from components.gauges import GaugeShape, gauge_card, percent_text
from components.layout import empty_state, error_alert, icon, page_header
from components.reports import dashboard_href, format_utc, format_window
from components.status import STATUS_COLORS, status_badge, status_label
from components.timeline import (
    CLIENTSIDE_NAMESPACE,
    NO_DATA,
    PENDING,
    PENDING_TEXT,
    ItemTimeline,
    PlaybackFrames,
    build_frames,
    playback_payload,
    timeline_controls,
)
from data_access.base import DataSourceError
from data_access.report_store import ReportStore, ReportStoreError
from metrics_dashboard import runner
from metrics_dashboard.web.context import get_settings

Kind = Literal["availability", "resilience"]
THEME_INPUT = Input("app-theme", "data")


@dataclass(frozen=True)
class DashboardSpec:
    """How one kind of report is read and which ids its dashboard uses."""

    kind: Kind
    items_key: str  # "services" | "targets"
    points_key: str  # "detailed_metrics" | "timeline"
    point_status_key: str  # "status_type" | "status"
    statuses: tuple[str, ...]  # the counted statuses, in display order
    figures: tuple[str, ...]  # the small Plotly figures the playback redraws
    item_noun: str  # "service" | "target"
    card_shape: GaugeShape
    card_facts: Callable[[dict], str]  # the fixed line of an item's card
    count_key: str | None = None  # per-point count replayed on the cards ...
    count_label: str | None = None  # ... under this label
    # A table row of an item's final figures (entry, name, type, final status -> cells), the
    # status in column ``table_status_column``; the browser fills ``<prefix>-table-body``.
    table_row: Callable[[dict, str, str, str], list[str]] | None = None
    table_status_column: int = 2

    @property
    def prefix(self) -> str:
        return f"{self.kind}-dashboard"

    @property
    def status_order(self) -> tuple[str, ...]:
        """Status codes of the playback: no data yet first, then the report's statuses."""
        return (PENDING, *self.statuses)

    def id(self, part: str) -> str:
        return f"{self.prefix}-{part}"


@dataclass(frozen=True)
class DashboardData:
    """One report as the dashboard shows it: its items (``entries``, in report order, with
    their display ``names``, ``types`` and ``final_statuses``) and their timeline playback."""

    name: str
    report: dict
    ids: list[str]
    entries: list[dict]
    names: list[str]
    types: list[str]
    final_statuses: list[str]
    frames: PlaybackFrames
    payload: dict
    # Figures already built from this report, by what they were built for (see ``figure``).
    figures: dict[tuple, dict] = field(default_factory=dict, compare=False, repr=False)

    def figure(self, key: tuple, build: Callable[[], Any]) -> dict:
        """The figure for ``key``, built once: a report never changes under its name (a changed
        file is a new DashboardData), and its filters and themes take few values, so every
        visitor of a dashboard asks for the same few figures."""
        if key not in self.figures:
            self.figures[key] = build().to_plotly_json()
        return self.figures[key]


# Builds an item's drill-down figure from its display name, report entry and the theme.
DrilldownBuilder = Callable[[str, dict, str | None], Any]


class DashboardUnavailable(Exception):
    """The report cannot be shown; the message says why, in the user's words."""


def status_texts(statuses: Sequence[str]) -> dict[str, str]:
    """What the user reads for each playback status."""
    return {PENDING: PENDING_TEXT, **{status: status_label(status) for status in statuses}}


def report_store() -> ReportStore:
    return ReportStore(get_settings().output_dir)


def load_dashboard(spec: DashboardSpec, name: str | None) -> DashboardData | None:
    """The named report (the latest of its kind without a name; None when there is none).

    Raises :class:`DashboardUnavailable` when it cannot be read or is of the other kind.
    """
    store = report_store()
    try:
        if not name:
            latest = store.latest(spec.kind)
            if latest is None:
                return None
            name = latest.name
        try:
            stat = store.path_of(name).stat()
        except FileNotFoundError:
            raise DashboardUnavailable(f"there is no report {name}") from None
        return _cached_dashboard(spec, store.output_dir, name, stat.st_mtime_ns, stat.st_size)
    except (ReportStoreError, ReportError, OSError, ValueError) as error:
        raise DashboardUnavailable(str(error)) from error


@functools.lru_cache(maxsize=8)
def _cached_dashboard(
    spec: DashboardSpec, output_dir: Path, name: str, _mtime_ns: int, _size: int
) -> DashboardData:
    # The page's callbacks (heatmap, drill-down, downloads) reuse the parsed report and its
    # frames; the file's modification time and size in the key notice a replaced file.
    report = ReportStore(output_dir).load(name)
    kind = report.get("analysis_type", "availability")
    if kind != spec.kind:
        raise DashboardUnavailable(f"{name} is a {kind} report, not a {spec.kind} report")
    return dashboard_data(spec, name=name, report=report)


def dashboard_data(spec: DashboardSpec, *, name: str, report: dict) -> DashboardData:
    """Read a (validated) report into what the dashboard shows."""
    items: dict[str, dict] = report.get(spec.items_key) or {}
    ids = [str(item_id) for item_id in items]
    entries = list(items.values())
    names = [str(entry.get("display_name") or key) for key, entry in zip(ids, entries, strict=True)]
    types = [
        str(entry.get("service_type") or entry.get("target_type") or "unknown") for entry in entries
    ]
    final_statuses = [status_label(entry.get("final_status")) for entry in entries]
    final_percents = [_number(entry.get("final_score")) for entry in entries]
    aggregated_percent = _number((report.get("summary") or {}).get("aggregated_score"))
    aggregated_points = report.get("aggregated_timeline") or []
    frames = build_frames(
        aggregated_times=_utc_ns([point["timestamp"] for point in aggregated_points]),
        aggregated_scores=np.array([_number(point["score"]) for point in aggregated_points]),
        items=[item_timeline(spec, entry) for entry in entries],
        final_scores=np.array(final_percents) / 100,
        final_statuses=final_statuses,
        final_counts=(
            np.array([int(entry.get("total_failures") or 0) for entry in entries])
            if spec.count_key
            else None
        ),
        final_aggregated=aggregated_percent / 100,
        status_order=spec.status_order,
        weights=np.array([_number(entry.get("weight", 1)) for entry in entries]),
    )
    payload = playback_payload(
        prefix=spec.prefix,
        frames=frames,
        status_texts=status_texts(spec.statuses),
        buckets=spec.statuses,
        figures=spec.figures,
        ids=ids,
        names=names,
        types=types,
        facts=[spec.card_facts(entry) for entry in entries],
        final_statuses=final_statuses,
        final_percents=final_percents,
        final_aggregated_percent=aggregated_percent,
    )
    if spec.table_row is not None:
        payload["rows"] = [
            spec.table_row(*item)
            for item in zip(entries, names, types, final_statuses, strict=True)
        ]
        payload["statusColumn"] = spec.table_status_column
    return DashboardData(name, report, ids, entries, names, types, final_statuses, frames, payload)


def item_timeline(spec: DashboardSpec, entry: dict) -> ItemTimeline:
    """An item's points as arrays in time order."""
    points = entry.get(spec.points_key) or []
    timestamps = _utc_ns([point["timestamp"] for point in points])
    order = np.argsort(timestamps, kind="stable")  # reports are in order: a cheap safeguard
    counts = (
        np.array([int(point.get(spec.count_key) or 0) for point in points], dtype=np.int64)
        if spec.count_key
        else None
    )
    return ItemTimeline(
        timestamps=timestamps[order],
        scores=np.array([_number(point.get("score")) for point in points], dtype=float)[order],
        statuses=np.array([str(point.get(spec.point_status_key)) for point in points])[order],
        counts=None if counts is None else counts[order],
    )


def point_series(entry: dict, points_key: str, field: str) -> np.ndarray:
    """One numeric field of an item's points (None as NaN)."""
    return np.array([_number(point.get(field)) for point in entry.get(points_key) or []])


def point_times(entry: dict, points_key: str) -> np.ndarray:
    return _utc_ns([point["timestamp"] for point in entry.get(points_key) or []])


def _utc_ns(values: Sequence[str]) -> np.ndarray:
    if not values:
        return np.empty(0, dtype="datetime64[ns]")
    index = pd.to_datetime(list(values), utc=True, format="ISO8601").as_unit("ns")
    return index.tz_localize(None).to_numpy()


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def visible_items(
    data: DashboardData, types: Sequence[str] | None, statuses: Sequence[str] | None
) -> list[int]:
    """Indexes of the items the filters keep (no selection keeps everything), as the browser
    filters the cards (assets/playback.js ``filter``)."""
    return [
        index
        for index, (item_type, status) in enumerate(
            zip(data.types, data.final_statuses, strict=True)
        )
        if (not types or item_type in types) and (not statuses or status in statuses)
    ]


def config_from_report(report: dict) -> dict:
    """The configuration that re-runs a report's analysis over the same window and items."""
    window = report.get("window") or {}
    if not window.get("start"):
        raise ConfigError("this report has no analysis window (an older tool's file)")
    configuration = report.get("configuration") or {}
    if report.get("analysis_type") == "resilience":
        targets = report.get("targets") or {}
        return {
            "analysis_type": "resilience",
            "start": window["start"],
            "hours": int(window.get("hours") or 168),
            "targets": list(targets),
            "target_rpo_hours": {key: entry["target_rpo_hours"] for key, entry in targets.items()},
            **({"weights": configuration["weights"]} if configuration.get("weights") else {}),
            **(
                {"target_weights": configuration["target_weights"]}
                if configuration.get("target_weights")
                else {}
            ),
        }
    services = report.get("services") or {}
    return {
        "analysis_type": "availability",
        "start": window["start"],
        "end": window["end"],
        "services": list(services),
        "service_error_budgets": {key: entry["error_budget"] for key, entry in services.items()},
        "service_weights": {key: entry["weight"] for key, entry in services.items()},
    }


# --------------------------------------------------------------------------- layout pieces


def unavailable_layout(*, spec: DashboardSpec, message: str) -> html.Div:
    """The page when the report cannot be shown: why, and the way back to the list."""
    return html.Div(
        [
            error_alert(
                title="This report cannot be shown",
                message=message,
                component_id=spec.id("error"),
            ),
            dbc.Button(
                [icon(name="bi-list-ul"), f"All {spec.kind} reports"],
                href=f"/{spec.kind}",
                color="secondary",
                outline=True,
            ),
        ]
    )


def no_report_layout(*, spec: DashboardSpec) -> html.Div:
    return empty_state(
        title=f"No {spec.kind} report yet",
        message=f"Configure and run a {spec.kind} analysis: its dashboard opens here.",
        actions=[
            dbc.Button(
                [icon(name="bi-sliders"), "Configure an analysis"],
                href=f"/{spec.kind}/config",
                color="primary",
            ),
            dbc.Button(
                [icon(name="bi-upload"), "Upload a report"],
                href=f"/{spec.kind}",
                color="secondary",
                outline=True,
            ),
        ],
        component_id=spec.id("empty"),
    )


def final_counts(data: DashboardData) -> list[int]:
    """Items per counted status at the last frame: what the report's summary says."""
    tally = data.payload["tally"]
    return list(tally[-1]) if tally else [0] * len(data.payload["buckets"])


def aggregated_card(
    *,
    spec: DashboardSpec,
    data: DashboardData,
    bands: Sequence[tuple[float, float, str]],
    caption: str,
) -> dbc.Card:
    """The large gauge of the aggregated score and the number under it."""
    aggregated = (data.report.get("summary") or {}).get("aggregated_score")
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Aggregated score", className="h6 text-body-secondary mb-0"),
                dcc.Graph(
                    id=spec.id("gauge"),
                    figure=aggregated_gauge_figure(
                        value_percent=aggregated, bands=bands, theme=None
                    ),
                    config={"displayModeBar": False},
                    className="md-aggregated-gauge",
                ),
                html.Div(
                    percent_text(aggregated),
                    id=spec.id("aggregated-value"),
                    className="md-aggregated-value",
                ),
                html.Div(caption, className="small text-body-secondary text-center"),
            ]
        ),
        class_name="h-100",
    )


def counts_card(*, spec: DashboardSpec, data: DashboardData, title: str, note: str) -> dbc.Card:
    """One tile per status with its badge and how many items are at it (``<prefix>-count-<S>``)."""
    tiles = [
        html.Div(
            [
                status_badge(status=status),
                html.Span(str(count), id=spec.id(f"count-{status}"), className="md-count-value"),
            ],
            className="md-count-tile",
        )
        for status, count in zip(spec.statuses, final_counts(data), strict=True)
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


def filter_bar(*, spec: DashboardSpec, types: Sequence[str], statuses: Sequence[str]) -> html.Div:
    """Filters by item type and by final status, and how many items they keep."""
    return html.Div(
        [
            html.Div(
                [
                    html.Label(
                        f"{spec.item_noun.capitalize()} type",
                        htmlFor=spec.id("filter-type"),
                        className="form-label small mb-1",
                    ),
                    dcc.Dropdown(
                        id=spec.id("filter-type"),
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
                        id=spec.id("filter-status"),
                        options=[{"label": status, "value": status} for status in statuses],
                        value=[],
                        inline=True,
                    ),
                ]
            ),
            html.Span(
                f"Showing {len(types)} of {len(types)}",
                id=spec.id("filter-summary"),
                className="small text-body-secondary ms-auto",
                **{"aria-live": "polite"},
            ),
        ],
        className="md-filters d-flex flex-wrap align-items-end gap-3",
    )


def download_buttons(*, spec: DashboardSpec) -> html.Div:
    """Downloads of the report as stored (JSON) and of its two CSV exports."""
    parts = (("json", "JSON report"), ("summary", "Summary CSV"), ("timeline", "Timeline CSV"))
    return html.Div(
        [
            dbc.ButtonGroup(
                [
                    dbc.Button(
                        [icon(name="bi-download"), label],
                        id=spec.id(f"download-{part}-button"),
                        color="secondary",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    )
                    for part, label in parts
                ]
            ),
            *(dcc.Download(id=spec.id(f"download-{part}")) for part, _ in parts),
        ]
    )


def live_controls(*, spec: DashboardSpec, interval_ms: int) -> html.Div:
    """The live-mode switch: re-run this analysis every ``interval_ms`` and show the result."""
    return html.Div(
        [
            dbc.Switch(
                id=spec.id("live-switch"),
                label=f"Live (re-run every {interval_ms / 1000:g} s)",
                value=False,
                persistence=True,
                persistence_type="session",
                class_name="mb-0",
            ),
            html.Span(id=spec.id("live-status"), className="small text-body-secondary"),
            dcc.Interval(id=spec.id("live-interval"), interval=interval_ms, disabled=True),
            dcc.Location(id=spec.id("location"), refresh="callback-nav"),
        ],
        className="d-flex align-items-center gap-2",
    )


def drilldown_section(
    *, spec: DashboardSpec, data: DashboardData, selected: str | None
) -> dbc.Card:
    """A picker of one item (also set by clicking its card) and its chart over time."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.H2(f"{spec.item_noun.capitalize()} over time", className="h6 mb-0"),
                        dcc.Dropdown(
                            id=spec.id("drilldown-select"),
                            options=[
                                {"label": name, "value": item_id}
                                for item_id, name in zip(data.ids, data.names, strict=True)
                            ],
                            value=selected,
                            clearable=False,
                            className="md-drilldown-select",
                        ),
                    ],
                    className="d-flex flex-wrap align-items-center gap-3 mb-2",
                ),
                dcc.Loading(dcc.Graph(id=spec.id("drilldown"), config={"displaylogo": False})),
            ]
        ),
        id=spec.id("drilldown-section"),
        class_name="mb-4",
    )


def heatmap_section(*, spec: DashboardSpec) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2(f"Status of every {spec.item_noun} over time", className="h6"),
                dcc.Loading(dcc.Graph(id=spec.id("heatmap"), config={"displaylogo": False})),
            ]
        ),
        class_name="mb-4",
    )


def card_template(spec: DashboardSpec) -> html.Button:
    """The card the browser copies for every item and fills in per frame."""
    return gauge_card(
        shape=spec.card_shape,
        title="",
        subtitle="",
        value_percent=None,
        status=NO_DATA,
        status_display="",
        color=STATUS_COLORS[NO_DATA],
        facts="",
        live_fact=(spec.count_label, "0") if spec.count_label else None,
    )


def dashboard_stores(*, spec: DashboardSpec, data: DashboardData, base_figures: dict) -> html.Div:
    """The report name (for server callbacks), the playback payload (sent once) and the
    theme's base figures."""
    return html.Div(
        [
            dcc.Store(id=spec.id("report-name"), data=data.name),
            dcc.Store(id=spec.id("playback"), data=data.payload),
            dcc.Store(id=spec.id("figures"), data=base_figures),
        ]
    )


def worst_item(data: DashboardData) -> str | None:
    """The item with the lowest final score (the first one with data when they tie)."""
    scores = data.frames.scores[-1] if len(data.frames.instants) else np.array([])
    if not len(scores) or np.isnan(scores).all():
        return data.ids[0] if data.ids else None
    return data.ids[int(np.nanargmin(scores))]


# --------------------------------------------------------------------------- callbacks


EXPORTS: dict[str, tuple[str, Callable[[dict], bytes]]] = {
    "summary": ("_summary.csv", summary_csv),
    "timeline": ("_timeline.csv", timeline_csv),
}


def register_common_callbacks(
    spec: DashboardSpec,
    *,
    base_figures: Callable[[str | None], dict],
    drilldown: DrilldownBuilder,
) -> None:
    """The callbacks both dashboards have: theme figures, filters, heatmap, drill-down,
    downloads and live mode. (A click on a card picks its drill-down in the browser: assets/playback.js.) Their
    bodies are the functions below, callable without a browser."""
    callback(Output(spec.id("figures"), "data"), THEME_INPUT)(base_figures)
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="filter"),
        Output(spec.id("filter-summary"), "children"),
        Input(spec.id("filter-type"), "value"),
        Input(spec.id("filter-status"), "value"),
        State(spec.id("playback"), "data"),
    )
    callback(
        Output(spec.id("heatmap"), "figure"),
        Input(spec.id("filter-type"), "value"),
        Input(spec.id("filter-status"), "value"),
        THEME_INPUT,
        State(spec.id("report-name"), "data"),
    )(functools.partial(heatmap_figure, spec))
    callback(
        Output(spec.id("drilldown"), "figure"),
        Input(spec.id("drilldown-select"), "value"),
        THEME_INPUT,
        State(spec.id("report-name"), "data"),
    )(functools.partial(drilldown_figure, spec, drilldown))
    callback(
        Output(spec.id("download-json"), "data"),
        Input(spec.id("download-json-button"), "n_clicks"),
        State(spec.id("report-name"), "data"),
        prevent_initial_call=True,
    )(download_json)
    for part in EXPORTS:
        callback(
            Output(spec.id(f"download-{part}"), "data"),
            Input(spec.id(f"download-{part}-button"), "n_clicks"),
            State(spec.id("report-name"), "data"),
            prevent_initial_call=True,
        )(functools.partial(download_csv, spec, part))
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="pausedUnless"),
        Output(spec.id("live-interval"), "disabled"),
        Input(spec.id("live-switch"), "value"),
    )
    callback(
        Output(spec.id("location"), "href"),
        Output(spec.id("live-status"), "children"),
        Input(spec.id("live-interval"), "n_intervals"),
        State(spec.id("report-name"), "data"),
        prevent_initial_call=True,
    )(functools.partial(rerun_report, spec))


def heatmap_figure(
    spec: DashboardSpec,
    types: list[str] | None,
    statuses: list[str] | None,
    theme: str | None,
    name: str | None,
) -> Any:
    """The item x time status heatmap of the items the filters keep."""
    data = callback_data(spec, name)
    shown = visible_items(data, types, statuses)
    texts = status_texts(spec.statuses)
    return data.figure(
        ("heatmap", tuple(shown), theme),
        lambda: status_heatmap_figure(
            names=[data.names[index] for index in shown],
            instants=data.frames.instants,
            codes=data.frames.codes[:, shown].T,
            status_texts=[texts[status] for status in spec.status_order],
            colors=data.payload["colors"],
            theme=theme,
        ),
    )


def download_json(_clicks: int, name: str | None) -> dict:
    """The report file exactly as stored."""
    if not name:
        raise PreventUpdate
    try:
        content = report_store().read(name)
    except (ReportStoreError, OSError) as error:
        raise PreventUpdate from error
    return dcc.send_bytes(content, filename=name)


def download_csv(spec: DashboardSpec, part: str, _clicks: int, name: str | None) -> dict:
    """The summary or timeline CSV export of the report."""
    suffix, export = EXPORTS[part]
    data = callback_data(spec, name)
    return dcc.send_bytes(export(data.report), filename=Path(data.name).stem + suffix)


def rerun_report(spec: DashboardSpec, _ticks: int, name: str | None) -> tuple[Any, str]:
    """Run the report's analysis again (same window and items) and go to the new report."""
    data = callback_data(spec, name)
    settings = get_settings()
    try:
        outcome = runner.run_analysis(
            parse_config(config_from_report(data.report)), settings=settings
        )
    except (ConfigError, DataSourceError, ReportStoreError) as error:
        return no_update, f"Live update failed: {error}"
    return dashboard_href(kind=spec.kind, report_name=outcome.report_name), ""


def drilldown_figure(
    spec: DashboardSpec,
    build: DrilldownBuilder,
    item_id: str | None,
    theme: str | None,
    name: str | None,
) -> dict:
    """The drill-down of the picked item: ``build(display name, report entry, theme)``, built
    once per report, item and theme."""
    data = callback_data(spec, name)
    if item_id not in data.ids:
        raise PreventUpdate
    index = data.ids.index(item_id)
    return data.figure(
        ("drilldown", item_id, theme),
        lambda: build(data.names[index], data.entries[index], theme),
    )


def callback_data(spec: DashboardSpec, name: str | None) -> DashboardData:
    if not name:
        raise PreventUpdate
    try:
        data = load_dashboard(spec, name)
    except DashboardUnavailable as error:
        raise PreventUpdate from error
    if data is None:
        raise PreventUpdate
    return data


def report_subtitle(*, name: str, report: dict) -> str:
    """The report's name, window and when it was analysed."""
    window = report.get("window") or {}
    if window.get("start"):
        shown_window = format_window(start=window.get("start"), end=window.get("end"))
    else:  # the older tool's files name their days instead
        shown_window = ", ".join(str(day) for day in report.get("analysis_dates") or []) or "—"
    analysed = format_utc(report.get("analysis_timestamp"))
    return f"{name} · window {shown_window} · analysed {analysed}"


def dashboard_page(
    *,
    spec: DashboardSpec,
    report: str | None,
    title: str,
    title_icon: str,
    summary_row: Callable[[DashboardData], Component],
    base_figures: Callable[[str | None], dict],
    extra_sections: Sequence[Component] = (),
) -> Component:
    """A dashboard page (``report`` None: the latest report of its kind): header with live mode
    and downloads, the page's ``summary_row``, the timeline, the filtered cards (built in the
    browser from a template card), the page's ``extra_sections``, heatmap, drill-down and
    stores. Without any report, the way to make one; for an unreadable one, why."""
    try:
        data = load_dashboard(spec, report)
    except DashboardUnavailable as error:
        return unavailable_layout(spec=spec, message=str(error))
    if data is None:
        return no_report_layout(spec=spec)
    return html.Div(
        [
            page_header(
                title=title,
                subtitle=report_subtitle(name=data.name, report=data.report),
                title_icon=title_icon,
                actions=[
                    live_controls(spec=spec, interval_ms=get_settings().dashboard_update_interval),
                    download_buttons(spec=spec),
                    dbc.Button(
                        [icon(name="bi-list-ul"), "All reports"],
                        href=f"/{spec.kind}",
                        color="secondary",
                        outline=True,
                        size="sm",
                    ),
                ],
            ),
            summary_row(data),
            dbc.Card(
                dbc.CardBody(timeline_controls(prefix=spec.prefix, labels=data.payload["labels"])),
                class_name="mb-4",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(f"{spec.item_noun.capitalize()}s", className="h6"),
                        filter_bar(spec=spec, types=data.types, statuses=spec.statuses),
                        # The browser fills the grid from the template (assets/playback.js).
                        html.Div(card_template(spec), id=spec.id("card-template"), hidden=True),
                        html.Div(id=spec.id("cards"), className="md-card-grid mt-3"),
                    ]
                ),
                class_name="mb-4",
            ),
            *extra_sections,
            heatmap_section(spec=spec),
            drilldown_section(spec=spec, data=data, selected=worst_item(data)),
            dashboard_stores(spec=spec, data=data, base_figures=base_figures(None)),
        ],
        className="md-dashboard",
    )
