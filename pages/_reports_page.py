"""The reports page factory: the two reports pages (/availability, /resilience) differ only by
their kind; this module registers them, lays them out and takes uploads."""

from __future__ import annotations

from collections.abc import Callable

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html, no_update
from dash.development.base_component import Component

from components.reports import (
    KIND_TITLES,
    decode_upload,
    reports_listing,
    upload_failed,
    upload_saved,
)
from components.reports import reports_page as reports_page_layout
from data_access.report_store import ReportStore, ReportStoreError
from metrics_dashboard.web.context import get_settings


def reports_layout(kind: str) -> html.Div:
    store = ReportStore(get_settings().output_dir)
    return reports_page_layout(kind=kind, listing=reports_listing_from(store=store, kind=kind))


def reports_listing_from(*, store: ReportStore, kind: str) -> Component:
    """The listing of ``store``'s reports of one kind (or why they cannot be listed)."""
    try:
        entries = store.list(kind)
    except ReportStoreError as error:  # OUTPUT_DIR missing or unreadable
        return reports_listing(kind=kind, error=str(error))
    return reports_listing(kind=kind, entries=entries)


def save_uploaded_report(
    *, store: ReportStore, page_kind: str, contents: str, filename: str | None
) -> tuple[dbc.Alert, Component | None]:
    """Keep an uploaded report through ``store``: (the alert to show, the new listing or None
    when the file was refused and the list is unchanged)."""
    alert_id = f"{page_kind}-upload-alert"
    try:
        name = store.save_upload(filename or "report.json", decode_upload(contents))
    except ValueError as error:  # ReportStoreError / ReportError: both say what is wrong
        return upload_failed(filename=filename, reason=str(error), component_id=alert_id), None
    saved_kind = next((entry.kind for entry in store.list() if entry.name == name), page_kind)
    alert = upload_saved(
        kind=saved_kind, report_name=name, page_kind=page_kind, component_id=alert_id
    )
    return alert, reports_listing_from(store=store, kind=page_kind)


def reports_page(module: str, kind: str) -> tuple[Callable[..., html.Div], Callable]:
    """Make the page module ``module`` the reports page of ``kind`` (``/<kind>``): register
    the page and its upload callback; (the page's ``layout``, the upload callback)."""
    title = KIND_TITLES[kind]
    dash.register_page(
        module, path=f"/{kind}", name=title, title=f"{title} reports · Metrics Dashboard"
    )

    def layout(**_query: str) -> html.Div:
        return reports_layout(kind)

    return layout, register_upload_callback(kind)


def register_upload_callback(kind: str) -> Callable[[str | None, str | None], tuple[object, ...]]:
    """The upload box of the ``kind`` reports page: validate and keep the file, or say why not."""

    @callback(
        Output(f"{kind}-upload-result", "children"),
        Output(f"{kind}-reports", "children"),
        # Cleared after each upload so that choosing the same file again is seen as a new upload.
        Output(f"{kind}-upload", "contents"),
        Input(f"{kind}-upload", "contents"),
        State(f"{kind}-upload", "filename"),
        prevent_initial_call=True,
    )
    def upload_report(contents: str | None, filename: str | None) -> tuple[object, object, object]:
        """Validate and keep an uploaded report; a refused file changes nothing else."""
        if not contents:
            return no_update, no_update, no_update
        store = ReportStore(get_settings().output_dir)
        alert, listing = save_uploaded_report(
            store=store, page_kind=kind, contents=contents, filename=filename
        )
        return alert, no_update if listing is None else listing, None

    return upload_report
