"""The pieces of the two configuration pages: typed keyword-only factories (values in,
components out) for the item grid with inline validation, filters, the per-type bulk setter,
window controls, named configurations and the job panel.

Ids are built from the page's prefix (``availability-config``), so both pages use the same
factories; the rules they apply (allowed values, selection, bulk edits, UTC date and time) are
pure (analytics/config_form.py), and the page factory (pages/_config_page.py) wires the
callbacks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from analytics.config_form import NumberColumn, number_text, split_utc
from components.grids import data_grid
from components.layout import error_alert, icon, success_alert
from components.reports import dashboard_href, format_score, format_utc

ALL_TYPES = "__all__"
MAX_SHOWN_ROWS = 15
NOT_SEARCHED = {"function": "''"}  # a column the search box does not look in


def hidden_label(*, text: str, for_id: str) -> html.Label:
    """A label for screen readers only, for a control whose purpose the layout already shows."""
    return html.Label(text, htmlFor=for_id, className="visually-hidden")


# ---------------------------------------------------------------------------------------------
# The table of services / targets


def number_rules(*, column: NumberColumn) -> tuple[str, str]:
    """The grid's check of a number column, as an expression of dash-ag-grid's evaluator over
    ``numberProblem`` (assets/grids.js, the same rule as :meth:`NumberColumn.problem`): what is
    wrong with the cell's value, or null (the cell's title when it has one)."""
    arguments = ", ".join(
        [
            json.dumps(column.name),
            json.dumps(column.low),
            json.dumps(column.high),
            json.dumps(column.integer),
        ]
    )
    problem = f"numberProblem(params.value, {arguments})"
    return problem, f"{problem} !== null"


def item_grid(
    *,
    grid_id: str,
    rows: Sequence[Mapping[str, Any]],
    text_columns: Sequence[tuple[str, str]],
    number_columns: Sequence[NumberColumn],
    type_column: str,
    search_columns: Sequence[str],
    selected_ids: Sequence[str],
) -> dag.AgGrid:
    """Rows (each with a unique ``id``) with a checkbox each, read-only text columns and
    editable number columns.

    A value out of its column's range turns its cell red, and the cell's tooltip says why, as
    the grid checks every edit itself; the list under the form comes from the server. The
    search box filters ``search_columns`` (the grid's quick filter), the type filter
    ``type_column`` (a filter model); the header checkbox and the "shown" buttons act on the
    rows the filters show.
    """
    column_defs: list[dict[str, Any]] = [
        {
            "field": column_id,
            "headerName": name,
            **({} if column_id in search_columns else {"getQuickFilterText": NOT_SEARCHED}),
            **(
                {"filter": "agTextColumnFilter", "filterParams": {"caseSensitive": True}}
                if column_id == type_column
                else {}
            ),
        }
        for column_id, name in text_columns
    ]
    for column in number_columns:
        problem, invalid = number_rules(column=column)
        column_defs.append(
            {
                "field": column.column_id,
                "headerName": f"{column.name} ({column.range_text})",
                "editable": True,
                "type": "rightAligned",
                "width": 190,
                "valueParser": {"function": "numberOrText(params.newValue)"},
                "cellClass": "md-cell-editable",
                "cellClassRules": {"md-cell-invalid": invalid},
                "tooltipValueGetter": {"function": problem},
                "getQuickFilterText": NOT_SEARCHED,
            }
        )
    return data_grid(
        grid_id=grid_id,
        column_defs=column_defs,
        row_data=rows,
        rows=len(rows),
        max_rows=MAX_SHOWN_ROWS,
        class_name="md-item-grid",
        grid_options={
            "rowSelection": {
                "mode": "multiRow",
                "checkboxes": True,
                "headerCheckbox": True,
                "selectAll": "filtered",
                "enableClickSelection": False,
            },
            "suppressCellFocus": False,
            "stopEditingWhenCellsLoseFocus": True,
            # The reason of an invalid value as the cell's title: the browser's own tooltip.
            "enableBrowserTooltips": True,
        },
        sortable=True,
        columnSize="responsiveSizeToFit",
        selectedRows={"ids": list(selected_ids)},
    )


def grid_filter(
    *, search: str | None, type_value: str | None, type_column: str
) -> tuple[str, dict]:
    """The grid's quick-filter text and filter model for a search and one type (or all)."""
    model = {}
    if type_value and type_value != ALL_TYPES:
        model[type_column] = {"filterType": "text", "type": "equals", "filter": type_value}
    return (search or "").strip(), model


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


def bulk_feedback(*, message: str, applied: bool) -> html.Span:
    """The one line under the bulk setter: what was set, or why nothing was."""
    return html.Span(message, className="text-success-emphasis" if applied else "text-danger")


def bulk_applied_text(
    *, column: NumberColumn, value: Any, changed: int, noun: str, item_type: str
) -> str:
    return (
        f"{column.name} set to {number_text(column.coerce(value))} for {changed} {noun}(s) of "
        f"type {item_type}."
    )


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
                        step=1,  # seconds too: a saved window is shown as it was saved
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
