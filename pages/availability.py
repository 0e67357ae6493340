"""Availability reports: the list of reports in OUTPUT_DIR, upload, and the way to a new one."""

from __future__ import annotations

import dash
from dash import html

from pages._reports_page import register_upload_callback, reports_layout

KIND = "availability"

dash.register_page(
    __name__, path=f"/{KIND}", name="Availability", title="Availability reports · Metrics Dashboard"
)


def layout(**_query: str) -> html.Div:
    return reports_layout(KIND)


upload_report = register_upload_callback(KIND)
