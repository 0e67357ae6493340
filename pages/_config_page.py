"""The configuration page factory: a :class:`ConfigPageSpec` says what differs between the
availability and the resilience configuration pages (their items, editable columns, and their
own controls: window, weights); this module lays the page out and registers the callbacks they
share: validation, the grid's filters, selection and bulk edit, save, load and Start (a
background job with progress and Cancel).

The rules (allowed values, selection, bulk edits, UTC date and time) are pure
(analytics/config_form.py); the pieces of the page come from components/config_forms.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import (
    ClientsideFunction,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)
from dash.development.base_component import Component

from analytics.config import AnalysisConfig, ConfigError, parse_config
from analytics.config_form import (
    NumberColumn,
    apply_bulk_value,
    invalid_entries,
    item_rows,
    rows_with_overrides,
    selected_ids,
    selected_values,
    selection_for_ids,
    selection_ids,
)
from analytics.dashboard_model import ReportShape
from components import config_forms as forms
from components.layout import error_alert, icon, page_header
from components.reports import dashboard_href
from data_access.base import DataSourceError
from data_access.config_store import NamedConfigStore
from metrics_dashboard.settings import Settings
from metrics_dashboard.web import jobs
from metrics_dashboard.web.context import get_settings
from pages._page_spec import KindPage

CUSTOM = "custom"  # the window preset (the first form field) that opens the custom inputs
# The window start's controls, first of both pages' form fields.
WINDOW_START_FIELDS = (("window-preset", "value"), ("start-date", "date"), ("start-time", "value"))

GRID_NAMESPACE = "metricsGrids"  # clientside functions of assets/grids.js


@dataclass(frozen=True)
class ConfigForm:
    """What a page reads from the data source for its form: the grid's ``rows`` (each with a
    unique ``id``), the JSON ``context`` its own controls need (window presets, last backup)
    and its own ``cards`` for the right-hand column."""

    rows: list[dict[str, Any]]
    context: Any
    cards: list[Component] = field(default_factory=list)


class FormControls(Protocol):
    """A page's own controls (window, weights), provided by its module: ``FORM_FIELDS`` are
    (id suffix, property) of the controls, in the order the callbacks take their values, the
    window preset first; ``read_source(settings)``
    reads the data source (DataSourceError when it cannot) into a :class:`ConfigForm`;
    ``read_form(values, context)`` turns the controls' values into configuration entries
    (``ValueError`` says what is wrong), ``describe(entries, context)`` writes the resolved
    window in words, and ``fill_form(config)`` gives the values that show a saved configuration
    (``no_update`` keeps one)."""

    FORM_FIELDS: tuple[tuple[str, str], ...]

    def read_source(self, settings: Settings, /) -> ConfigForm: ...

    def read_form(self, values: Sequence[Any], context: Any, /) -> dict[str, Any]: ...

    def describe(self, entries: Mapping[str, Any], context: Any, /) -> str: ...

    def fill_form(self, config: AnalysisConfig, /) -> tuple[Any, ...]: ...


@dataclass(frozen=True)
class ConfigTexts:
    """What the page says: the header's ``subtitle`` and how to edit the items (``hint``)."""

    subtitle: str
    hint: str


@dataclass(frozen=True)
class ConfigPageSpec(KindPage):
    """What differs between the two configuration pages: the items (``shape``: the same as
    their reports', analytics.dashboard_model), the page's ``texts``, the editable
    ``number_columns`` of the grid (each with the configuration key of its values) and the
    page's own ``controls`` (:class:`FormControls`: the page module itself)."""

    shape: ReportShape
    texts: ConfigTexts
    number_columns: tuple[NumberColumn, ...]
    controls: FormControls

    PAGE: ClassVar[str] = "config"

    @property
    def grid(self) -> str:
        return self.id("table")

    @property
    def title(self) -> str:
        return f"New {self.kind} analysis"

    @property
    def items_title(self) -> str:
        return f"{self.shape.item_name}s".capitalize()

    @property
    def ids_key(self) -> str:
        return self.shape.items_key

    @property
    def id_column(self) -> str:
        return f"{self.noun}_id"

    @property
    def type_column(self) -> str:
        return f"{self.noun}_type"

    @property
    def label_column(self) -> str:
        return "display_name"

    @property
    def text_columns(self) -> tuple[tuple[str, str], ...]:
        return (
            (self.label_column, self.shape.item_name.capitalize()),
            (self.id_column, "Id"),
            (self.type_column, "Type"),
        )


# --------------------------------------------------------------------------- the page


def config_layout(spec: ConfigPageSpec) -> html.Div:
    """The page: the items grid with its filters and bulk setter, the page's own cards,
    named configurations and Start; or, when the data source cannot be read, why, and Retry."""
    settings = get_settings()
    header = page_header(
        title=spec.title,
        subtitle=spec.texts.subtitle,
        title_icon="bi-sliders",
        actions=[
            dbc.Button(
                [icon(name="bi-list-ul"), "Reports"],
                href=f"/{spec.kind}",
                color="secondary",
                outline=True,
            ),
        ],
    )
    try:
        form = spec.controls.read_source(settings)
    except DataSourceError as error:
        return html.Div(
            [
                header,
                error_alert(
                    title=f"The {spec.items_title.lower()} cannot be read",
                    message=str(error),
                    retry_href=f"/{spec.kind}/config",
                ),
            ]
        )
    types = sorted({row[spec.type_column] for row in form.rows})
    try:
        names = NamedConfigStore(settings.named_configs_dir).list(spec.kind)
    except ConfigError:  # unreadable directory: the form still works; Save will say why
        names = []
    items = dbc.Card(
        dbc.CardBody(
            [
                html.H2(spec.items_title, className="h5"),
                html.P(
                    f"{spec.texts.hint} Out-of-range values turn red.",
                    className="small text-body-secondary",
                ),
                forms.table_filters(
                    prefix=spec.prefix,
                    types=types,
                    type_label=f"{spec.noun} type",
                    search_placeholder=f"Search {spec.noun}s by name or id",
                ),
                forms.item_grid(
                    grid_id=spec.grid,
                    rows=form.rows,
                    text_columns=spec.text_columns,
                    number_columns=spec.number_columns,
                    type_column=spec.type_column,
                    search_columns=(spec.label_column, spec.id_column),
                    selected_ids=[row["id"] for row in form.rows],
                ),
                html.Div(id=spec.id("selection-count"), className="small text-body-secondary mt-1"),
            ]
        ),
        class_name="mb-3",
    )
    return html.Div(
        [
            header,
            dcc.Store(id=spec.id("context"), data=form.context),
            dcc.Store(id=spec.id("job-token"), data=jobs.new_job_token()),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            items,
                            forms.bulk_setter(
                                prefix=spec.prefix,
                                types=types,
                                type_label=spec.noun,
                                columns=spec.number_columns,
                            ),
                        ],
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            *form.cards,
                            forms.named_config_controls(prefix=spec.prefix, names=names),
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.Div(id=spec.id("validation")),
                                        forms.job_controls(
                                            prefix=spec.prefix, start_label="Start analysis"
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


def config_page(module: str, spec: ConfigPageSpec) -> Callable[..., html.Div]:
    """Make the page module ``module`` the configuration page of ``spec``
    (``/<kind>/config``): register the page and its callbacks; the page's ``layout``."""
    dash.register_page(
        module,
        path=f"/{spec.kind}/config",
        name=spec.title,
        title=f"{spec.title} · Metrics Dashboard",
    )
    register_config_callbacks(spec)

    def layout(**_query: str) -> html.Div:
        return config_layout(spec)

    return layout


# --------------------------------------------------------------------------- the form's rules


def grid_rows(spec: ConfigPageSpec, params: pd.DataFrame) -> list[dict[str, Any]]:
    """The grid's rows from resolved parameters (defaults by type already applied)."""
    return item_rows(
        params,
        id_column=spec.id_column,
        text_columns=(spec.label_column, spec.type_column),
        numbers=spec.number_columns,
    )


def form_entries(
    spec: ConfigPageSpec, values: Sequence[Any], context: Any
) -> tuple[dict[str, Any] | None, str | None]:
    """(the configuration entries of the page's own controls, None) or (None, what is wrong)."""
    try:
        return spec.controls.read_form(values, context), None
    except ValueError as error:
        return None, str(error)


def form_problems(
    spec: ConfigPageSpec,
    *,
    rows: Sequence[Mapping[str, Any]],
    selected: set[str],
    form_error: str | None,
) -> list[str]:
    """Everything that keeps Start disabled, in words."""
    problems = invalid_entries(
        rows=rows, columns=spec.number_columns, label_column=spec.label_column
    )
    if not selected_ids(rows=rows, selected=selected):
        problems.insert(0, f"Select at least one {spec.shape.item_name}.")
    if form_error:
        problems.append(f"Window: {form_error}.")
    return problems


def config_data(
    spec: ConfigPageSpec,
    *,
    rows: Sequence[Mapping[str, Any]],
    selected: set[str],
    entries: Mapping[str, Any],
    name: str | None = None,
) -> dict[str, Any]:
    """The configuration as ``parse_config`` takes it, for the selected items only."""
    data: dict[str, Any] = {
        "analysis_type": spec.kind,
        spec.ids_key: selected_ids(rows=rows, selected=selected),
        **{
            column.config_key: selected_values(rows=rows, selected=selected, column=column)
            for column in spec.number_columns
            if column.config_key
        },
        **entries,
    }
    if name:
        data["name"] = name
    return data


# --------------------------------------------------------------------------- callback bodies


def validate_form(
    spec: ConfigPageSpec, rows: list[dict], selected_rows: Any, *values_and_context: Any
) -> tuple[Any, bool, str, bool, str]:
    """Problems listed and Start disabled while the form is invalid; the window in words; the
    custom window open with its preset; how many items are selected."""
    *values, context = values_and_context
    rows = rows or []
    selected = selection_ids(selected_rows)
    entries, error = form_entries(spec, values, context)
    problems = form_problems(spec, rows=rows, selected=selected, form_error=error)
    return (
        forms.validation_feedback(problems=problems, component_id=spec.id("problems")),
        bool(problems),
        "" if entries is None else spec.controls.describe(entries, context),
        values[0] == CUSTOM,
        f"{len(selected_ids(rows=rows, selected=selected))} of {len(rows)} {spec.noun}s selected",
    )


def filter_grid(spec: ConfigPageSpec, search: str | None, item_type: str | None) -> tuple:
    """The grid's quick filter (a patch of its options) and filter model."""
    text, model = forms.grid_filter(
        search=search, type_value=item_type, type_column=spec.type_column
    )
    options = Patch()
    options["quickFilterText"] = text
    return options, model


def apply_bulk(
    spec: ConfigPageSpec,
    _n: int,
    rows: list[dict],
    item_type: str | None,
    column_id: str | None,
    value: Any,
) -> tuple[Any, Component]:
    """(the new rows or ``no_update``, a one-line feedback) for the bulk setter."""
    column = next((c for c in spec.number_columns if c.column_id == column_id), None)
    if not item_type or column is None:
        message = f"Choose a {spec.noun} type and a field."
        return no_update, forms.bulk_feedback(message=message, applied=False)
    try:
        updated, changed = apply_bulk_value(
            rows=rows or [],
            type_column=spec.type_column,
            item_type=item_type,
            column=column,
            value=value,
        )
    except ValueError as error:
        return no_update, forms.bulk_feedback(message=f"Not applied: {error}.", applied=False)
    message = forms.bulk_applied_text(
        column=column, value=value, changed=changed, noun=spec.noun, item_type=item_type
    )
    return updated, forms.bulk_feedback(message=message, applied=True)


def save_config(
    spec: ConfigPageSpec,
    _n: int,
    name: str | None,
    rows: list[dict],
    selected_rows: Any,
    *values_and_context: Any,
) -> tuple[Any, Any]:
    """Keep the form under a name (or say why not) and list the saved names again."""
    *values, context = values_and_context
    selected = selection_ids(selected_rows)
    entries, error = form_entries(spec, values, context)
    problems = form_problems(spec, rows=rows or [], selected=selected, form_error=error)
    name = (name or "").strip()
    if not name:
        problems.insert(0, "Give the configuration a name.")
    if problems or entries is None:
        return forms.config_problem(title="Not saved", message=" ".join(problems)), no_update
    store = NamedConfigStore(get_settings().named_configs_dir)
    try:
        config = parse_config(
            config_data(spec, rows=rows, selected=selected, entries=entries, name=name)
        )
        store.save(name, config)
    except (ConfigError, ValueError, OSError) as error:
        return forms.config_problem(title="Not saved", message=str(error)), no_update
    return forms.config_saved(name=name), store.list(spec.kind)


def load_config(spec: ConfigPageSpec, _n: int, name: str | None, rows: list[dict]) -> tuple:
    """A saved configuration back into the form: rows, selection, the page's own controls,
    its name and a confirmation (or why nothing changed)."""
    unchanged = (no_update,) * (3 + len(spec.controls.FORM_FIELDS))
    if not name:
        return *unchanged, forms.config_problem(
            title="Nothing loaded", message="Choose a saved configuration first."
        )
    try:
        config = NamedConfigStore(get_settings().named_configs_dir).load(name)
    except (ConfigError, ValueError, OSError) as error:
        return *unchanged, forms.config_problem(title="Not loaded", message=str(error))
    if config.analysis_type != spec.kind:
        article = "an" if spec.kind[0] in "aeiou" else "a"
        return *unchanged, forms.config_problem(
            title="Not loaded", message=f"“{name}” is not {article} {spec.kind} configuration."
        )
    selected, unknown = selection_for_ids(rows=rows, ids=getattr(config, spec.ids_key))
    updated = rows_with_overrides(
        rows=rows,
        overrides={
            column.column_id: getattr(config, column.config_key)
            for column in spec.number_columns
            if column.config_key
        },
    )
    return (
        updated,
        {"ids": selected},
        *spec.controls.fill_form(config),
        name,
        forms.config_loaded(name=name, unknown_ids=unknown),
    )


class ProgressReporter(Protocol):
    def __call__(self, value: tuple[int, str], /) -> None: ...


def start_analysis(
    spec: ConfigPageSpec,
    set_progress: ProgressReporter,
    _n: int,
    rows: list[dict],
    selected_rows: Any,
    job_token: str,
    *values_and_context: Any,
) -> tuple[Any, Any]:
    """Runs in a background process: analyse, then go to the new dashboard (or say why not)."""
    *values, context = values_and_context
    entries, error = form_entries(spec, values, context)
    if entries is None:
        failure = forms.job_result(succeeded=False, kind=spec.kind, error=f"Window: {error}")
        return failure, no_update
    outcome = jobs.run_analysis_job(
        config_data(spec, rows=rows, selected=selection_ids(selected_rows), entries=entries),
        settings=get_settings(),
        set_progress=set_progress,
        job_token=job_token,
    )
    return job_outcome_outputs(outcome)


def job_outcome_outputs(outcome: jobs.JobOutcome) -> tuple[dbc.Alert, Any]:
    """The start callback's outputs: the outcome alert, and the new dashboard's URL for the
    page's redirect location (``no_update`` on failure, so the user stays on the form)."""
    alert = forms.job_result(
        succeeded=outcome.succeeded,
        kind=outcome.kind,
        report_name=outcome.report_name,
        aggregated_score=outcome.aggregated_score,
        seconds=outcome.seconds,
        error=outcome.error,
    )
    if not outcome.succeeded or outcome.report_name is None:
        return alert, no_update
    return alert, dashboard_href(kind=outcome.kind, report_name=outcome.report_name)


# --------------------------------------------------------------------------- registration

# The progress bar's (value, label) before the job's first report.
JOB_PROGRESS_START = (0, "Starting…")


def register_config_callbacks(spec: ConfigPageSpec) -> None:
    """The callbacks of a configuration page, registered once by its module at import; their
    bodies are the functions above, callable without a browser."""
    grid = spec.grid
    fields = [Input(spec.id(suffix), prop) for suffix, prop in spec.controls.FORM_FIELDS]
    field_states = [State(spec.id(suffix), prop) for suffix, prop in spec.controls.FORM_FIELDS]
    context = State(spec.id("context"), "data")

    # The grid edits its rows in place, so an edit changes no rowData Dash can see: each edit
    # is announced by cellValueChanged, and the rows are read with it.
    @callback(
        Output(spec.id("validation"), "children"),
        Output(spec.id("start"), "disabled"),
        Output(spec.id("window-summary"), "children"),
        Output(spec.id("custom-window"), "is_open"),
        Output(spec.id("selection-count"), "children"),
        Input(grid, "rowData"),
        Input(grid, "cellValueChanged"),
        Input(grid, "selectedRows"),
        *fields,
        context,
    )
    def validate(rows: list[dict], _edits: object, *arguments: Any) -> tuple:
        return validate_form(spec, rows, *arguments)

    callback(
        Output(grid, "dashGridOptions"),
        Output(grid, "filterModel"),
        Input(spec.id("search"), "value"),
        Input(spec.id("type-filter"), "value"),
    )(functools.partial(filter_grid, spec))
    # Select or clear the rows the filters show, in the browser (the grid knows which).
    clientside_callback(
        ClientsideFunction(namespace=GRID_NAMESPACE, function_name="changeShownSelection"),
        Output(grid, "selectedRows", allow_duplicate=True),
        Input(spec.id("select-shown"), "n_clicks"),
        Input(spec.id("clear-shown"), "n_clicks"),
        State(grid, "selectedRows"),
        State(grid, "id"),
        prevent_initial_call=True,
    )
    callback(
        Output(grid, "rowData", allow_duplicate=True),
        Output(spec.id("bulk-feedback"), "children"),
        Input(spec.id("bulk-apply"), "n_clicks"),
        State(grid, "rowData"),
        State(spec.id("bulk-type"), "value"),
        State(spec.id("bulk-field"), "value"),
        State(spec.id("bulk-value"), "value"),
        prevent_initial_call=True,
    )(functools.partial(apply_bulk, spec))
    callback(
        Output(spec.id("job-result"), "children", allow_duplicate=True),
        Input(spec.id("cancel"), "n_clicks"),
        prevent_initial_call=True,
    )(lambda _n: forms.job_cancelled())
    callback(
        Output(spec.id("config-feedback"), "children"),
        Output(spec.id("saved-configs"), "options"),
        Input(spec.id("save"), "n_clicks"),
        State(spec.id("config-name"), "value"),
        State(grid, "rowData"),
        State(grid, "selectedRows"),
        *field_states,
        context,
        prevent_initial_call=True,
    )(functools.partial(save_config, spec))
    callback(
        Output(grid, "rowData", allow_duplicate=True),
        Output(grid, "selectedRows", allow_duplicate=True),
        *(Output(spec.id(suffix), prop) for suffix, prop in spec.controls.FORM_FIELDS),
        Output(spec.id("config-name"), "value"),
        Output(spec.id("config-feedback"), "children", allow_duplicate=True),
        Input(spec.id("load"), "n_clicks"),
        State(spec.id("saved-configs"), "value"),
        State(grid, "rowData"),
        prevent_initial_call=True,
    )(functools.partial(load_config, spec))

    # A background callback is named by its function's source (Dash hashes it), so it is a
    # plain function here, not a partial.
    @callback(
        Output(spec.id("job-result"), "children"),
        Output(spec.id("redirect"), "href"),
        Input(spec.id("start"), "n_clicks"),
        State(grid, "rowData"),
        State(grid, "selectedRows"),
        State(spec.id("job-token"), "data"),
        *field_states,
        context,
        background=True,
        running=[
            # While a job runs: Start disabled, the progress panel and Cancel live, the
            # previous outcome hidden.
            (Output(spec.id("start"), "disabled"), True, False),
            (Output(spec.id("cancel"), "disabled"), False, True),
            (
                Output(spec.id("job-panel"), "className"),
                forms.JOB_PANEL_SHOWN,
                forms.JOB_PANEL_HIDDEN,
            ),
            (Output(spec.id("job-result"), "style"), {"display": "none"}, {}),
        ],
        progress=[Output(spec.id("progress"), "value"), Output(spec.id("progress"), "label")],
        progress_default=JOB_PROGRESS_START,
        cancel=[Input(spec.id("cancel"), "n_clicks")],
        interval=jobs.POLL_INTERVAL_MS,
        prevent_initial_call=True,
    )
    def run_job(set_progress: ProgressReporter, *arguments: Any) -> tuple[Any, Any]:
        return start_analysis(spec, set_progress, *arguments)
