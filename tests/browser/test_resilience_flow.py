"""Resilience, end to end in a browser: home -> reports -> configuration -> change a target RPO
and the weights -> Start -> progress -> the new dashboard, whose score is the written report's."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_availability_flow import (
    DATA_TIMEOUT_MS,
    edit_cell,
    read_report,
    start_and_land_on_dashboard,
    table_cell,
)


def test_resilience_flow(page: Page, live_app) -> None:
    page.goto("/")
    page.locator("#home-resilience-reports").click()
    expect(page).to_have_url(re.compile(r"/resilience$"))

    page.locator("#resilience-new-config").click()
    expect(page).to_have_url(re.compile(r"/resilience/config$"))
    rpo = table_cell(page, "resilience-config-table", "target_rpo_hours")
    expect(rpo).to_be_visible(timeout=DATA_TIMEOUT_MS)
    target_id = table_cell(page, "resilience-config-table", "target_id").inner_text().strip()
    start = page.locator("#resilience-config-start")
    expect(start).to_be_enabled()

    edit_cell(rpo, "200")
    expect(page.locator("#resilience-config-problems")).to_contain_text("allowed 1 to 168")
    expect(start).to_be_disabled()
    edit_cell(rpo, "12.5")
    expect(start).to_be_enabled()

    # One control for w_RPO; w_Success = 1 - w_RPO follows it.
    expect(page.locator("#resilience-config-w-success")).to_contain_text(
        "w_Success = 1 - w_RPO = 0.40"
    )
    page.locator("#resilience-config-w-rpo [role='slider']").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#resilience-config-w-success")).to_contain_text(
        "w_Success = 1 - w_RPO = 0.35"
    )
    expect(page.locator("#resilience-config-window-summary")).to_contain_text("(168 h)")

    name = start_and_land_on_dashboard(page, kind="resilience")

    report = read_report(live_app.output_dir, name)
    assert report["configuration"]["target_rpo_hours"][target_id] == 12.5
    assert report["configuration"]["weights"] == {"rpo": 0.65, "success": 0.35}
    assert report["window"]["hours"] == 168
    score = report["summary"]["aggregated_score"]
    expect(page.locator("#resilience-dashboard-aggregated-value")).to_have_text(
        f"{score:.1f}%", timeout=DATA_TIMEOUT_MS
    )
