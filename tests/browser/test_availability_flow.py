"""Availability, end to end in a browser: home -> reports -> configuration -> change a budget ->
Start -> progress -> the new dashboard, whose aggregated score is the written report's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from playwright.sync_api import Locator, Page, expect

# The first request that needs data generates the demo data set: allow for it.
DATA_TIMEOUT_MS = 90_000
JOB_TIMEOUT_MS = 120_000


def table_cell(page: Page, table_id: str, column: str, row: int = 0) -> Locator:
    """A data cell of an AG Grid (rows counted from 0 in the grid's order)."""
    return page.locator(f"#{table_id} .ag-row[row-index='{row}'] [col-id='{column}']")


def edit_cell(cell: Locator, value: str) -> None:
    """Type a new value into a grid cell (typing starts the edit) and commit it."""
    cell.click()
    cell.page.keyboard.type(value)
    cell.page.keyboard.press("Enter")


def watch_job_panel(page: Page, prefix: str) -> None:
    """Record what the progress panel shows while visible (it may be brief on small data)."""
    page.evaluate(
        """(prefix) => {
            window.__jobPanelSeen = [];
            const panel = document.getElementById(prefix + "-job-panel");
            const record = () => {
                if (!panel.classList.contains("d-none")) {
                    window.__jobPanelSeen.push(
                        document.getElementById(prefix + "-progress").innerText || "visible");
                }
            };
            new MutationObserver(record).observe(
                panel, {attributes: true, childList: true, subtree: true, characterData: true});
        }""",
        prefix,
    )


def job_panel_seen(page: Page) -> list[str]:
    return page.evaluate("window.__jobPanelSeen")


def report_name_from(url: str) -> str:
    return unquote(parse_qs(urlparse(url).query)["report"][0])


def read_report(output_dir: Path, name: str) -> dict:
    return json.loads((output_dir / name).read_text())


def start_and_land_on_dashboard(page: Page, *, kind: str) -> str:
    """Click Start on ``/<kind>/config``, check the progress panel showed, wait for the new
    dashboard, and return the report's name."""
    prefix = f"{kind}-config"
    watch_job_panel(page, prefix)
    page.locator(f"#{prefix}-start").click()
    expect(page).to_have_url(re.compile(rf"/{kind}/dashboard\?report="), timeout=JOB_TIMEOUT_MS)
    seen = job_panel_seen(page)
    assert seen, "the progress panel never showed"
    return report_name_from(page.url)


def test_availability_flow(page: Page, live_app) -> None:
    page.goto("/")
    expect(page.locator("#home-availability-card")).to_be_visible()
    page.locator("#home-availability-reports").click()
    expect(page).to_have_url(re.compile(r"/availability$"))

    reports_before = sorted(live_app.output_dir.glob("*.json"))
    page.locator("#availability-new-config").click()
    expect(page).to_have_url(re.compile(r"/availability/config$"))
    budget = table_cell(page, "availability-config-table", "error_budget")
    expect(budget).to_be_visible(timeout=DATA_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    assert sorted(live_app.output_dir.glob("*.json")) == reports_before, "a job started by itself"
    service_id = table_cell(page, "availability-config-table", "service_id").inner_text().strip()
    start = page.locator("#availability-config-start")
    expect(start).to_be_enabled()

    # An out-of-range budget turns its cell red, is listed and blocks Start...
    edit_cell(budget, "99")
    expect(budget).to_have_text("99")
    expect(budget).to_have_class(re.compile("md-cell-invalid"))
    expect(page.locator("#availability-config-problems")).to_contain_text("out of range")
    expect(start).to_be_disabled()
    # ...and the cell itself says why (its tooltip).
    expect(budget).to_have_attribute("title", "Error budget 99 is out of range (allowed 1 to 50)")
    # A valid one clears it.
    edit_cell(budget, "7")
    expect(budget).not_to_have_class(re.compile("md-cell-invalid"))
    expect(page.locator("#availability-config-problems")).to_have_count(0)
    expect(start).to_be_enabled()

    name = start_and_land_on_dashboard(page, kind="availability")

    report = read_report(live_app.output_dir, name)
    assert report["configuration"]["service_error_budgets"][service_id] == 7
    score = report["summary"]["aggregated_score"]
    expect(page.locator("#availability-dashboard-aggregated-value")).to_have_text(
        f"{score:.1f}%", timeout=DATA_TIMEOUT_MS
    )
