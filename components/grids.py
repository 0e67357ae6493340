"""AG Grid (dash-ag-grid) as every table of the app uses it.

One look for all grids: AG Grid's Quartz theme with Bootstrap's own colours and font (CSS
variables, so the grids follow the light/dark theme by themselves), fixed row heights, and a
height of at most ``max_rows`` rows, so that AG Grid's row virtualisation draws only the rows in
view (10,000 rows cost what 20 do). Function strings (``{"function": ...}``) are evaluated by
dash-ag-grid's own safe evaluator, never by ``eval``; the functions and cell renderers they name
are in assets/grids.js. Cell values are rendered as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag

from components.gauges import status_text_class
from components.status import status_colors

ROW_HEIGHT_PX = 38
HEADER_HEIGHT_PX = 42
SCROLLBAR_PX = 16  # room for a horizontal scrollbar under the last row
GRID_CLASS = "md-grid"

# Bootstrap's variables as AG Grid theme parameters: the grid is drawn with the page's colours
# in either theme, and no font is fetched from anywhere.
GRID_THEME = {
    "function": (
        "themeQuartz.withParams({"
        "backgroundColor: 'var(--bs-body-bg)', "
        "foregroundColor: 'var(--bs-body-color)', "
        "borderColor: 'var(--bs-border-color)', "
        "headerBackgroundColor: 'var(--bs-tertiary-bg)', "
        "accentColor: 'var(--bs-primary)', "
        "fontFamily: 'inherit', "
        "fontSize: 14, "
        "wrapperBorderRadius: 'var(--bs-border-radius)', "
        "browserColorScheme: 'inherit'"
        "})"
    )
}


def grid_height(*, rows: int, max_rows: int) -> str:
    """The height that shows ``rows`` rows, at most ``max_rows`` (then the grid scrolls)."""
    shown = min(max(rows, 1), max_rows)
    return f"{HEADER_HEIGHT_PX + shown * ROW_HEIGHT_PX + SCROLLBAR_PX + 4}px"


def status_column(*, field: str, header: str, kind: str, statuses: Sequence[str]) -> dict:
    """A column of status names drawn as the cards draw them (icon and colour of the ``kind``
    module, then the name); any other text shows as it is."""
    colors = status_colors(kind)
    return {
        "field": field,
        "headerName": header,
        "cellRenderer": "StatusText",
        "cellRendererParams": {
            "classes": {status: status_text_class(status) for status in statuses},
            "colors": {status: colors[status] for status in statuses},
        },
    }


def data_grid(
    *,
    grid_id: str,
    column_defs: Sequence[dict],
    row_data: Sequence[dict],
    rows: int,
    max_rows: int,
    class_name: str = "",
    sortable: bool = False,
    grid_options: dict[str, Any] | None = None,
    **props: Any,
) -> dag.AgGrid:
    """A grid of ``row_data`` (each row with a unique ``id``), sized for ``rows`` rows;
    ``grid_options`` are added to AG Grid's options and ``props`` to the component's."""
    return dag.AgGrid(
        id=grid_id,
        columnDefs=list(column_defs),
        rowData=list(row_data),
        getRowId="params.data.id",
        # cellDataType False: no type is guessed from the first row (a window such as
        # "2026-01-01 00:00 → ..." would be taken for a date, and other rows' text hidden).
        defaultColDef={
            "resizable": True,
            "sortable": sortable,
            "suppressMovable": True,
            "cellDataType": False,
        },
        dashGridOptions={
            "theme": GRID_THEME,
            "rowHeight": ROW_HEIGHT_PX,
            "headerHeight": HEADER_HEIGHT_PX,
            "suppressCellFocus": True,
            "enableCellTextSelection": True,
            # Few columns: all of a row's cells stay in the page (text search finds them);
            # the rows are what is virtualised.
            "suppressColumnVirtualisation": True,
            **(grid_options or {}),
        },
        className=f"{GRID_CLASS} {class_name}".strip(),
        style={"height": grid_height(rows=rows, max_rows=max_rows), "width": "100%"},
        **props,
    )
