"""The pieces of the two configuration pages: the item table with inline validation, filters,
the per-type bulk setter, window controls, save/load of named configurations and the job panel.

Ids are built from the page's prefix (``availability-config``), so both pages use the same
factories. The pure helpers (filters, validation, bulk edits, UTC date/time handling) are what
the pages' callbacks call, and are unit-tested without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html, no_update
from dash.development.base_component import Component

from components.layout import error_alert, icon, success_alert
from components.reports import dashboard_href, format_score, format_utc

ALL_TYPES = "__all__"
PAGE_SIZE = 15


@dataclass(frozen=True)
class NumberColumn:
    """An editable numeric column with its allowed range."""

    column_id: str
    name: str
    low: float
    high: float
    integer: bool = True

    @property
    def range_text(self) -> str:
        return f"{_number_text(self.low)} to {_number_text(self.high)}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed here, or None."""
        if value is None or value == "" or isinstance(value, bool):
            return f"{self.name} is empty (allowed {self.range_text})"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"{self.name} {value!r} is not a number (allowed {self.range_text})"
        if math.isnan(number) or not self.low <= number <= self.high:
            return f"{self.name} {_number_text(number)} is out of range (allowed {self.range_text})"
        if self.integer and not number.is_integer():
            return f"{self.name} {_number_text(number)} is not a whole number"
        return None

    def coerce(self, value: Any) -> int | float:
        """The value as the configuration wants it (call only on valid values)."""
        number = float(value)
        return int(number) if self.integer else number


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def hidden_label(*, text: str, for_id: str) -> html.Label:
    """A label for screen readers only, for a control whose purpose the layout already shows."""
    return html.Label(text, htmlFor=for_id, className="visually-hidden")


# ---------------------------------------------------------------------------------------------
# The table of services / targets


def item_table(
    *,
    table_id: str,
    rows: Sequence[Mapping[str, Any]],
    text_columns: Sequence[tuple[str, str]],
    number_columns: Sequence[NumberColumn],
    selected_rows: Sequence[int],
) -> dash_table.DataTable:
    """Rows with a checkbox each, read-only text columns and editable number columns.

    Out-of-range numbers are highlighted by the table itself (``style_data_conditional``), so
    the highlight follows every edit without a callback; the message listing them comes from
    :func:`invalid_entries`. Filtering is driven by ``filter_query`` (see :func:`filter_query`);
    the built-in filter row is hidden so that there is one way to filter.
    """
    columns = [
        {"id": column_id, "name": name, "editable": False} for column_id, name in text_columns
    ]
    columns += [
        {
            "id": column.column_id,
            "name": f"{column.name} ({column.range_text})",
            "type": "numeric",
            "editable": True,
            "on_change": {"action": "coerce", "failure": "accept"},
        }
        for column in number_columns
    ]
    return dash_table.DataTable(
        id=table_id,
        data=[dict(row) for row in rows],
        columns=columns,
        row_selectable="multi",
        selected_rows=list(selected_rows),
        filter_action="native",
        filter_query="",
        sort_action="native",
        page_action="native",
        page_size=PAGE_SIZE,
        style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_cell={
            "backgroundColor": "var(--bs-body-bg)",
            "color": "var(--bs-body-color)",
            "border": "0",
            "borderBottom": "1px solid var(--bs-border-color)",
            "fontFamily": "var(--bs-body-font-family)",
            "fontSize": "0.9rem",
            "padding": "0.4rem 0.6rem",
            "textAlign": "left",
        },
        style_header={
            "backgroundColor": "var(--bs-tertiary-bg)",
            "fontWeight": "600",
            "whiteSpace": "normal",
        },
        style_cell_conditional=[
            {"if": {"column_id": column.column_id}, "width": "9rem", "textAlign": "right"}
            for column in number_columns
        ],
        style_data_conditional=[
            {
                "if": {"column_id": column.column_id},
                "backgroundColor": "var(--bs-secondary-bg)",
                "cursor": "text",
            }
            for column in number_columns
        ]
        + [
            {
                "if": {
                    "filter_query": (
                        f"{{{column.column_id}}} < {column.low} || "
                        f"{{{column.column_id}}} > {column.high} || "
                        f"{{{column.column_id}}} is blank || {{{column.column_id}}} is str"
                    ),
                    "column_id": column.column_id,
                },
                "backgroundColor": "var(--bs-danger-bg-subtle)",
                "color": "var(--bs-danger-text-emphasis)",
                "fontWeight": "700",
            }
            for column in number_columns
        ],
        css=[{"selector": "tr:has(> th.dash-filter)", "rule": "display: none"}],
    )


def filter_query(
    *, search: str | None, type_value: str | None, name_columns: Sequence[str], type_column: str
) -> str:
    """The DataTable query for a free-text search over ``name_columns`` and one type."""
    clauses = []
    term = (search or "").strip()
    if term:
        quoted = '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'
        clauses.append(
            "(" + " || ".join(f"{{{column}}} icontains {quoted}" for column in name_columns) + ")"
        )
    if type_value and type_value != ALL_TYPES:
        quoted_type = '"' + type_value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        clauses.append(f"{{{type_column}}} = {quoted_type}")
    return " && ".join(clauses)


def type_options(types: Sequence[str], *, all_label: str) -> list[dict[str, str]]:
    """Dropdown options: every type, after an "all" entry."""
    return [{"label": all_label, "value": ALL_TYPES}] + [
        {"label": item_type, "value": item_type} for item_type in types
    ]


def table_filters(
    *, prefix: str, types: Sequence[str], type_label: str, search_placeholder: str
) -> dbc.Row:
    """Search box and type filter above the table, plus select-shown / clear-shown buttons."""
    return dbc.Row(
        [
            dbc.Col(
                [
                    hidden_label(text=search_placeholder, for_id=f"{prefix}-search"),
                    dbc.InputGroup(
                        [
                            dbc.InputGroupText(icon(name="bi-search", class_name="")),
                            dbc.Input(
                                id=f"{prefix}-search",
                                type="search",
                                placeholder=search_placeholder,
                                debounce=0.3,
                            ),
                        ]
                    ),
                ],
                md=5,
            ),
            dbc.Col(
                dcc.Dropdown(
                    id=f"{prefix}-type-filter",
                    options=type_options(types, all_label=f"All {type_label}s"),
                    value=ALL_TYPES,
                    clearable=False,
                    searchable=False,
                ),
                md=3,
            ),
            dbc.Col(
                html.Div(
                    [
                        dbc.Button(
                            "Select shown",
                            id=f"{prefix}-select-shown",
                            size="sm",
                            color="secondary",
                            outline=True,
                            n_clicks=0,
                        ),
                        dbc.Button(
                            "Clear shown",
                            id=f"{prefix}-clear-shown",
                            size="sm",
                            color="secondary",
                            outline=True,
                            n_clicks=0,
                        ),
                    ],
                    className="d-flex gap-2 justify-content-md-end",
                ),
                md=4,
            ),
        ],
        class_name="g-2 mb-2 align-items-center",
    )


def select_shown(*, selected: Sequence[int] | None, shown: Sequence[int] | None) -> list[int]:
    """The selection plus every row the filter shows (in table order)."""
    return sorted(set(selected or ()) | set(shown or ()))


def clear_shown(*, selected: Sequence[int] | None, shown: Sequence[int] | None) -> list[int]:
    """The selection minus the rows the filter shows."""
    return sorted(set(selected or ()) - set(shown or ()))


def invalid_entries(
    *, rows: Sequence[Mapping[str, Any]], columns: Sequence[NumberColumn], label_column: str
) -> list[str]:
    """One line per invalid cell: ``Main database: Error budget 60 is out of range (...)``."""
    problems = []
    for row in rows:
        for column in columns:
            problem = column.problem(row.get(column.column_id))
            if problem:
                problems.append(f"{row.get(label_column)}: {problem}")
    return problems


def selected_ids(
    *, rows: Sequence[Mapping[str, Any]], selected_rows: Sequence[int] | None, id_column: str
) -> list[str]:
    """The ids of the selected rows, in table order."""
    chosen = set(selected_rows or ())
    return [str(row[id_column]) for index, row in enumerate(rows) if index in chosen]


def selected_values(
    *,
    rows: Sequence[Mapping[str, Any]],
    selected_rows: Sequence[int] | None,
    id_column: str,
    column: NumberColumn,
) -> dict[str, int | float]:
    """``{id: value}`` of one column over the selected rows (values must be valid)."""
    chosen = set(selected_rows or ())
    return {
        str(row[id_column]): column.coerce(row[column.column_id])
        for index, row in enumerate(rows)
        if index in chosen
    }


def rows_with_overrides(
    *,
    rows: Sequence[Mapping[str, Any]],
    id_column: str,
    overrides: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Rows with saved values put back: ``overrides`` maps a column to ``{id: value}``."""
    updated = []
    for row in rows:
        new_row = dict(row)
        for column_id, values in overrides.items():
            if row[id_column] in values:
                new_row[column_id] = values[row[id_column]]
        updated.append(new_row)
    return updated


def selection_for_ids(
    *, rows: Sequence[Mapping[str, Any]], id_column: str, ids: Sequence[str] | None
) -> tuple[list[int], list[str]]:
    """Row indices to select for ``ids`` (all rows for None) and the ids no row has."""
    if ids is None:
        return list(range(len(rows))), []
    index_of = {row[id_column]: index for index, row in enumerate(rows)}
    wanted = list(dict.fromkeys(ids))
    return sorted(index_of[i] for i in wanted if i in index_of), [
        i for i in wanted if i not in index_of
    ]


def validation_feedback(*, problems: Sequence[str], component_id: str) -> Component | None:
    """The list of problems that keep Start disabled (nothing when there is none)."""
    if not problems:
        return None
    shown = list(problems[:10])
    if len(problems) > len(shown):
        shown.append(f"… and {len(problems) - len(shown)} more")
    return dbc.Alert(
        [
            html.Div([icon(name="bi-exclamation-triangle-fill"), html.Strong("Fix these first")]),
            html.Ul([html.Li(line) for line in shown], className="mb-0"),
        ],
        id=component_id,
        color="warning",
        class_name="app-alert",
    )


def bulk_setter(
    *, prefix: str, types: Sequence[str], type_label: str, columns: Sequence[NumberColumn]
) -> dbc.Card:
    """ "Set <field> to <value> for every <type>": one control for all items of a type."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(f"Set a value for every {type_label} of a type", className="h6"),
                dbc.Row(
                    [
                        dbc.Col(
                            dcc.Dropdown(
                                id=f"{prefix}-bulk-type",
                                options=[
                                    {"label": item_type, "value": item_type} for item_type in types
                                ],
                                placeholder=f"{type_label.capitalize()} type",
                                clearable=False,
                            ),
                            md=4,
                        ),
                        dbc.Col(
                            dcc.Dropdown(
                                id=f"{prefix}-bulk-field",
                                options=[
                                    {
                                        "label": f"{column.name} ({column.range_text})",
                                        "value": column.column_id,
                                    }
                                    for column in columns
                                ],
                                value=columns[0].column_id,
                                clearable=False,
                            ),
                            md=4,
                        ),
                        dbc.Col(
                            [
                                hidden_label(
                                    text="Value for every item of the type",
                                    for_id=f"{prefix}-bulk-value",
                                ),
                                dbc.Input(
                                    id=f"{prefix}-bulk-value", type="number", placeholder="Value"
                                ),
                            ],
                            md=2,
                        ),
                        dbc.Col(
                            dbc.Button(
                                "Apply",
                                id=f"{prefix}-bulk-apply",
                                color="secondary",
                                n_clicks=0,
                                class_name="w-100",
                            ),
                            md=2,
                        ),
                    ],
                    class_name="g-2",
                ),
                html.Div(id=f"{prefix}-bulk-feedback", className="small mt-2"),
            ]
        ),
        class_name="mb-3",
    )


def bulk_update(
    *,
    rows: Sequence[Mapping[str, Any]],
    type_column: str,
    item_type: str | None,
    columns: Sequence[NumberColumn],
    column_id: str,
    value: Any,
    noun: str,
) -> tuple[Any, Component]:
    """(the new table data or ``no_update``, a one-line feedback) for the bulk setter."""
    column = next((candidate for candidate in columns if candidate.column_id == column_id), None)
    if not item_type or column is None:
        return no_update, html.Span(f"Choose a {noun} type and a field.", className="text-danger")
    try:
        updated, changed = apply_bulk_value(
            rows=rows, type_column=type_column, item_type=item_type, column=column, value=value
        )
    except ValueError as error:
        return no_update, html.Span(f"Not applied: {error}.", className="text-danger")
    return updated, html.Span(
        f"{column.name} set to {_number_text(column.coerce(value))} for {changed} {noun}(s) of "
        f"type {item_type}.",
        className="text-success-emphasis",
    )


def apply_bulk_value(
    *,
    rows: Sequence[Mapping[str, Any]],
    type_column: str,
    item_type: str,
    column: NumberColumn,
    value: Any,
) -> tuple[list[dict[str, Any]], int]:
    """Rows with ``column`` set to ``value`` for every row of ``item_type``, and how many
    changed. ``ValueError`` (with the reason) when the value is not allowed."""
    problem = column.problem(value)
    if problem:
        raise ValueError(problem)
    coerced = column.coerce(value)
    updated, changed = [], 0
    for row in rows:
        new_row = dict(row)
        if row.get(type_column) == item_type:
            new_row[column.column_id] = coerced
            changed += 1
        updated.append(new_row)
    return updated, changed


# ---------------------------------------------------------------------------------------------
# Windows (all in UTC)


def split_utc(value: Any) -> tuple[str | None, str | None]:
    """A timestamp as the (date, time) pair of the date picker and time input, in UTC."""
    if value is None:
        return None, None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d"), stamp.strftime("%H:%M")


def combine_utc(date_value: str | None, time_value: str | None) -> datetime:
    """The UTC instant of a date picker value and a ``HH:MM`` time (midnight when empty).

    ``ValueError`` with a message when the date is missing or either part is malformed.
    """
    if not date_value:
        raise ValueError("choose a date")
    try:
        day = datetime.strptime(str(date_value)[:10], "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{date_value!r} is not a date (YYYY-MM-DD)") from None
    hours, minutes = 0, 0
    if time_value:
        try:
            parsed = datetime.strptime(str(time_value)[:5], "%H:%M")
        except ValueError:
            raise ValueError(f"{time_value!r} is not a time (HH:MM)") from None
        hours, minutes = parsed.hour, parsed.minute
    return day.replace(hour=hours, minute=minutes, tzinfo=UTC)


def datetime_inputs(*, prefix: str, which: str, label: str, value: Any) -> html.Div:
    """A labelled UTC date picker and time input (ids ``<prefix>-<which>-date`` / ``-time``)."""
    day, clock = split_utc(value)
    return html.Div(
        [
            dbc.Label(label, html_for=f"{prefix}-{which}-date", class_name="mb-1"),
            html.Div(
                [
                    dcc.DatePickerSingle(
                        id=f"{prefix}-{which}-date",
                        date=day,
                        display_format="YYYY-MM-DD",
                        first_day_of_week=1,
                    ),
                    hidden_label(text=f"{label} time (UTC)", for_id=f"{prefix}-{which}-time"),
                    dbc.Input(
                        id=f"{prefix}-{which}-time",
                        type="time",
                        value=clock,
                        class_name="datetime-time",
                    ),
                    html.Span("UTC", className="text-body-secondary"),
                ],
                className="d-flex flex-wrap align-items-center gap-2",
            ),
        ],
        className="mb-2",
    )


def window_choice(
    *, prefix: str, options: Sequence[tuple[str, str]], value: str, custom: Sequence[Component]
) -> html.Div:
    """Preset radio buttons, the resolved window in words, and the custom inputs (shown only
    with the ``custom`` preset)."""
    return html.Div(
        [
            dbc.RadioItems(
                id=f"{prefix}-window-preset",
                options=[{"label": label, "value": key} for key, label in options],
                value=value,
                class_name="mb-2",
            ),
            dbc.Collapse(
                html.Div(list(custom), className="ps-2"),
                id=f"{prefix}-custom-window",
                is_open=value == "custom",
            ),
            html.Div(id=f"{prefix}-window-summary", className="small text-body-secondary"),
        ]
    )


def success_weight_text(weights: Mapping[str, float]) -> str:
    """The two resilience weights in words (w_Success always shown as 1 - w_RPO)."""
    return f"w_RPO = {weights['rpo']:.2f}   ·   w_Success = 1 - w_RPO = {weights['success']:.2f}"


def weights_control(*, prefix: str, w_rpo: float) -> html.Div:
    """One slider for w_RPO; w_Success = 1 - w_RPO is shown beside it (``<prefix>-w-success``,
    kept up to date by the page)."""
    return html.Div(
        [
            dbc.Label("Weight of RPO compliance (w_RPO)", html_for=f"{prefix}-w-rpo"),
            dcc.Slider(
                id=f"{prefix}-w-rpo",
                min=0,
                max=1,
                step=0.05,
                value=w_rpo,
                marks={0: "0", 0.25: "0.25", 0.5: "0.5", 0.75: "0.75", 1: "1"},
                tooltip={"placement": "bottom", "always_visible": False},
            ),
            html.Div(
                success_weight_text({"rpo": w_rpo, "success": round(1.0 - w_rpo, 4)}),
                id=f"{prefix}-w-success",
                className="small fw-semibold mt-2",
            ),
            html.Div(
                "Score = w_RPO * RPO compliance + w_Success * success rate.",
                className="small text-body-secondary",
            ),
        ]
    )


# ---------------------------------------------------------------------------------------------
# Named configurations


def named_config_controls(*, prefix: str, names: Sequence[str]) -> dbc.Card:
    """Save the form under a name; load a saved configuration back into the form."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3("Named configurations", className="h6"),
                hidden_label(text="Configuration name", for_id=f"{prefix}-config-name"),
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=f"{prefix}-config-name",
                            placeholder="Name, e.g. weekly-core",
                            maxLength=64,
                        ),
                        dbc.Button(
                            [icon(name="bi-save"), "Save"],
                            id=f"{prefix}-save",
                            color="secondary",
                            n_clicks=0,
                        ),
                    ],
                    class_name="mb-2",
                ),
                dbc.InputGroup(
                    [
                        html.Div(
                            dcc.Dropdown(
                                id=f"{prefix}-saved-configs",
                                options=list(names),
                                placeholder="Saved configurations",
                            ),
                            className="flex-grow-1",
                        ),
                        dbc.Button(
                            [icon(name="bi-folder2-open"), "Load"],
                            id=f"{prefix}-load",
                            color="secondary",
                            n_clicks=0,
                        ),
                    ],
                    class_name="flex-nowrap",
                ),
                html.Div(id=f"{prefix}-config-feedback", className="mt-2"),
            ]
        ),
        class_name="mb-3",
    )


def config_saved(*, name: str) -> dbc.Alert:
    return success_alert(title="Configuration saved", message=f"Saved as “{name}”.")


def config_loaded(*, name: str, unknown_ids: Sequence[str] = ()) -> dbc.Alert:
    """Confirmation of a load; ids the data source no longer has are named, not silently lost."""
    message = f"“{name}” is in the form. Review it and press Start."
    if unknown_ids:
        message += f" Not in the data any more, so left out: {', '.join(unknown_ids)}."
    return success_alert(title="Configuration loaded", message=message)


def config_problem(*, title: str, message: str) -> dbc.Alert:
    return error_alert(title=title, message=message)


# ---------------------------------------------------------------------------------------------
# Start, progress, cancel and the outcome


JOB_PANEL_SHOWN = "job-panel mt-3"
JOB_PANEL_HIDDEN = "job-panel d-none mt-3"


def job_controls(*, prefix: str, start_label: str) -> html.Div:
    """Start button, the progress panel (stage and percent, Cancel) and the outcome area.

    The panel is shown by the background callback's ``running`` state only while a job runs.
    """
    return html.Div(
        [
            dbc.Button(
                [icon(name="bi-play-fill"), start_label],
                id=f"{prefix}-start",
                color="primary",
                size="lg",
                n_clicks=0,
                disabled=True,
            ),
            html.Div(
                [
                    html.Div("Analysis running", className="small fw-semibold mb-1"),
                    dbc.Progress(
                        id=f"{prefix}-progress",
                        value=0,
                        label="Starting…",
                        striped=True,
                        animated=True,
                        style={"height": "1.6rem"},
                        class_name="mb-2",
                    ),
                    dbc.Button(
                        [icon(name="bi-x-circle"), "Cancel"],
                        id=f"{prefix}-cancel",
                        color="danger",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                        disabled=True,
                    ),
                ],
                id=f"{prefix}-job-panel",
                className=JOB_PANEL_HIDDEN,
                role="status",
                **{"aria-live": "polite"},
            ),
            html.Div(id=f"{prefix}-job-result", className="mt-3"),
            # Where a finished job sends the browser. It lives in the page, not in the shell:
            # a callback whose output is already in the layout would run as soon as the page's
            # inputs appear, prevent_initial_call or not (Dash's rule), i.e. start a job.
            dcc.Location(id=f"{prefix}-redirect", refresh="callback-nav"),
        ],
        className="job-controls",
    )


# The progress bar's (value, label) before the job's first report.
JOB_PROGRESS_START = (0, "Starting…")


def job_running_states(*, prefix: str) -> list[tuple[Output, Any, Any]]:
    """The background callback's ``running`` list: while a job runs, Start is disabled, the
    progress panel and Cancel are live, and the previous outcome is hidden."""
    return [
        (Output(f"{prefix}-start", "disabled"), True, False),
        (Output(f"{prefix}-cancel", "disabled"), False, True),
        (Output(f"{prefix}-job-panel", "className"), JOB_PANEL_SHOWN, JOB_PANEL_HIDDEN),
        (Output(f"{prefix}-job-result", "style"), {"display": "none"}, {}),
    ]


def job_progress_outputs(*, prefix: str) -> list[Output]:
    """Where ``set_progress((percent, label))`` goes."""
    return [Output(f"{prefix}-progress", "value"), Output(f"{prefix}-progress", "label")]


class JobOutcomeLike(Protocol):
    """What :func:`job_outcome_outputs` reads of ``metrics_dashboard.web.jobs.JobOutcome``."""

    kind: str
    report_name: str | None
    aggregated_score: float | None
    seconds: float | None
    error: str | None

    @property
    def succeeded(self) -> bool: ...


def job_outcome_outputs(outcome: JobOutcomeLike) -> tuple[dbc.Alert, Any]:
    """The start callback's outputs: the outcome alert, and the new dashboard's URL for the
    page's redirect location (``no_update`` on failure, so the user stays on the form)."""
    alert = job_result(
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


def job_result(
    *,
    succeeded: bool,
    kind: str,
    report_name: str | None = None,
    aggregated_score: float | None = None,
    seconds: float | None = None,
    error: str | None = None,
) -> dbc.Alert:
    """What a finished job produced: a link to the new dashboard, or why it failed."""
    if not succeeded or report_name is None:
        return error_alert(title="The analysis did not complete", message=error or "unknown error")
    return success_alert(
        title="Analysis complete",
        message=[
            f"Aggregated score {format_score(aggregated_score)}"
            + (f", in {seconds:.1f} s. " if seconds is not None else ". "),
            dcc.Link(
                [icon(name="bi-speedometer"), "Open the dashboard"],
                href=dashboard_href(kind=kind, report_name=report_name),
                id=f"{kind}-config-result-link",
            ),
        ],
    )


def job_cancelled() -> dbc.Alert:
    return dbc.Alert(
        [icon(name="bi-x-circle"), "Analysis cancelled: no report was written."],
        color="secondary",
        class_name="app-alert",
    )


def window_text(*, start: Any, end: Any) -> str:
    """A resolved window for the summary line."""
    return f"{format_utc(start)} → {format_utc(end)}"


# ---------------------------------------------------------------------------------------------
# Callbacks both configuration pages share


def register_table_callbacks(
    *,
    prefix: str,
    id_column: str,
    label_column: str,
    type_column: str,
    columns: Sequence[NumberColumn],
    noun: str,
) -> None:
    """Register the callbacks that work the same on both configuration pages: search and type
    filter, select/clear the shown rows, the per-type bulk setter and the "cancelled" note.

    Called once by each page module at import; the callbacks stay thin over the pure helpers
    above.
    """
    table = f"{prefix}-table"

    @callback(
        Output(table, "filter_query"),
        Input(f"{prefix}-search", "value"),
        Input(f"{prefix}-type-filter", "value"),
    )
    def filter_table(search: str | None, item_type: str | None) -> str:
        return filter_query(
            search=search,
            type_value=item_type,
            name_columns=(label_column, id_column),
            type_column=type_column,
        )

    @callback(
        Output(table, "selected_rows", allow_duplicate=True),
        Input(f"{prefix}-select-shown", "n_clicks"),
        Input(f"{prefix}-clear-shown", "n_clicks"),
        State(table, "selected_rows"),
        State(table, "derived_virtual_indices"),
        prevent_initial_call=True,
    )
    def change_selection(
        _select: int, _clear: int, selected: list[int] | None, shown: list[int] | None
    ) -> list[int]:
        if ctx.triggered_id == f"{prefix}-select-shown":
            return select_shown(selected=selected, shown=shown)
        return clear_shown(selected=selected, shown=shown)

    @callback(
        Output(table, "data", allow_duplicate=True),
        Output(f"{prefix}-bulk-feedback", "children"),
        Input(f"{prefix}-bulk-apply", "n_clicks"),
        State(table, "data"),
        State(f"{prefix}-bulk-type", "value"),
        State(f"{prefix}-bulk-field", "value"),
        State(f"{prefix}-bulk-value", "value"),
        prevent_initial_call=True,
    )
    def apply_bulk(
        _n: int, rows: list[dict[str, Any]], item_type: str | None, field: str, value: Any
    ) -> tuple[Any, Component]:
        return bulk_update(
            rows=rows,
            type_column=type_column,
            item_type=item_type,
            columns=columns,
            column_id=field,
            value=value,
            noun=noun,
        )

    @callback(
        Output(f"{prefix}-job-result", "children", allow_duplicate=True),
        Input(f"{prefix}-cancel", "n_clicks"),
        prevent_initial_call=True,
    )
    def show_cancelled(_n: int) -> dbc.Alert:
        return job_cancelled()
