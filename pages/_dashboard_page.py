"""The dashboard page factory: a :class:`DashboardSpec` says what differs between the
availability and the resilience dashboards; this module opens their reports, lays the page out
and registers its callbacks once per page module.

What a report shows is computed by the pure model (analytics/dashboard_model.py); the pieces of
the page come from components/dashboard.py. Open reports and the figures built from them are
kept in two least-recently-used caches bounded in bytes, and every value a callback receives
from the browser (theme, filters, item) is checked against the report before it is used or
becomes part of a cache key.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cachetools
import dash
import dash_bootstrap_components as dbc
import numpy as np
import orjson
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
from analytics.dashboard_model import (
    PENDING,
    PENDING_TEXT,
    DashboardModel,
    DataQuality,
    ReportShape,
    UnknownValue,
    checked_choices,
    checked_theme,
    config_from_report,
    dashboard_model,
    data_quality,
    final_counts,
    gauge_bands,
    playback_data,
    point_series,
    point_times,
    recorded_thresholds,
    report_arrays,
    report_entries,
    visible_items,
    worst_item,
)
from analytics.report import ReportError, is_uploaded_name, summary_csv, timeline_csv
from components import dashboard as pieces
from components.figures import aggregated_gauge_figure, status_heatmap_figure
from components.gauges import GaugeShape
from components.layout import page_header
from components.reports import dashboard_href
from components.status import status_colors, status_label
from components.timeline import (
    CLIENTSIDE_NAMESPACE,
    playback_look,
    timeline_controls,
)
from data_access.report_store import ReportStore, ReportStoreError
from metrics_dashboard import runner
from metrics_dashboard.web import jobs
from metrics_dashboard.web.context import get_settings
from pages._page_spec import KindPage

THEME_INPUT = Input("app-theme", "data")

# Memory the open reports may hold, estimated as their file size times PARSED_BYTES_PER_BYTE
# plus their frames (measured with tracemalloc: a parsed report with its model and playback
# payload holds 2.8 to 4.2 times its file's bytes, for 0.1 to 6 MB synthetic reports), and the
# memory of the figures built from them.
REPORT_CACHE_BYTES = 512 * 1024 * 1024
FIGURE_CACHE_BYTES = 64 * 1024 * 1024
PARSED_BYTES_PER_BYTE = 4


@dataclass(frozen=True)
class TableSpec:
    """A grid of the items' final figures: ``columns`` (field, header), the row of an item
    (entry, name, type, final status -> {field: text}) and the field holding the status."""

    title: str
    columns: tuple[tuple[str, str], ...]
    row: Callable[[dict, str, str, str], dict[str, str]]
    status_field: str


@dataclass(frozen=True)
class CardSpec:
    """The item cards: the gauge's ``shape``, the fixed line of a card (``facts(entry)``) and
    the label of the count the cards replay (``live_label``; none without one)."""

    shape: GaugeShape
    facts: Callable[[dict], str]
    live_label: str | None = None


@dataclass(frozen=True)
class DashboardView:
    """One open report: the parsed report, its model, the playback payload, the status
    thresholds it was classified with (gauge bands) and its data-quality section."""

    name: str
    identity: tuple  # (kind, name, modification time, size): a changed file is a new view
    report: dict
    entries: list[dict]
    model: DashboardModel
    payload: dict
    bands: list[tuple[float, float, str]]
    quality: DataQuality | None
    cost: int = field(compare=False)  # estimated bytes in memory

    @property
    def aggregated_percent(self) -> float | None:
        return (self.report.get("summary") or {}).get("aggregated_score")


# Draws an item's drill-down: ``(name=, timestamps=, theme=, **series)`` -> a figure.
DrilldownFigure = Callable[..., Any]


@dataclass(frozen=True)
class DashboardSpec(KindPage):
    """What differs between the two dashboards.

    ``shape`` says where the report keeps what (analytics.dashboard_model); ``cards`` how the
    item cards look; ``figures`` are the small Plotly figures the playback redraws and
    ``base_figures(view, theme)`` builds them; ``summary_row(spec, view)`` is the row under the
    header; ``drilldown`` draws one item from its points' ``drilldown_series`` (keyword of
    ``drilldown``, point field); ``table`` adds a grid of final figures.
    """

    shape: ReportShape
    title_icon: str
    cards: CardSpec
    figures: tuple[str, ...]
    base_figures: Callable[[DashboardView, str], dict[str, Any]]
    summary_row: Callable[[DashboardSpec, DashboardView], Component]
    drilldown: DrilldownFigure
    drilldown_series: tuple[tuple[str, str], ...]
    table: TableSpec | None = None

    PAGE: ClassVar[str] = "dashboard"

    @property
    def title(self) -> str:
        return f"{self.kind.capitalize()} dashboard"

    @property
    def statuses(self) -> tuple[str, ...]:
        return self.shape.statuses

    @property
    def colors(self) -> dict[str, str]:
        return status_colors(self.kind)


class DashboardUnavailable(Exception):
    """The report cannot be shown; the message says why, in the user's words."""


def status_texts(statuses: Sequence[str]) -> dict[str, str]:
    """What the user reads for each playback status."""
    return {PENDING: PENDING_TEXT, **{status: status_label(status) for status in statuses}}


# --------------------------------------------------------------------------- bounded caches


class ByteBoundedCache:
    """A thread-safe least-recently-used cache whose entries weigh ``size_of(value)`` bytes,
    at most ``max_bytes`` in all; a value heavier than the whole budget is built, not kept."""

    def __init__(self, max_bytes: int, size_of: Callable[[Any], int]) -> None:
        self._cache: cachetools.LRUCache = cachetools.LRUCache(max_bytes, getsizeof=size_of)
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        value = build()  # outside the lock: other reports stay served meanwhile
        # cachetools refuses a value larger than the whole budget ("value too large").
        with self._lock, contextlib.suppress(ValueError):
            self._cache[key] = value
        return value

    @property
    def bytes_used(self) -> int:
        return int(self._cache.currsize)

    @property
    def max_bytes(self) -> int:
        return int(self._cache.maxsize)

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def approximate_bytes(value: Any) -> int:
    """Rough memory of a figure's JSON-like data: arrays by their buffers, strings by length."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 100
    if isinstance(value, str | bytes):
        return len(value) + 50
    if isinstance(value, Mapping):
        return 100 + sum(approximate_bytes(k) + approximate_bytes(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return 60 + sum(approximate_bytes(item) for item in value)
    return 32


OPEN_REPORTS = ByteBoundedCache(REPORT_CACHE_BYTES, lambda view: view.cost)
FIGURES = ByteBoundedCache(FIGURE_CACHE_BYTES, approximate_bytes)


def cached_figure(view: DashboardView, key: tuple, build: Callable[[], Any]) -> dict:
    """The figure ``key`` of ``view``, built once while it stays in :data:`FIGURES`; ``key``
    holds checked values only."""
    return FIGURES.get((view.identity, key), lambda: _plotly_json(build()))


def _plotly_json(figure: Any) -> dict:
    return figure if isinstance(figure, dict) else figure.to_plotly_json()


# --------------------------------------------------------------------------- opening reports


def report_store() -> ReportStore:
    return ReportStore(get_settings().output_dir)


def default_thresholds(kind: str) -> dict[str, float]:
    """The configured status thresholds of ``kind`` (for reports that recorded none)."""
    defaults = getattr(runner.analysis_defaults(get_settings()), kind)
    return defaults.status_thresholds.model_dump()


def dashboard_view(
    spec: DashboardSpec,
    *,
    name: str,
    report: dict,
    identity: tuple | None = None,
    file_bytes: int = 0,
) -> DashboardView:
    """Read a (validated) report into what the dashboard shows."""
    shape = spec.shape
    model = dashboard_model(report_arrays(report, shape), shape)
    entries = report_entries(report, shape)
    arrays = model.arrays
    payload = {
        **playback_data(model),
        **playback_look(
            prefix=spec.prefix,
            status_order=shape.status_order,
            status_texts=status_texts(shape.statuses),
            colors=spec.colors,
            figures=spec.figures,
            facts=[spec.cards.facts(entry) for entry in entries],
        ),
    }
    if spec.table is not None:
        payload["rows"] = [
            {"id": item_id, **spec.table.row(entry, name_, type_, status)}
            for item_id, entry, name_, type_, status in zip(
                arrays.ids.tolist(),
                entries,
                arrays.names.tolist(),
                arrays.types.tolist(),
                arrays.final_statuses.tolist(),
                strict=True,
            )
        ]
    thresholds = recorded_thresholds(report, default_thresholds(spec.kind))
    frames_bytes = sum(
        array.nbytes for array in (model.frames.scores, model.frames.codes) if array is not None
    )
    return DashboardView(
        name=name,
        identity=identity or (spec.kind, name),
        report=report,
        entries=entries,
        model=model,
        payload=payload,
        bands=gauge_bands(spec.kind, thresholds),
        quality=data_quality(report),
        cost=file_bytes * PARSED_BYTES_PER_BYTE + frames_bytes,
    )


def open_view(spec: DashboardSpec, name: str | None) -> DashboardView | None:
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
        identity = (spec.kind, name, stat.st_mtime_ns, stat.st_size, os.fspath(store.output_dir))
        return OPEN_REPORTS.get(
            identity, functools.partial(_read_view, spec, store, name, identity, stat.st_size)
        )
    except (ReportStoreError, ReportError, OSError, ValueError) as error:
        raise DashboardUnavailable(str(error)) from error


def _read_view(
    spec: DashboardSpec, store: ReportStore, name: str, identity: tuple, size: int
) -> DashboardView:
    # The page's callbacks (heatmap, drill-down, downloads) reuse the parsed report and its
    # frames; the file's modification time and size in the key notice a replaced file.
    report = store.load(name)
    kind = report.get("analysis_type", "availability")
    if kind != spec.kind:
        raise DashboardUnavailable(f"{name} is a {kind} report, not a {spec.kind} report")
    return dashboard_view(spec, name=name, report=report, identity=identity, file_bytes=size)


def callback_view(spec: DashboardSpec, name: object) -> DashboardView:
    """The report a callback names, or no update when there is none to show."""
    if not name or not isinstance(name, str):
        raise PreventUpdate
    try:
        view = open_view(spec, name)
    except DashboardUnavailable as error:
        raise PreventUpdate from error
    if view is None:
        raise PreventUpdate
    return view


def checked(check: Callable[[], Any]) -> Any:
    """``check()``, with a forged value answered by no update (a clear no-op)."""
    try:
        return check()
    except UnknownValue as error:
        raise PreventUpdate from error


# --------------------------------------------------------------------------- the page


def gauge_figure(spec: DashboardSpec, view: DashboardView, theme: str) -> Any:
    """The aggregated gauge's base figure: the report's status bands, no value."""
    return aggregated_gauge_figure(
        value_percent=None, bands=view.bands, colors=spec.colors, theme=theme
    )


def aggregated_card(spec: DashboardSpec, view: DashboardView, *, caption: str) -> dbc.Card:
    return pieces.aggregated_card(
        prefix=spec.prefix,
        value_percent=view.aggregated_percent,
        bands=view.bands,
        colors=spec.colors,
        caption=caption,
    )


def counts_card(spec: DashboardSpec, view: DashboardView, *, title: str, note: str) -> dbc.Card:
    return pieces.counts_card(
        prefix=spec.prefix,
        kind=spec.kind,
        statuses=spec.statuses,
        counts=final_counts(view.model),
        title=title,
        note=note,
    )


def dashboard_body(spec: DashboardSpec, view: DashboardView) -> html.Div:
    """The dashboard of an open report: header with live mode and downloads, the data-quality
    warning, the page's summary row, the timeline, the filtered cards, the table, heatmap,
    drill-down and stores."""
    prefix, arrays = spec.prefix, view.model.arrays
    quality = view.quality
    table = spec.table
    return html.Div(
        [
            page_header(
                title=spec.title,
                subtitle=pieces.report_subtitle(name=view.name, report=view.report),
                title_icon=spec.title_icon,
                actions=pieces.page_actions(
                    prefix=prefix,
                    kind=spec.kind,
                    interval_ms=get_settings().dashboard_update_interval,
                    uploaded=is_uploaded_name(view.name),
                ),
            ),
            pieces.data_quality_alert(
                prefix=prefix,
                counts=quality.counts,
                warnings=quality.warnings,
                warnings_omitted=quality.warnings_omitted,
            )
            if quality
            else None,
            spec.summary_row(spec, view),
            dbc.Card(
                dbc.CardBody(timeline_controls(prefix=prefix, labels=view.model.labels)),
                class_name="mb-4",
            ),
            pieces.cards_section(
                prefix=prefix,
                item_noun=spec.noun,
                types=arrays.types.tolist(),
                statuses=spec.statuses,
                shape=spec.cards.shape,
                live_label=spec.cards.live_label,
            ),
            pieces.final_figures_grid(
                prefix=prefix,
                kind=spec.kind,
                title=table.title,
                columns=table.columns,
                status_field=table.status_field,
                statuses=spec.statuses,
                rows=arrays.item_count,
            )
            if table
            else None,
            pieces.heatmap_section(prefix=prefix, item_noun=spec.noun),
            pieces.drilldown_section(
                prefix=prefix,
                item_noun=spec.noun,
                ids=arrays.ids.tolist(),
                names=arrays.names.tolist(),
                selected=worst_item(view.model),
            ),
            pieces.dashboard_stores(
                prefix=prefix,
                name=view.name,
                payload=view.payload,
                base_figures=theme_figures(spec, view, "light"),
            ),
        ],
        className="md-dashboard",
    )


def dashboard_layout(spec: DashboardSpec, report: str | None) -> Component:
    """A dashboard page (``report`` None: the latest report of its kind). Without any report,
    the way to make one; for an unreadable one, why."""
    try:
        view = open_view(spec, report)
    except DashboardUnavailable as error:
        return pieces.unavailable_layout(prefix=spec.prefix, kind=spec.kind, message=str(error))
    if view is None:
        return pieces.no_report_layout(prefix=spec.prefix, kind=spec.kind)
    return dashboard_body(spec, view)


def dashboard_page(module: str, spec: DashboardSpec) -> Callable[..., Component]:
    """Make the page module ``module`` the dashboard of ``spec`` (``/<kind>/dashboard``,
    ``?report=<name>``): register the page and its callbacks; the page's ``layout``."""
    dash.register_page(module, path=f"/{spec.kind}/dashboard", name=spec.title, title=spec.title)
    register_dashboard_callbacks(spec)

    def layout(report: str | None = None, **_query: str) -> Component:
        return dashboard_layout(spec, report)

    return layout


# --------------------------------------------------------------------------- callbacks


EXPORTS: dict[str, tuple[str, Callable[[dict], bytes]]] = {
    "summary": ("_summary.csv", summary_csv),
    "timeline": ("_timeline.csv", timeline_csv),
}


def register_dashboard_callbacks(spec: DashboardSpec) -> None:
    """The callbacks of a dashboard page, registered once by its module at import: playback,
    theme figures, filters, heatmap, drill-down, downloads and live mode. (A click on a card
    picks its drill-down in the browser: assets/playback.js.) Their bodies are the functions
    below, callable without a browser."""
    register_playback_callbacks(prefix=spec.prefix, figures=spec.figures, buckets=spec.statuses)
    callback(
        Output(spec.id("figures"), "data"),
        THEME_INPUT,
        State(spec.id("report-name"), "data"),
    )(functools.partial(base_figures, spec))
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="filter"),
        Output(spec.id("filter-summary"), "children"),
        *([Output(spec.id("table"), "rowData")] if spec.table else []),
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
    )(functools.partial(drilldown_figure, spec))
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

    # A background job, never inside a web request: the job manager's limits and time limit
    # apply, and a tick while this configuration's run goes on is skipped.
    @callback(
        Output(spec.id("location"), "href"),
        Output(spec.id("live-status"), "children"),
        Input(spec.id("live-interval"), "n_intervals"),
        State(spec.id("report-name"), "data"),
        background=True,
        interval=jobs.POLL_INTERVAL_MS,
        prevent_initial_call=True,
    )
    def live_update(ticks: int, name: str | None) -> tuple[Any, str]:
        # Dash keys background jobs by their function's source: a function, not a partial.
        return rerun_report(spec, ticks, name)


def register_playback_callbacks(
    *, prefix: str, figures: Sequence[str], buckets: Sequence[str]
) -> None:
    """The two clientside callbacks of a dashboard's timeline (assets/playback.js):

    ``control`` turns Play/Pause, Reset, the ticks and the speed into a slider value and the
    interval's state; ``render`` shows the frame of the slider value: it updates the gauge cards
    in place and returns the instant label, the aggregated value, the small Plotly figures
    (graphs ``<prefix>-<figure>``, as in the payload) and the counts (``buckets``).
    """
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="control"),
        Output(f"{prefix}-slider", "value"),
        Output(f"{prefix}-interval", "disabled"),
        Output(f"{prefix}-interval", "interval"),
        Output(f"{prefix}-play", "children"),
        Input(f"{prefix}-play", "n_clicks"),
        Input(f"{prefix}-reset", "n_clicks"),
        Input(f"{prefix}-interval", "n_intervals"),
        Input(f"{prefix}-speed", "value"),
        State(f"{prefix}-slider", "value"),
        State(f"{prefix}-interval", "disabled"),
        State(f"{prefix}-playback", "data"),
        prevent_initial_call=True,
    )
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="render"),
        Output(f"{prefix}-instant", "children"),
        Output(f"{prefix}-aggregated-value", "children"),
        *(Output(f"{prefix}-{figure}", "figure") for figure in figures),
        *(Output(f"{prefix}-count-{bucket}", "children") for bucket in buckets),
        Input(f"{prefix}-slider", "value"),
        Input(f"{prefix}-figures", "data"),
        State(f"{prefix}-playback", "data"),
    )


def base_figures(spec: DashboardSpec, theme: object, name: object) -> dict:
    """The figures the playback redraws, for the theme (a callback)."""
    shown_theme = checked(lambda: checked_theme(theme))
    return theme_figures(spec, callback_view(spec, name), shown_theme)


def theme_figures(spec: DashboardSpec, view: DashboardView, theme: str) -> dict:
    """The figures the playback redraws, for a checked theme and the report's status bands
    (their values are set per frame)."""
    return cached_figure(
        view,
        ("base", theme),
        lambda: {
            key: _plotly_json(figure) for key, figure in spec.base_figures(view, theme).items()
        },
    )


def heatmap_figure(
    spec: DashboardSpec, types: object, statuses: object, theme: object, name: object
) -> Any:
    """The item x time status heatmap of the items the filters keep."""
    view = callback_view(spec, name)
    model = view.model
    shown_theme = checked(lambda: checked_theme(theme))
    shown_types = checked(lambda: checked_choices(types, model.arrays.types.tolist()))
    shown_statuses = checked(lambda: checked_choices(statuses, spec.statuses))
    texts = status_texts(spec.statuses)
    return cached_figure(
        view,
        ("heatmap", shown_types, shown_statuses, shown_theme),
        lambda: _heatmap(spec, view, shown_types, shown_statuses, shown_theme, texts),
    )


def _heatmap(
    spec: DashboardSpec,
    view: DashboardView,
    types: tuple[str, ...],
    statuses: tuple[str, ...],
    theme: str,
    texts: Mapping[str, str],
) -> Any:
    model = view.model
    shown = visible_items(model, types, statuses)
    return status_heatmap_figure(
        names=[model.arrays.names[index] for index in shown],
        instants=model.frames.instants,
        codes=model.frames.codes[:, shown].T,
        status_texts=[texts[status] for status in spec.shape.status_order],
        colors=view.payload["colors"],
        theme=theme,
    )


def drilldown_figure(spec: DashboardSpec, item_id: object, theme: object, name: object) -> dict:
    """The drill-down of the picked item, built once per report, item and theme."""
    view = callback_view(spec, name)
    ids = view.model.ids
    if not isinstance(item_id, str) or item_id not in ids:
        raise PreventUpdate
    shown_theme = checked(lambda: checked_theme(theme))
    index = ids.index(item_id)
    return cached_figure(
        view,
        ("drilldown", item_id, shown_theme),
        lambda: drilldown(spec, view.model.arrays.names[index], view.entries[index], shown_theme),
    )


def drilldown(spec: DashboardSpec, name: str, entry: dict, theme: str) -> Any:
    """One item's drill-down figure from its points."""
    points_key = spec.shape.points_key
    series = {
        keyword: point_series(entry, points_key, field) for keyword, field in spec.drilldown_series
    }
    return spec.drilldown(
        name=name, timestamps=point_times(entry, points_key), theme=theme, **series
    )


def download_json(_clicks: int, name: object) -> dict:
    """The report file exactly as stored."""
    if not name or not isinstance(name, str):
        raise PreventUpdate
    try:
        content = report_store().read(name)
    except (ReportStoreError, OSError) as error:
        raise PreventUpdate from error
    return dcc.send_bytes(content, filename=name)


def download_csv(spec: DashboardSpec, part: str, _clicks: int, name: object) -> dict:
    """The summary or timeline CSV export of the report."""
    suffix, export = EXPORTS[part]
    view = callback_view(spec, name)
    return dcc.send_bytes(export(view.report), filename=Path(view.name).stem + suffix)


def rerun_report(spec: DashboardSpec, _ticks: int, name: str | None) -> tuple[Any, str]:
    """Run the report's analysis again (same window and items) as a background job and go to
    the new report. One run at a time per configuration: the job's exclusive key is the
    configuration itself, so a tick that comes while its previous run goes on says so and
    waits for the next tick."""
    view = callback_view(spec, name)
    if is_uploaded_name(view.name):
        return no_update, "Live update is off for an uploaded report."
    try:
        config = parse_config(config_from_report(view.report))
    except ConfigError as error:
        return no_update, f"Live update failed: {error}"
    config_data = config.model_dump(mode="json", exclude_none=True)
    outcome = jobs.run_analysis_job(
        config_data,
        settings=get_settings(),
        set_progress=_no_progress,
        exclusive_key=live_key(config_data),
    )
    if not outcome.succeeded:
        return no_update, f"Live update failed: {outcome.error}"
    return dashboard_href(kind=spec.kind, report_name=outcome.report_name), ""


def live_key(config_data: Mapping[str, Any]) -> str:
    """The live mode's exclusive job key of a configuration: the same for every page that
    follows it, in every web worker."""
    canonical = orjson.dumps(config_data, option=orjson.OPT_SORT_KEYS)
    return "live:" + hashlib.sha256(canonical).hexdigest()


def _no_progress(_value: tuple[int, str]) -> None:
    """Live mode shows no progress bar: the page stays on the report until the new one."""
