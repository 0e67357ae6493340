"""The reports lists: an existing report is listed and opens; uploads are validated; a
malformed file gives a clear error and breaks nothing; an unreadable file is listed as such."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from analytics.config import parse_config
from metrics_dashboard.runner import RunOutcome, run_analysis
from metrics_dashboard.settings import load_settings
from tests.browser.test_availability_flow import DATA_TIMEOUT_MS, report_name_from

UNREADABLE_NAME = "cumulative_availability_analysis_20000101_000000_0bad0bad.json"


@pytest.fixture(scope="module")
def existing_report(live_app) -> RunOutcome:
    """A report written into the live app's OUTPUT_DIR the way the CLI would."""
    settings = load_settings(
        {"data_source": "demo", "output_dir": live_app.output_dir, "cache_dir": live_app.cache_dir},
        environ={},
        env_file=None,
    )
    return run_analysis(parse_config({"analysis_type": "availability"}), settings=settings)


@pytest.fixture(scope="module")
def unreadable_file(live_app):
    """A corrupt file with a report's name, old enough never to be the latest report."""
    path = live_app.output_dir / UNREADABLE_NAME
    path.write_text("{ this is not json")
    os.utime(path, (946684800, 946684800))
    yield path
    path.unlink()


def rows(page: Page):
    """The rows of the availability reports grids (analysed and uploaded)."""
    return page.locator(".reports-table .ag-center-cols-container .ag-row")


def row_of(page: Page, name: str):
    return page.locator(f".reports-table .ag-center-cols-container [row-id='{name}']")


def test_an_existing_report_is_listed_and_opens(
    page: Page, live_app, existing_report: RunOutcome, unreadable_file
) -> None:
    page.goto("/availability")
    row = row_of(page, existing_report.report_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{existing_report.aggregated_score * 100:.1f}%")
    expect(row_of(page, UNREADABLE_NAME)).to_contain_text("Unreadable")
    expect(page.locator(f"[row-id='{UNREADABLE_NAME}'] a.report-open")).to_have_count(0)

    page.locator(
        f"#availability-reports-table [row-id='{existing_report.report_name}'] a.report-open"
    ).click()

    expect(page).to_have_url(re.compile(r"/availability/dashboard\?report="))
    assert report_name_from(page.url) == existing_report.report_name
    expect(page.locator("#availability-dashboard-aggregated-value")).to_have_text(
        f"{existing_report.aggregated_score * 100:.1f}%", timeout=DATA_TIMEOUT_MS
    )


def test_a_malformed_upload_is_refused_clearly_and_a_valid_one_is_kept(
    page: Page, live_app, existing_report: RunOutcome
) -> None:
    page.goto("/availability")
    expect(rows(page).first).to_be_visible()
    before = rows(page).count()
    upload = page.locator("#availability-upload input[type='file']")

    upload.set_input_files(
        files=[
            {
                "name": "broken.json",
                "mimeType": "application/json",
                "buffer": b'{"analysis_type": "availability", "services": ',
            }
        ]
    )
    alert = page.locator("#availability-upload-alert")
    expect(alert).to_contain_text("broken.json was not accepted")
    expect(alert).to_have_class(re.compile("alert-danger"))
    expect(rows(page)).to_have_count(before)

    # Nothing broke: the same box takes a valid report right after.
    upload.set_input_files(
        files=[
            {
                "name": "from-elsewhere.json",
                "mimeType": "application/json",
                "buffer": existing_report.report_path.read_bytes(),
            }
        ]
    )
    expect(alert).to_contain_text("Report uploaded")
    expect(rows(page)).to_have_count(before + 1)
    alert.get_by_role("link", name="Open its dashboard").click()
    expect(page).to_have_url(re.compile(r"/availability/dashboard\?report="))
    assert (live_app.output_dir / report_name_from(page.url)).is_file()
