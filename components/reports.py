"""Report lists and uploads: the table of reports in OUTPUT_DIR, the upload box, and the
headline of one report as the home page shows it.

Everything here takes what ``data_access.report_store.ReportStore`` returned (``ReportEntry``
objects, duck-typed so that tests can pass plain stand-ins) and renders names as text.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from components.gauges import NO_VALUE_TEXT, percent_text
from components.grids import data_grid
from components.layout import error_alert, icon, page_header, success_alert
from components.status import status_badge, status_icon_class, status_key, status_label

KIND_TITLES: dict[str, str] = {"availability": "Availability", "resilience": "Resilience"}

# Largest report accepted from the browser (checked before decoding).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class ReportEntryLike(Protocol):
    """The fields of ``data_access.report_store.ReportEntry`` that the list shows."""

    name: str
    kind: str
    created: datetime | None
    window_start: Any
    window_end: Any
    aggregated_score: float | None
    status_counts: Mapping[str, int]
    error: str | None
    # ``uploaded: bool`` too, once the store records it (read with getattr until then).


def dashboard_href(*, kind: str, report_name: str | None = None) -> str:
    """The dashboard of one report (the latest one without a name)."""
    if not report_name:
        return f"/{kind}/dashboard"
    return f"/{kind}/dashboard?report={quote(report_name, safe='')}"


def format_utc(value: Any) -> str:
    """A timestamp as ``2026-01-08 14:00 UTC`` (naive values are taken as UTC)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_VALUE_TEXT
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(stamp):
        return NO_VALUE_TEXT
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def format_window(*, start: Any, end: Any) -> str:
    """A window as ``2026-01-07 00:00 → 2026-01-08 00:00 UTC``."""
    first, last = format_utc(start), format_utc(end)
    if first == NO_VALUE_TEXT and last == NO_VALUE_TEXT:
        return NO_VALUE_TEXT
    return f"{first.removesuffix(' UTC')} → {last}"


def format_score(value_percent: float | None) -> str:
    """An aggregated score in percent with one decimal, or a dash when there is none."""
    return percent_text(value_percent)


def unreadable_reason(error: str) -> str:
    """Why a report file cannot be read, without the store's own "unreadable:" prefix (the
    list already says so)."""
    return error.removeprefix("unreadable: ")


def status_counts(*, kind: str, counts: Mapping[str, int]) -> html.Div:
    """One badge per status with its count (statuses with a zero count are left out)."""
    badges = [
        status_badge(kind=kind, status=status, count=int(count))
        for status, count in counts.items()
        if count
    ]
    if not badges:
        return html.Div(NO_VALUE_TEXT, className="text-body-secondary")
    return html.Div(badges, className="d-flex flex-wrap gap-1 status-counts")


def badge_cells(*, kind: str, counts: Mapping[str, int]) -> list[dict[str, str]]:
    """The status badges of a grid cell as data (drawn by ``StatusBadges`` in
    assets/grids.js): their text and classes, the classes of known statuses only."""
    return [
        {
            "text": f"{status_label(status)} {int(count)}",
            "className": f"badge status-badge status-{kind} status-{status_key(status)}",
            "icon": status_icon_class(status=status),
        }
        for status, count in counts.items()
        if count
    ]


# Widths follow the content (the grid's autoSize), so nothing is cut; a narrow screen scrolls.
REPORT_COLUMNS = (
    {"field": "created", "headerName": "Created"},
    {
        "field": "window",
        "headerName": "Window",
        "cellClassRules": {"report-error": "params.data.unreadable"},
    },
    {
        "field": "score",
        "headerName": "Aggregated score",
        "type": "rightAligned",
        "cellClass": ["fw-semibold", "report-score"],
    },
    {"field": "statuses", "headerName": "Statuses", "cellRenderer": "StatusBadges"},
    {"field": "name", "headerName": "Report", "cellClass": "report-name"},
    {
        "field": "href",
        "headerName": "Actions",
        "cellRenderer": "OpenLink",
        "headerClass": "md-visually-hidden-header",
        "pinned": "right",  # always in view, however wide the rest
    },
)


def report_row(*, entry: ReportEntryLike, kind: str) -> dict[str, Any]:
    """One report as a grid row; a file that could not be read says why instead of its
    figures, and cannot be opened."""
    row: dict[str, Any] = {
        "id": entry.name,
        "name": entry.name,
        "created": format_utc(entry.created),
    }
    if entry.error:
        return {
            **row,
            "window": f"Unreadable — {unreadable_reason(entry.error)}",
            "score": "",
            "statuses": [],
            "href": None,
            "unreadable": True,
        }
    return {
        **row,
        "window": format_window(start=entry.window_start, end=entry.window_end),
        "score": format_score(entry.aggregated_score),
        "statuses": badge_cells(kind=kind, counts=entry.status_counts or {}),
        "href": dashboard_href(kind=kind, report_name=entry.name),
        "unreadable": False,
    }


def reports_table(
    *, entries: Sequence[ReportEntryLike], kind: str, table_id: str, empty_text: str | None = None
) -> Component:
    """The reports of one kind as a grid, in the order given (newest first), each with an Open
    link; a file that could not be read is listed with the reason instead of its figures."""
    if not entries:
        return html.Div(
            [
                html.P(
                    empty_text
                    or f"No {KIND_TITLES.get(kind, kind).lower()} report yet: start a new "
                    "configuration or upload a report file.",
                    className="text-body-secondary mb-0",
                )
            ],
            id=table_id,
            className="reports-empty border rounded-3 p-4 text-center",
        )
    return data_grid(
        grid_id=table_id,
        column_defs=REPORT_COLUMNS,
        row_data=[report_row(entry=entry, kind=kind) for entry in entries],
        rows=len(entries),
        max_rows=15,
        class_name="reports-table",
        rowClassRules={"report-row-unreadable": "params.data.unreadable"},
        columnSize="autoSize",
    )


def is_uploaded(entry: ReportEntryLike) -> bool:
    """Whether the report came in through an upload (such reports are listed apart)."""
    return bool(getattr(entry, "uploaded", False))


def upload_box(*, upload_id: str) -> dcc.Upload:
    """A drop zone for one report JSON file."""
    return dcc.Upload(
        html.Div(
            [
                icon(name="bi-cloud-arrow-up", class_name="me-2"),
                "Drag a report JSON here or ",
                html.Span("choose a file", className="link-primary text-decoration-underline"),
                html.Div(
                    f"JSON reports written by this app or the older tool, up to "
                    f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB",
                    className="small text-body-secondary mt-1",
                ),
            ]
        ),
        id=upload_id,
        accept=".json,application/json",
        multiple=False,
        className="upload-box border border-2 rounded-3 p-4 text-center",
    )


def decode_upload(contents: str) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL; ``ValueError`` with a clear message otherwise."""
    header, separator, payload = contents.partition(",")
    if not separator or ";base64" not in header:
        raise ValueError("the upload did not arrive as a file: try again")
    if len(payload) * 3 // 4 > MAX_UPLOAD_BYTES:
        raise ValueError(
            f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: not a report"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the uploaded file is corrupt (not valid base64)") from None


def upload_saved(*, kind: str, report_name: str, page_kind: str, component_id: str) -> dbc.Alert:
    """Confirmation of an accepted upload, with the way to its dashboard (and a word when the
    report belongs to the other module, so that it will not show in this page's list)."""
    message: list[Component | str] = [
        "Saved as ",
        html.Code(report_name),
        ". ",
        dcc.Link("Open its dashboard", href=dashboard_href(kind=kind, report_name=report_name)),
        ".",
    ]
    if kind != page_kind:
        message.append(
            f" It is a {KIND_TITLES.get(kind, kind).lower()} report: it is listed on the "
            f"{KIND_TITLES.get(kind, kind)} page."
        )
    return success_alert(title="Report uploaded", message=message, component_id=component_id)


def upload_failed(*, filename: str | None, reason: str, component_id: str) -> dbc.Alert:
    """Why an upload was refused; the list and the page stay as they were."""
    return error_alert(
        title=f"{filename or 'The file'} was not accepted",
        message=reason,
        component_id=component_id,
    )


def latest_report_summary(*, entry: ReportEntryLike | None, kind: str) -> Component:
    """The headline of the latest report: aggregated score, status counts and when."""
    if entry is None:
        return html.P(
            "No report yet. Configure and run a first analysis.",
            className="text-body-secondary latest-report-empty",
        )
    if entry.error:
        return html.P(
            [
                icon(name="bi-file-earmark-x"),
                f"The latest report cannot be read: {unreadable_reason(entry.error)}",
            ],
            className="text-danger",
        )
    return html.Div(
        [
            html.Div(
                [
                    html.Span(
                        format_score(entry.aggregated_score),
                        className="display-6 fw-semibold latest-report-score",
                        id=f"home-{kind}-score",
                    ),
                    html.Span("aggregated score", className="text-body-secondary ms-2"),
                ],
                className="mb-2",
            ),
            status_counts(kind=kind, counts=entry.status_counts or {}),
            html.Dl(
                [
                    html.Dt("Created", className="col-4 fw-normal text-body-secondary"),
                    html.Dd(format_utc(entry.created), className="col-8 mb-1"),
                    html.Dt("Window", className="col-4 fw-normal text-body-secondary"),
                    html.Dd(
                        format_window(start=entry.window_start, end=entry.window_end),
                        className="col-8 mb-0",
                    ),
                ],
                className="row small mt-3 mb-0",
            ),
        ],
        className="latest-report",
    )


def reports_listing(
    *, kind: str, entries: Sequence[ReportEntryLike] = (), error: str | None = None
) -> Component:
    """The reports grid, then the uploaded reports apart (opened only by choosing one: they
    never count as the latest report); or why the reports cannot be listed."""
    if error is not None:
        return error_alert(title="Reports cannot be listed", message=error)
    analysed = [entry for entry in entries if not is_uploaded(entry)]
    uploaded = [entry for entry in entries if is_uploaded(entry)]
    sections: list[Component] = [
        reports_table(
            entries=analysed,
            kind=kind,
            table_id=f"{kind}-reports-table",
            empty_text=(
                f"No {KIND_TITLES.get(kind, kind).lower()} analysis yet: start a new configuration."
                if uploaded
                else None
            ),
        )
    ]
    if uploaded:
        sections.append(
            html.Section(
                [
                    html.H2(
                        [icon(name="bi-cloud-arrow-up"), "Uploaded reports"],
                        className="h5 mt-4 mb-1",
                    ),
                    html.P(
                        "Files uploaded to this app, not analyses it ran: they are never the "
                        "latest report, and open only from here.",
                        className="small text-body-secondary mb-2",
                    ),
                    reports_table(
                        entries=uploaded, kind=kind, table_id=f"{kind}-uploaded-reports-table"
                    ),
                ],
                id=f"{kind}-uploaded-reports",
                className="uploaded-reports",
            )
        )
    return html.Div(sections)


def reports_page(*, kind: str, listing: Component) -> html.Div:
    """A module's reports page: header with the ways forward, upload box and the list.

    Ids start with the page name, which is the kind (``availability-upload``).
    """
    title = KIND_TITLES.get(kind, kind)
    return html.Div(
        [
            page_header(
                title=f"{title} reports",
                subtitle="Reports in the output directory, newest first. Open one, upload one, "
                "or configure a new analysis.",
                title_icon="bi-journal-text",
                actions=[
                    dbc.Button(
                        [icon(name="bi-sliders"), "New configuration"],
                        id=f"{kind}-new-config",
                        href=f"/{kind}/config",
                        color="primary",
                    ),
                    dbc.Button(
                        [icon(name="bi-speedometer"), "Latest dashboard"],
                        id=f"{kind}-latest-dashboard",
                        href=dashboard_href(kind=kind),
                        color="secondary",
                        outline=True,
                    ),
                ],
            ),
            upload_box(upload_id=f"{kind}-upload"),
            html.Div(id=f"{kind}-upload-result", className="mt-3"),
            html.Div(listing, id=f"{kind}-reports", className="mt-3"),
        ]
    )
