"""Downloads from both dashboards in Chromium: the JSON report arrives byte for byte as stored,
and the summary and timeline CSVs arrive equal to the report's exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from analytics.report import load_report, summary_csv, timeline_csv
from tests.components import availability_report, resilience_report, write_report

RENDER_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def reports(live_app) -> Iterator[dict[str, Path]]:
    """One report of each kind in the live app's OUTPUT_DIR (a name that a spreadsheet would
    run as a formula included)."""
    made = [
        availability_report(services=5, points=12, names={0: '=HYPERLINK("x")'}),
        resilience_report(targets=4, hours=10, names={0: "@SUM(1)"}),
    ]
    paths = [write_report(live_app.output_dir, report, second=30) for report in made]
    yield {report["analysis_type"]: path for report, path in zip(made, paths, strict=True)}
    for path in paths:
        path.unlink(missing_ok=True)


def download(page: Page, button_id: str) -> tuple[str, bytes]:
    with page.expect_download(timeout=RENDER_TIMEOUT_MS) as info:
        page.locator(f"#{button_id}").click()
    downloaded = info.value
    return downloaded.suggested_filename, Path(downloaded.path()).read_bytes()


@pytest.mark.parametrize("kind", ["availability", "resilience"])
def test_the_report_and_its_exports_download(page: Page, reports, kind: str) -> None:
    path = reports[kind]
    prefix = f"{kind}-dashboard"
    page.goto(f"/{kind}/dashboard?report={path.name}")
    expect(page.locator(f"#{prefix}-aggregated-value")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    stored = path.read_bytes()
    report = load_report(stored)

    name, content = download(page, f"{prefix}-download-json-button")
    assert (name, content) == (path.name, stored)

    name, content = download(page, f"{prefix}-download-summary-button")
    assert name == f"{path.stem}_summary.csv"
    assert content == summary_csv(report)
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert rows[0]["display_name"][0] not in "=@"  # a spreadsheet shows it, never runs it

    name, content = download(page, f"{prefix}-download-timeline-button")
    assert name == f"{path.stem}_timeline.csv"
    assert content == timeline_csv(report)
