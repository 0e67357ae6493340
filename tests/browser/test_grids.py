"""The AG Grids in Chromium, with the network limited to the app's own origin: they are
styled by the app's own assets in both themes, draw only the rows in view, filter by search and
type, select and clear the rows shown, and set a value for every item of a type."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import LiveApp, WatchedPage
from tests.browser.test_availability_flow import DATA_TIMEOUT_MS
from tests.chromium import wait_for_js

GRID = "availability-config-table"
API = f"dash_ag_grid.getApi('{GRID}')"


@pytest.fixture
def offline_page(browser: Browser, live_app: LiveApp) -> Iterator[Page]:
    """A page whose requests to anywhere but the app are refused (and fail the test)."""
    context = browser.new_context(base_url=live_app.url)
    context.set_default_timeout(30_000)
    refused: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(live_app.url):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    watched = WatchedPage(context.new_page())
    yield watched.page
    context.close()
    assert not refused, f"requests outside the app: {refused}"
    assert not watched.console_errors, watched.console_errors
    assert not watched.failed_requests, watched.failed_requests


def open_config(page: Page) -> None:
    page.goto("/availability/config")
    expect(page.locator(f"#{GRID} .ag-row").first).to_be_visible(timeout=DATA_TIMEOUT_MS)
    wait_for_js(page, f"window.dash_ag_grid && {API} && {API}.getDisplayedRowCount() > 0")


def count(page: Page, expression: str) -> int:
    return page.evaluate(f"() => {{ const api = {API}; {expression} }}")


def rows_of_type(page: Page, item_type: str) -> int:
    return count(
        page,
        "let n = 0; api.forEachNode((node) => { n += node.data.service_type === "
        f"'{item_type}' ? 1 : 0; }}); return n;",
    )


GRID_COLOURS = """() => {
    const wrapper = document.querySelector('.md-grid .ag-root-wrapper');
    const header = document.querySelector('.md-grid .ag-header');
    return [getComputedStyle(wrapper).backgroundColor, getComputedStyle(header).backgroundColor,
            getComputedStyle(document.body).backgroundColor];
}"""


def test_grids_are_styled_by_the_apps_own_assets_in_both_themes(offline_page: Page) -> None:
    page = offline_page
    open_config(page)
    light_wrapper, light_header, light_body = page.evaluate(GRID_COLOURS)
    assert light_wrapper == light_body  # the grid sits on the page's own background
    assert light_header != light_wrapper  # a themed header, not an unstyled table
    page.locator("#app-theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    wait_for_js(page, f"({GRID_COLOURS})()[0] !== {light_wrapper!r}")
    dark_wrapper, _, dark_body = page.evaluate(GRID_COLOURS)
    assert dark_wrapper == dark_body


def test_the_grid_draws_only_the_rows_in_view(offline_page: Page) -> None:
    page = offline_page
    open_config(page)
    total = count(page, "return api.getDisplayedRowCount();")
    drawn = page.locator(f"#{GRID} .ag-center-cols-container .ag-row").count()
    assert total > 30, "the demo data should have more services than the grid shows"
    assert drawn < total
    expect(page.locator("#availability-config-selection-count")).to_have_text(
        f"{total} of {total} services selected"
    )


def choose(page: Page, dropdown_id: str, option: str) -> None:
    page.locator(f"#{dropdown_id}").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_filters_then_select_and_clear_the_rows_shown(offline_page: Page) -> None:
    page = offline_page
    open_config(page)
    total = count(page, "return api.getDisplayedRowCount();")
    databases = rows_of_type(page, "database")
    assert 0 < databases < total
    selection = page.locator("#availability-config-selection-count")

    choose(page, "availability-config-type-filter", "database")
    wait_for_js(page, f"{API}.getDisplayedRowCount() === {databases}")
    page.locator("#availability-config-clear-shown").click()
    expect(selection).to_have_text(f"{total - databases} of {total} services selected")
    page.locator("#availability-config-select-shown").click()
    expect(selection).to_have_text(f"{total} of {total} services selected")

    # The search box looks at names and ids only.
    choose(page, "availability-config-type-filter", "All service types")
    page.locator("#availability-config-search").fill("database")
    wait_for_js(page, f"{API}.getDisplayedRowCount() < {total}")
    names = count(
        page,
        "const shown = []; api.forEachNodeAfterFilter((node) => shown.push("
        "(node.data.display_name + ' ' + node.data.service_id).toLowerCase())); "
        "return shown.every((text) => text.includes('database')) ? shown.length : -1;",
    )
    assert names >= 0


def test_a_value_is_set_for_every_service_of_a_type(offline_page: Page) -> None:
    page = offline_page
    open_config(page)
    databases = rows_of_type(page, "database")
    choose(page, "availability-config-bulk-type", "database")
    page.locator("#availability-config-bulk-value").fill("9")
    page.locator("#availability-config-bulk-apply").click()
    expect(page.locator("#availability-config-bulk-feedback")).to_have_text(
        re.compile(rf"Error budget set to 9 for {databases} service\(s\) of type database")
    )
    wait_for_js(
        page,
        f"(() => {{ let ok = true; {API}.forEachNode((node) => {{ if (node.data.service_type "
        "=== 'database' && node.data.error_budget !== 9) ok = false; }); return ok; })()",
    )
