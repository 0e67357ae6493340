"""Both dashboards in Chromium: they render a report's figures with no console error, names
from the data show as literal text, cards open their drill-down, filters hide cards, figures
follow the theme, and a bad report name gives a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from components.gauges import percent_text
from tests.chromium import wait_for_js
from tests.components import availability_report, resilience_report, write_report

XSS_NAME = "<script>alert(1)</script>"
HTML_NAME = '<img src=x onerror="alert(2)"><b>bold</b>'
RENDER_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def reports(live_app) -> Iterator[dict[str, tuple[str, dict]]]:
    """An availability and a resilience report whose names include markup, written into the
    live app's OUTPUT_DIR (and removed afterwards)."""
    made = {
        "availability": availability_report(
            services=12, points=48, no_data=[11], names={1: XSS_NAME, 2: HTML_NAME}
        ),
        "resilience": resilience_report(targets=8, hours=36, names={1: XSS_NAME, 2: HTML_NAME}),
    }
    paths = {
        kind: write_report(live_app.output_dir, report, second=10) for kind, report in made.items()
    }
    yield {kind: (paths[kind].name, made[kind]) for kind in made}
    for path in paths.values():
        path.unlink(missing_ok=True)


def table_rows(page: Page, prefix: str):
    """The rows of a dashboard's grid of final figures, in grid order."""
    return page.locator(f"#{prefix}-table .ag-center-cols-container .ag-row")


def open_dashboard(page: Page, kind: str, name: str) -> None:
    page.goto(f"/{kind}/dashboard?report={name}")
    expect(page.locator(f"#{kind}-dashboard-cards .md-card").first).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )


def entries(report: dict) -> list[dict]:
    return list((report.get("services") or report["targets"]).values())


@pytest.mark.parametrize("kind", ["availability", "resilience"])
def test_the_dashboard_shows_the_reports_figures(page: Page, reports, kind: str) -> None:
    name, report = reports[kind]
    open_dashboard(page, kind, name)
    prefix = f"{kind}-dashboard"
    expect(page.locator(f"#{prefix}-aggregated-value")).to_have_text(
        percent_text(report["summary"]["aggregated_score"])
    )
    by_status = (
        report["summary"].get("services_by_status") or report["summary"]["targets_by_status"]
    )
    for status, count in by_status.items():
        expect(page.locator(f"#{prefix}-count-{status}")).to_have_text(str(count))
    cards = page.locator(f"#{prefix}-cards .md-card")
    expect(cards).to_have_count(len(entries(report)))
    expect(cards.locator(".md-card-title")).to_have_text(
        [entry["display_name"] for entry in entries(report)]
    )
    expect(cards.locator(".md-gauge")).to_have_text(
        [percent_text(entry["final_score"]) for entry in entries(report)]
    )
    expect(cards.locator(".md-status-text")).to_have_text(
        [entry["final_status"] for entry in entries(report)]
    )
    for graph in ("gauge", "heatmap", "drilldown"):
        expect(page.locator(f"#{prefix}-{graph} .main-svg").first).to_be_attached()
    if kind == "resilience":
        expect(page.locator(f"#{prefix}-donut .main-svg").first).to_be_attached()
        expect(table_rows(page, prefix)).to_have_count(len(entries(report)))
    else:
        expect(cards.locator(".md-card-live")).to_have_text(
            [str(entry["total_failures"]) for entry in entries(report)]
        )


@pytest.mark.parametrize("kind", ["availability", "resilience"])
def test_names_from_the_data_render_as_literal_text(page: Page, reports, kind: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    name, _ = reports[kind]
    open_dashboard(page, kind, name)
    prefix = f"{kind}-dashboard"
    titles = page.locator(f"#{prefix}-cards .md-card-title")
    expect(titles.nth(1)).to_have_text(XSS_NAME)
    expect(titles.nth(2)).to_have_text(HTML_NAME)
    # Nothing from the names became an element anywhere in the page's content.
    assert page.locator(".app-main script, .app-main img, .md-card b").count() == 0
    heatmap_labels = page.locator(f"#{prefix}-heatmap .yaxislayer-above text")
    expect(heatmap_labels.filter(has_text=XSS_NAME)).to_have_count(1)
    expect(heatmap_labels.filter(has_text=HTML_NAME)).to_have_count(1)
    page.locator(f"#{prefix}-drilldown-select").click()
    expect(page.get_by_role("option", name=XSS_NAME)).to_be_visible()
    page.keyboard.press("Escape")
    if kind == "resilience":
        expect(table_rows(page, prefix).nth(1).locator("[col-id='name']")).to_have_text(XSS_NAME)
    page.wait_for_timeout(300)
    assert dialogs == []


def test_a_card_opens_its_drilldown(page: Page, reports) -> None:
    name, report = reports["availability"]
    open_dashboard(page, "availability", name)
    target = entries(report)[3]
    page.locator("#availability-dashboard-cards .md-card").nth(3).click()
    expect(page.locator("#availability-dashboard-drilldown .gtitle")).to_have_text(
        target["display_name"], timeout=RENDER_TIMEOUT_MS
    )
    expect(page.locator("#availability-dashboard-drilldown-select")).to_contain_text(
        target["display_name"]
    )


def test_filters_hide_the_other_cards(page: Page, reports) -> None:
    name, report = reports["resilience"]
    open_dashboard(page, "resilience", name)
    severe = [entry for entry in entries(report) if entry["final_status"] == "SEVERE"]
    assert 0 < len(severe) < len(entries(report))
    page.locator("#resilience-dashboard-filter-status").get_by_label("SEVERE").check()
    visible = page.locator("#resilience-dashboard-cards .md-card:visible")
    expect(visible).to_have_count(len(severe))
    expect(visible.locator(".md-card-title")).to_have_text([e["display_name"] for e in severe])
    expect(table_rows(page, "resilience-dashboard")).to_have_count(len(severe))
    expect(table_rows(page, "resilience-dashboard").locator("[col-id='status']")).to_have_text(
        ["SEVERE"] * len(severe)
    )
    expect(page.locator("#resilience-dashboard-filter-summary")).to_have_text(
        f"Showing {len(severe)} of {len(entries(report))}"
    )
    expect(page.locator("#resilience-dashboard-heatmap .yaxislayer-above text")).to_have_count(
        len(severe), timeout=RENDER_TIMEOUT_MS
    )


FONT_COLORS_JS = """() => ['gauge', 'donut', 'heatmap', 'drilldown'].map((key) => {
    const plot = document.querySelector(`#resilience-dashboard-${key} .js-plotly-plot`);
    return plot && plot._fullLayout ? plot._fullLayout.font.color : null;
})"""


def test_figures_follow_the_theme(page: Page, reports) -> None:
    name, _ = reports["resilience"]
    open_dashboard(page, "resilience", name)
    wait_for_js(page, f"({FONT_COLORS_JS})().every(Boolean)", timeout_ms=RENDER_TIMEOUT_MS)
    before = page.evaluate(FONT_COLORS_JS)
    assert len(set(before)) == 1
    page.locator("#app-theme-toggle").click()
    wait_for_js(
        page,
        f"(before) => ({FONT_COLORS_JS})().every((color) => color && color !== before[0])",
        arg=before,
        timeout_ms=RENDER_TIMEOUT_MS,
    )
    assert len(set(page.evaluate(FONT_COLORS_JS))) == 1


def test_a_report_that_cannot_be_read_gives_a_clear_error(page: Page, live_app) -> None:
    name = "cumulative_availability_analysis_20260101_000000_0000bad1.json"
    path: Path = live_app.output_dir / name
    path.write_text('{"analysis_type": "availability", "services": 7}')
    try:
        page.goto(f"/availability/dashboard?report={name}")
        alert = page.locator("#availability-dashboard-error")
        expect(alert).to_contain_text("This report cannot be shown")
        expect(alert).to_contain_text(name)
        page.goto("/availability/dashboard?report=..%2F..%2Fetc%2Fpasswd")
        expect(page.locator("#availability-dashboard-error")).to_contain_text("invalid report name")
    finally:
        path.unlink()
