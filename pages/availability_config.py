"""New availability analysis: pick services, set error budgets and weights, choose the window,
save/load named configurations, and Start (a background job with progress and Cancel)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from analytics.config import (
    AvailabilityConfig,
    ConfigError,
    default_availability_window,
    parse_config,
    resolve_availability,
)
from components import config_forms as forms
from components.layout import error_alert, icon, page_header
from data_access.base import DataSourceError
from data_access.config_store import NamedConfigStore
from metrics_dashboard.runner import analysis_defaults, data_source_for
from metrics_dashboard.web import jobs
from metrics_dashboard.web.context import get_settings

KIND = "availability"
PREFIX = "availability-config"
ID_COLUMN = "service_id"
TYPE_COLUMN = "service_type"
LABEL_COLUMN = "display_name"
TEXT_COLUMNS = ((LABEL_COLUMN, "Service"), (ID_COLUMN, "Id"), (TYPE_COLUMN, "Type"))
BUDGET = forms.NumberColumn("error_budget", "Error budget", 1, 50)
WEIGHT = forms.NumberColumn("weight", "Weight", 1, 10)
NUMBER_COLUMNS = (BUDGET, WEIGHT)

LAST_DAY, LAST_7_DAYS, CUSTOM = "last-day", "last-7-days", "custom"

dash.register_page(
    __name__,
    path=f"/{KIND}/config",
    name="New availability analysis",
    title="New availability analysis · Metrics Dashboard",
)


def layout(**_query: str) -> html.Div:
    settings = get_settings()
    header = page_header(
        title="New availability analysis",
        subtitle="Choose the services, their error budgets and weights, and the window.",
        title_icon="bi-sliders",
        actions=[
            dbc.Button(
                [icon(name="bi-list-ul"), "Reports"],
                href=f"/{KIND}",
                color="secondary",
                outline=True,
            ),
        ],
    )
    try:
        source = data_source_for(settings)
        services = source.services()
        last_metric = source.extent().metrics_last
    except DataSourceError as error:
        return html.Div(
            [
                header,
                error_alert(
                    title="The services cannot be read",
                    message=str(error),
                    retry_href=f"/{KIND}/config",
                ),
            ]
        )
    params = resolve_availability(
        AvailabilityConfig(analysis_type="availability"),
        services,
        analysis_defaults(settings),
        default_error_budget=settings.default_error_budget,
    )
    rows = service_rows(params)
    types = sorted({row[TYPE_COLUMN] for row in rows})
    presets = window_presets(last_metric)
    try:
        names = NamedConfigStore(settings.named_configs_dir).list(KIND)
    except ConfigError:  # unreadable directory: the form still works; Save will say why
        names = []
    return html.Div(
        [
            header,
            dcc.Store(id=f"{PREFIX}-window-presets", data=presets),
            dcc.Store(id=f"{PREFIX}-job-token", data=jobs.new_job_token()),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("Services", className="h5"),
                                        html.P(
                                            "Tick the services to analyse; click a budget or "
                                            "weight to edit it. Out-of-range values turn red.",
                                            className="small text-body-secondary",
                                        ),
                                        forms.table_filters(
                                            prefix=PREFIX,
                                            types=types,
                                            type_label="service type",
                                            search_placeholder="Search services by name or id",
                                        ),
                                        forms.item_table(
                                            table_id=f"{PREFIX}-table",
                                            rows=rows,
                                            text_columns=TEXT_COLUMNS,
                                            number_columns=NUMBER_COLUMNS,
                                            selected_rows=range(len(rows)),
                                        ),
                                        html.Div(
                                            id=f"{PREFIX}-selection-count",
                                            className="small text-body-secondary mt-1",
                                        ),
                                    ]
                                ),
                                class_name="mb-3",
                            ),
                            forms.bulk_setter(
                                prefix=PREFIX,
                                types=types,
                                type_label="service",
                                columns=NUMBER_COLUMNS,
                            ),
                        ],
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [html.H2("Window", className="h5"), _window_controls(presets)]
                                ),
                                class_name="mb-3",
                            ),
                            forms.named_config_controls(prefix=PREFIX, names=names),
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.Div(id=f"{PREFIX}-validation"),
                                        forms.job_controls(
                                            prefix=PREFIX, start_label="Start analysis"
                                        ),
                                    ]
                                ),
                            ),
                        ],
                        lg=4,
                    ),
                ],
                class_name="g-3",
            ),
        ]
    )


def service_rows(params: pd.DataFrame) -> list[dict[str, Any]]:
    """Table rows from the resolved parameters (defaults by type already applied)."""
    return [
        {
            "id": service_id,  # DataTable row id
            ID_COLUMN: service_id,
            LABEL_COLUMN: row.display_name,
            TYPE_COLUMN: row.service_type,
            BUDGET.column_id: int(row.error_budget),
            WEIGHT.column_id: int(row.weight),
        }
        for service_id, row in params.iterrows()
    ]


def window_presets(last_metric: pd.Timestamp | None) -> dict[str, list[str]]:
    """``{preset: [start, end]}`` (ISO, UTC) of the windows the data allows; none without data."""
    if last_metric is None:
        return {}
    start, end = default_availability_window(last_metric)
    return {
        LAST_DAY: [start.isoformat(), end.isoformat()],
        LAST_7_DAYS: [(end - timedelta(days=7)).isoformat(), end.isoformat()],
    }


def _window_controls(presets: Mapping[str, Sequence[str]]) -> html.Div:
    last_day = presets.get(LAST_DAY, [None, None])
    day_label = forms.split_utc(last_day[0])[0] or "none: no metrics"
    return forms.window_choice(
        prefix=PREFIX,
        options=[
            (LAST_DAY, f"Last day with data ({day_label})"),
            (LAST_7_DAYS, "Last 7 days with data"),
            (CUSTOM, "Custom range (UTC)"),
        ],
        value=LAST_DAY,
        custom=[
            forms.datetime_inputs(prefix=PREFIX, which="start", label="From", value=last_day[0]),
            forms.datetime_inputs(prefix=PREFIX, which="end", label="Until", value=last_day[1]),
        ],
    )


def resolve_window(
    *,
    preset: str,
    presets: Mapping[str, Sequence[str]],
    custom_start: tuple[str | None, str | None],
    custom_end: tuple[str | None, str | None],
) -> tuple[str | None, str | None]:
    """The configuration's (start, end) as ISO text; (None, None) leaves the default window to
    the engine. ``ValueError`` says what is wrong with a custom range."""
    if preset == CUSTOM:
        start = forms.combine_utc(*custom_start)
        end = forms.combine_utc(*custom_end)
        if end <= start:
            raise ValueError("the window must end after it starts")
        return start.isoformat(), end.isoformat()
    if preset not in presets:
        raise ValueError("the data source has no metrics: choose a custom range")
    if preset == LAST_7_DAYS:
        start_text, end_text = presets[LAST_7_DAYS]
        return start_text, end_text
    return None, None  # the last day with data: the engine's own default window


def config_data(
    *,
    rows: Sequence[Mapping[str, Any]],
    selected_rows: Sequence[int] | None,
    window: tuple[str | None, str | None],
    name: str | None = None,
) -> dict[str, Any]:
    """The configuration as ``parse_config`` takes it, for the selected services only."""
    start, end = window
    data: dict[str, Any] = {
        "analysis_type": KIND,
        "services": forms.selected_ids(rows=rows, selected_rows=selected_rows, id_column=ID_COLUMN),
        "service_error_budgets": forms.selected_values(
            rows=rows, selected_rows=selected_rows, id_column=ID_COLUMN, column=BUDGET
        ),
        "service_weights": forms.selected_values(
            rows=rows, selected_rows=selected_rows, id_column=ID_COLUMN, column=WEIGHT
        ),
    }
    if start is not None:
        data["start"], data["end"] = start, end
    if name:
        data["name"] = name
    return data


def form_problems(
    *,
    rows: Sequence[Mapping[str, Any]],
    selected_rows: Sequence[int] | None,
    window_error: str | None,
) -> list[str]:
    """Everything that keeps Start disabled, in words."""
    problems = forms.invalid_entries(rows=rows, columns=NUMBER_COLUMNS, label_column=LABEL_COLUMN)
    if not selected_rows:
        problems.insert(0, "Select at least one service.")
    if window_error:
        problems.append(f"Window: {window_error}.")
    return problems


def window_or_error(
    preset: str,
    start_date: str | None,
    start_time: str | None,
    end_date: str | None,
    end_time: str | None,
    presets: Mapping[str, Sequence[str]] | None,
) -> tuple[tuple[str | None, str | None] | None, str | None]:
    """(the window, None) or (None, what is wrong with it), from the window controls' values."""
    try:
        window = resolve_window(
            preset=preset,
            presets=presets or {},
            custom_start=(start_date, start_time),
            custom_end=(end_date, end_time),
        )
    except ValueError as error:
        return None, str(error)
    return window, None


# The window controls, in the order the callbacks take them (then the presets store).
_WINDOW_FIELDS = (
    (f"{PREFIX}-window-preset", "value"),
    (f"{PREFIX}-start-date", "date"),
    (f"{PREFIX}-start-time", "value"),
    (f"{PREFIX}-end-date", "date"),
    (f"{PREFIX}-end-time", "value"),
)
_WINDOW_STATES = (
    *(State(component, prop) for component, prop in _WINDOW_FIELDS),
    State(f"{PREFIX}-window-presets", "data"),
)


@callback(
    Output(f"{PREFIX}-validation", "children"),
    Output(f"{PREFIX}-start", "disabled"),
    Output(f"{PREFIX}-window-summary", "children"),
    Output(f"{PREFIX}-custom-window", "is_open"),
    Output(f"{PREFIX}-selection-count", "children"),
    Input(f"{PREFIX}-table", "data"),
    Input(f"{PREFIX}-table", "selected_rows"),
    *(Input(component, prop) for component, prop in _WINDOW_FIELDS),
    State(f"{PREFIX}-window-presets", "data"),
)
def validate_form(
    rows: list[dict[str, Any]],
    selected_rows: list[int] | None,
    *window_fields: Any,
) -> tuple[Any, bool, str, bool, str]:
    """Problems listed and Start disabled while the form is invalid; the window in words."""
    preset, presets = window_fields[0], window_fields[-1] or {}
    window, window_error = window_or_error(*window_fields)
    problems = form_problems(rows=rows, selected_rows=selected_rows, window_error=window_error)
    summary = ""
    if window is not None:
        # (None, None) is the default window: show the one the data gives.
        start, end = presets.get(LAST_DAY, [None, None]) if window == (None, None) else window
        summary = f"Window: {forms.window_text(start=start, end=end)}"
    return (
        forms.validation_feedback(problems=problems, component_id=f"{PREFIX}-problems"),
        bool(problems),
        summary,
        preset == CUSTOM,
        f"{len(selected_rows or [])} of {len(rows)} services selected",
    )


forms.register_table_callbacks(
    prefix=PREFIX,
    id_column=ID_COLUMN,
    label_column=LABEL_COLUMN,
    type_column=TYPE_COLUMN,
    columns=NUMBER_COLUMNS,
    noun="service",
)


@callback(
    Output(f"{PREFIX}-config-feedback", "children"),
    Output(f"{PREFIX}-saved-configs", "options"),
    Input(f"{PREFIX}-save", "n_clicks"),
    State(f"{PREFIX}-config-name", "value"),
    State(f"{PREFIX}-table", "data"),
    State(f"{PREFIX}-table", "selected_rows"),
    *_WINDOW_STATES,
    prevent_initial_call=True,
)
def save_config(
    _n: int,
    name: str | None,
    rows: list[dict[str, Any]],
    selected_rows: list[int] | None,
    *window_fields: Any,
) -> tuple[Any, Any]:
    window, window_error = window_or_error(*window_fields)
    problems = form_problems(rows=rows, selected_rows=selected_rows, window_error=window_error)
    if not (name or "").strip():
        problems.insert(0, "Give the configuration a name.")
    if problems or window is None:
        return forms.config_problem(title="Not saved", message=" ".join(problems)), no_update
    store = NamedConfigStore(get_settings().named_configs_dir)
    try:
        config = parse_config(
            config_data(rows=rows, selected_rows=selected_rows, window=window, name=name.strip())
        )
        store.save(name.strip(), config)
    except (ConfigError, ValueError, OSError) as error:
        return forms.config_problem(title="Not saved", message=str(error)), no_update
    return forms.config_saved(name=name.strip()), store.list(KIND)


@callback(
    Output(f"{PREFIX}-table", "data", allow_duplicate=True),
    Output(f"{PREFIX}-table", "selected_rows", allow_duplicate=True),
    Output(f"{PREFIX}-window-preset", "value"),
    Output(f"{PREFIX}-start-date", "date"),
    Output(f"{PREFIX}-start-time", "value"),
    Output(f"{PREFIX}-end-date", "date"),
    Output(f"{PREFIX}-end-time", "value"),
    Output(f"{PREFIX}-config-name", "value"),
    Output(f"{PREFIX}-config-feedback", "children", allow_duplicate=True),
    Input(f"{PREFIX}-load", "n_clicks"),
    State(f"{PREFIX}-saved-configs", "value"),
    State(f"{PREFIX}-table", "data"),
    prevent_initial_call=True,
)
def load_config(_n: int, name: str | None, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    unchanged = (no_update,) * 8
    if not name:
        return *unchanged, forms.config_problem(
            title="Nothing loaded", message="Choose a saved configuration first."
        )
    try:
        config = NamedConfigStore(get_settings().named_configs_dir).load(name)
    except (ConfigError, ValueError, OSError) as error:
        return *unchanged, forms.config_problem(title="Not loaded", message=str(error))
    if not isinstance(config, AvailabilityConfig):
        return *unchanged, forms.config_problem(
            title="Not loaded", message=f"“{name}” is not an availability configuration."
        )
    selected, unknown = forms.selection_for_ids(rows=rows, id_column=ID_COLUMN, ids=config.services)
    updated = forms.rows_with_overrides(
        rows=rows,
        id_column=ID_COLUMN,
        overrides={
            BUDGET.column_id: config.service_error_budgets,
            WEIGHT.column_id: config.service_weights,
        },
    )
    if config.start is not None and config.end is not None:
        window = (CUSTOM, *forms.split_utc(config.start), *forms.split_utc(config.end))
    else:
        window = (LAST_DAY, no_update, no_update, no_update, no_update)
    return (updated, selected, *window, name, forms.config_loaded(name=name, unknown_ids=unknown))


@callback(
    Output(f"{PREFIX}-job-result", "children"),
    Output(f"{PREFIX}-redirect", "href"),
    Input(f"{PREFIX}-start", "n_clicks"),
    State(f"{PREFIX}-table", "data"),
    State(f"{PREFIX}-table", "selected_rows"),
    State(f"{PREFIX}-job-token", "data"),
    *_WINDOW_STATES,
    background=True,
    running=forms.job_running_states(prefix=PREFIX),
    progress=forms.job_progress_outputs(prefix=PREFIX),
    progress_default=forms.JOB_PROGRESS_START,
    cancel=[Input(f"{PREFIX}-cancel", "n_clicks")],
    interval=jobs.POLL_INTERVAL_MS,
    prevent_initial_call=True,
)
def start_analysis(
    set_progress: jobs.ProgressReporter,
    _n: int,
    rows: list[dict[str, Any]],
    selected_rows: list[int] | None,
    job_token: str,
    *window_fields: Any,
) -> tuple[Any, Any]:
    """Runs in a background process: analyse, then go to the new dashboard (or say why not)."""
    window, window_error = window_or_error(*window_fields)
    if window is None:
        failure = forms.job_result(succeeded=False, kind=KIND, error=f"Window: {window_error}")
        return failure, no_update
    outcome = jobs.run_analysis_job(
        config_data(rows=rows, selected_rows=selected_rows, window=window),
        settings=get_settings(),
        set_progress=set_progress,
        job_token=job_token,
    )
    return forms.job_outcome_outputs(outcome)
