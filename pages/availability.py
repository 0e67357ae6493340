"""Availability reports: the list of reports in OUTPUT_DIR (uploaded ones apart), upload, and the
way to a new one."""

from __future__ import annotations

from pages._reports_page import reports_page

layout, upload_report = reports_page(__name__, "availability")
