"""New resilience analysis: pick backup targets, set target RPO and weights, balance RPO
compliance against success rate, choose the window, save/load, and Start (background job)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from analytics.config import (
    ConfigError,
    ResilienceConfig,
    default_resilience_window,
    parse_config,
    resolve_resilience,
)
from components import config_forms as forms
from components.layout import error_alert, icon, page_header
from data_access.base import DataSourceError
from data_access.config_store import NamedConfigStore
from metrics_dashboard.runner import analysis_defaults, data_source_for
from metrics_dashboard.web import jobs
from metrics_dashboard.web.context import get_settings

KIND = "resilience"
PREFIX = "resilience-config"
ID_COLUMN = "target_id"
TYPE_COLUMN = "target_type"
LABEL_COLUMN = "display_name"
TEXT_COLUMNS = ((LABEL_COLUMN, "Backup target"), (ID_COLUMN, "Id"), (TYPE_COLUMN, "Type"))
RPO = forms.NumberColumn("target_rpo_hours", "Target RPO (h)", 1, 168, integer=False)
WEIGHT = forms.NumberColumn("weight", "Weight", 1, 10)
NUMBER_COLUMNS = (RPO, WEIGHT)
HOURS = forms.NumberColumn("hours", "Window length (h)", 1, 8760)

DERIVED, CUSTOM = "derived", "custom"

dash.register_page(
    __name__,
    path=f"/{KIND}/config",
    name="New resilience analysis",
    title="New resilience analysis · Metrics Dashboard",
)


def layout(**_query: str) -> html.Div:
    settings = get_settings()
    header = page_header(
        title="New resilience analysis",
        subtitle="Choose the backup targets, their target RPO, the score weights and the window.",
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
        targets = source.backup_targets()
        last_backup = source.extent().backups_last
    except DataSourceError as error:
        return html.Div(
            [
                header,
                error_alert(
                    title="The backup targets cannot be read",
                    message=str(error),
                    retry_href=f"/{KIND}/config",
                ),
            ]
        )
    defaults = analysis_defaults(settings).resilience
    params = resolve_resilience(
        ResilienceConfig(analysis_type="resilience"), targets, analysis_defaults(settings)
    )
    rows = target_rows(params)
    types = sorted({row[TYPE_COLUMN] for row in rows})
    try:
        names = NamedConfigStore(settings.named_configs_dir).list(KIND)
    except ConfigError:  # unreadable directory: the form still works; Save will say why
        names = []
    last_backup_text = None if last_backup is None else pd.Timestamp(last_backup).isoformat()
    return html.Div(
        [
            header,
            dcc.Store(id=f"{PREFIX}-backups-last", data=last_backup_text),
            dcc.Store(id=f"{PREFIX}-job-token", data=jobs.new_job_token()),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("Backup targets", className="h5"),
                                        html.P(
                                            "Tick the targets to analyse; click a target RPO or "
                                            "weight to edit it. Out-of-range values turn red.",
                                            className="small text-body-secondary",
                                        ),
                                        forms.table_filters(
                                            prefix=PREFIX,
                                            types=types,
                                            type_label="target type",
                                            search_placeholder="Search targets by name or id",
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
                                type_label="target",
                                columns=NUMBER_COLUMNS,
                            ),
                        ],
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("Score weights", className="h5"),
                                        forms.weights_control(
                                            prefix=PREFIX, w_rpo=defaults.weights.rpo
                                        ),
                                    ]
                                ),
                                class_name="mb-3",
                            ),
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2("Window", className="h5"),
                                        _window_controls(
                                            hours=defaults.default_hours,
                                            last_backup=last_backup_text,
                                        ),
                                    ]
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


def target_rows(params: pd.DataFrame) -> list[dict[str, Any]]:
    """Table rows from the resolved parameters (RPO by type already applied)."""
    return [
        {
            "id": target_id,  # DataTable row id
            ID_COLUMN: target_id,
            LABEL_COLUMN: row.display_name,
            TYPE_COLUMN: row.target_type,
            RPO.column_id: float(row.target_rpo_hours),
            WEIGHT.column_id: int(row.weight),
        }
        for target_id, row in params.iterrows()
    ]


def _window_controls(*, hours: int, last_backup: str | None) -> html.Div:
    derived_start = derived_window_start(last_backup=last_backup, hours=hours)
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Label(HOURS.name, html_for=f"{PREFIX}-hours", width=5),
                    dbc.Col(
                        dbc.Input(
                            id=f"{PREFIX}-hours",
                            type="number",
                            min=HOURS.low,
                            max=HOURS.high,
                            step=1,
                            value=hours,
                        ),
                        width=7,
                    ),
                ],
                class_name="g-2 mb-2 align-items-center",
            ),
            forms.window_choice(
                prefix=PREFIX,
                options=[
                    (DERIVED, "Ending at the last full hour with backup data"),
                    (CUSTOM, "Custom start (UTC)"),
                ],
                value=DERIVED,
                custom=[
                    forms.datetime_inputs(
                        prefix=PREFIX, which="start", label="Start", value=derived_start
                    )
                ],
            ),
        ]
    )


def derived_window_start(*, last_backup: str | None, hours: Any) -> str | None:
    """The default start for ``hours`` (ISO, UTC): None without backups or with bad hours."""
    if last_backup is None or HOURS.problem(hours):
        return None
    return default_resilience_window(pd.Timestamp(last_backup), int(hours)).isoformat()


def resolve_window(
    *,
    preset: str,
    hours: Any,
    custom_start: tuple[str | None, str | None],
) -> tuple[str | None, int]:
    """The configuration's (start as ISO or None for the default, hours); ``ValueError`` says
    what is wrong."""
    problem = HOURS.problem(hours)
    if problem:
        raise ValueError(problem)
    if preset == CUSTOM:
        return forms.combine_utc(*custom_start).isoformat(), int(HOURS.coerce(hours))
    return None, int(HOURS.coerce(hours))


def window_or_error(
    preset: str,
    start_date: str | None,
    start_time: str | None,
    hours: Any,
) -> tuple[tuple[str | None, int] | None, str | None]:
    """(the window, None) or (None, what is wrong with it), from the window controls."""
    try:
        window = resolve_window(preset=preset, hours=hours, custom_start=(start_date, start_time))
    except ValueError as error:
        return None, str(error)
    return window, None


def weights(w_rpo: float) -> dict[str, float]:
    """``{"rpo", "success"}`` summing to 1 (the slider moves in steps of 0.05)."""
    rpo = round(float(w_rpo), 4)
    return {"rpo": rpo, "success": round(1.0 - rpo, 4)}


def config_data(
    *,
    rows: Sequence[Mapping[str, Any]],
    selected_rows: Sequence[int] | None,
    window: tuple[str | None, int],
    w_rpo: float,
    name: str | None = None,
) -> dict[str, Any]:
    """The configuration as ``parse_config`` takes it, for the selected targets only."""
    start, hours = window
    data: dict[str, Any] = {
        "analysis_type": KIND,
        "hours": hours,
        "targets": forms.selected_ids(rows=rows, selected_rows=selected_rows, id_column=ID_COLUMN),
        "target_rpo_hours": forms.selected_values(
            rows=rows, selected_rows=selected_rows, id_column=ID_COLUMN, column=RPO
        ),
        "target_weights": forms.selected_values(
            rows=rows, selected_rows=selected_rows, id_column=ID_COLUMN, column=WEIGHT
        ),
        "weights": weights(w_rpo),
    }
    if start is not None:
        data["start"] = start
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
        problems.insert(0, "Select at least one backup target.")
    if window_error:
        problems.append(f"Window: {window_error}.")
    return problems


# The window controls, in the order the callbacks take them.
_WINDOW_FIELDS = (
    (f"{PREFIX}-window-preset", "value"),
    (f"{PREFIX}-start-date", "date"),
    (f"{PREFIX}-start-time", "value"),
    (f"{PREFIX}-hours", "value"),
)
_WINDOW_STATES = tuple(State(component, prop) for component, prop in _WINDOW_FIELDS)

forms.register_table_callbacks(
    prefix=PREFIX,
    id_column=ID_COLUMN,
    label_column=LABEL_COLUMN,
    type_column=TYPE_COLUMN,
    columns=NUMBER_COLUMNS,
    noun="target",
)


@callback(
    Output(f"{PREFIX}-w-success", "children"),
    Input(f"{PREFIX}-w-rpo", "value"),
)
def show_success_weight(w_rpo: float) -> str:
    return forms.success_weight_text(weights(w_rpo))


@callback(
    Output(f"{PREFIX}-validation", "children"),
    Output(f"{PREFIX}-start", "disabled"),
    Output(f"{PREFIX}-window-summary", "children"),
    Output(f"{PREFIX}-custom-window", "is_open"),
    Output(f"{PREFIX}-selection-count", "children"),
    Input(f"{PREFIX}-table", "data"),
    Input(f"{PREFIX}-table", "selected_rows"),
    *(Input(component, prop) for component, prop in _WINDOW_FIELDS),
    State(f"{PREFIX}-backups-last", "data"),
)
def validate_form(
    rows: list[dict[str, Any]],
    selected_rows: list[int] | None,
    preset: str,
    start_date: str | None,
    start_time: str | None,
    hours: Any,
    last_backup: str | None,
) -> tuple[Any, bool, str, bool, str]:
    """Problems listed and Start disabled while the form is invalid; the window in words."""
    window, window_error = window_or_error(preset, start_date, start_time, hours)
    if window is not None and window[0] is None and last_backup is None:
        window, window_error = None, "the data source has no backups: choose a custom start"
    problems = form_problems(rows=rows, selected_rows=selected_rows, window_error=window_error)
    summary = ""
    if window is not None:
        start = window[0] or derived_window_start(last_backup=last_backup, hours=window[1])
        end = pd.Timestamp(start) + pd.Timedelta(hours=window[1])
        summary = f"Window: {forms.window_text(start=start, end=end)} ({window[1]} h)"
    return (
        forms.validation_feedback(problems=problems, component_id=f"{PREFIX}-problems"),
        bool(problems),
        summary,
        preset == CUSTOM,
        f"{len(selected_rows or [])} of {len(rows)} targets selected",
    )


@callback(
    Output(f"{PREFIX}-config-feedback", "children"),
    Output(f"{PREFIX}-saved-configs", "options"),
    Input(f"{PREFIX}-save", "n_clicks"),
    State(f"{PREFIX}-config-name", "value"),
    State(f"{PREFIX}-table", "data"),
    State(f"{PREFIX}-table", "selected_rows"),
    State(f"{PREFIX}-w-rpo", "value"),
    *_WINDOW_STATES,
    prevent_initial_call=True,
)
def save_config(
    _n: int,
    name: str | None,
    rows: list[dict[str, Any]],
    selected_rows: list[int] | None,
    w_rpo: float,
    *window_fields: Any,
) -> tuple[Any, Any]:
    window, window_error = window_or_error(*window_fields)
    problems = form_problems(rows=rows, selected_rows=selected_rows, window_error=window_error)
    name = (name or "").strip()
    if not name:
        problems.insert(0, "Give the configuration a name.")
    if problems or window is None:
        return forms.config_problem(title="Not saved", message=" ".join(problems)), no_update
    store = NamedConfigStore(get_settings().named_configs_dir)
    try:
        config = parse_config(
            config_data(
                rows=rows, selected_rows=selected_rows, window=window, w_rpo=w_rpo, name=name
            )
        )
        store.save(name, config)
    except (ConfigError, ValueError, OSError) as error:
        return forms.config_problem(title="Not saved", message=str(error)), no_update
    return forms.config_saved(name=name), store.list(KIND)


@callback(
    Output(f"{PREFIX}-table", "data", allow_duplicate=True),
    Output(f"{PREFIX}-table", "selected_rows", allow_duplicate=True),
    Output(f"{PREFIX}-w-rpo", "value"),
    Output(f"{PREFIX}-window-preset", "value"),
    Output(f"{PREFIX}-start-date", "date"),
    Output(f"{PREFIX}-start-time", "value"),
    Output(f"{PREFIX}-hours", "value"),
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
        problem = forms.config_problem(
            title="Nothing loaded", message="Choose a saved configuration first."
        )
        return *unchanged, problem
    try:
        config = NamedConfigStore(get_settings().named_configs_dir).load(name)
    except (ConfigError, ValueError, OSError) as error:
        return *unchanged, forms.config_problem(title="Not loaded", message=str(error))
    if not isinstance(config, ResilienceConfig):
        problem = forms.config_problem(
            title="Not loaded", message=f"“{name}” is not a resilience configuration."
        )
        return *unchanged, problem
    selected, unknown = forms.selection_for_ids(rows=rows, id_column=ID_COLUMN, ids=config.targets)
    updated = forms.rows_with_overrides(
        rows=rows,
        id_column=ID_COLUMN,
        overrides={RPO.column_id: config.target_rpo_hours, WEIGHT.column_id: config.target_weights},
    )
    if config.start is not None:
        start_fields = (CUSTOM, *forms.split_utc(config.start))
    else:
        start_fields = (DERIVED, no_update, no_update)
    return (
        updated,
        selected,
        config.weights.rpo,
        *start_fields,
        config.hours,
        name,
        forms.config_loaded(name=name, unknown_ids=unknown),
    )


@callback(
    Output(f"{PREFIX}-job-result", "children"),
    Output(f"{PREFIX}-redirect", "href"),
    Input(f"{PREFIX}-start", "n_clicks"),
    State(f"{PREFIX}-table", "data"),
    State(f"{PREFIX}-table", "selected_rows"),
    State(f"{PREFIX}-job-token", "data"),
    State(f"{PREFIX}-w-rpo", "value"),
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
    w_rpo: float,
    *window_fields: Any,
) -> tuple[Any, Any]:
    """Runs in a background process: analyse, then go to the new dashboard (or say why not)."""
    window, window_error = window_or_error(*window_fields)
    if window is None:
        failure = forms.job_result(succeeded=False, kind=KIND, error=f"Window: {window_error}")
        return failure, no_update
    outcome = jobs.run_analysis_job(
        config_data(rows=rows, selected_rows=selected_rows, window=window, w_rpo=w_rpo),
        settings=get_settings(),
        set_progress=set_progress,
        job_token=job_token,
    )
    return forms.job_outcome_outputs(outcome)
