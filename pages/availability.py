"""Availability reports: the list of reports in OUTPUT_DIR, upload, and the way to a new one."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, html, no_update

from components.reports import reports_listing_from, reports_page, save_uploaded_report
from data_access.report_store import ReportStore
from metrics_dashboard.context import get_settings

KIND = "availability"

dash.register_page(
    __name__, path=f"/{KIND}", name="Availability", title="Availability reports · Metrics Dashboard"
)


def layout(**_query: str) -> html.Div:
    store = ReportStore(get_settings().output_dir)
    return reports_page(kind=KIND, listing=reports_listing_from(store=store, kind=KIND))


@callback(
    Output(f"{KIND}-upload-result", "children"),
    Output(f"{KIND}-reports", "children"),
    # Cleared after each upload so that choosing the same file again is seen as a new upload.
    Output(f"{KIND}-upload", "contents"),
    Input(f"{KIND}-upload", "contents"),
    State(f"{KIND}-upload", "filename"),
    prevent_initial_call=True,
)
def upload_report(contents: str | None, filename: str | None) -> tuple[object, object, object]:
    """Validate and keep an uploaded report; a refused file changes nothing else."""
    if not contents:
        return no_update, no_update, no_update
    store = ReportStore(get_settings().output_dir)
    alert, listing = save_uploaded_report(
        store=store, page_kind=KIND, contents=contents, filename=filename
    )
    return alert, no_update if listing is None else listing, None
