"""The theme toggle persists and applies before the first paint; every page loads without
console errors, failed requests or any request leaving the app (no CDN)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_availability_flow import DATA_TIMEOUT_MS

PAGES = (
    "/",
    "/availability",
    "/availability/config",
    "/availability/dashboard",
    "/resilience",
    "/resilience/config",
    "/resilience/dashboard",
)

# Records the theme at DOMContentLoaded, i.e. before Dash renders anything.
RECORD_EARLY_THEME = """
document.addEventListener("DOMContentLoaded", () => {
    window.__themeAtDomReady = document.documentElement.getAttribute("data-bs-theme");
});
"""


def theme(page: Page) -> str | None:
    return page.evaluate("document.documentElement.getAttribute('data-bs-theme')")


def test_the_theme_toggle_persists_across_a_reload(page: Page) -> None:
    page.add_init_script(RECORD_EARLY_THEME)
    page.goto("/")
    toggle = page.locator("#app-theme-toggle")
    expect(toggle).to_have_attribute("title", "Switch to dark theme")
    assert theme(page) == "light"

    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    assert page.evaluate("localStorage.getItem('app-theme')") == '"dark"'

    page.reload()
    expect(toggle).to_have_attribute("title", "Switch to light theme")
    assert page.evaluate("window.__themeAtDomReady") == "dark", "the saved theme came late"
    assert theme(page) == "dark"

    # It follows navigation to another page too, and switches back.
    page.locator(".app-navbar a[href='/resilience']").click()
    expect(page.locator("#resilience-upload")).to_be_visible()
    assert theme(page) == "dark"
    toggle.click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    page.reload()
    assert page.evaluate("window.__themeAtDomReady") == "light"


@pytest.mark.parametrize("theme_name", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_cleanly(page: Page, live_app, path: str, theme_name: str) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.add_init_script(f"localStorage.setItem('app-theme', '\"{theme_name}\"')")

    page.goto(path)
    expect(page.locator("#_pages_content > *").first).to_be_attached(timeout=DATA_TIMEOUT_MS)
    page.wait_for_load_state("networkidle", timeout=DATA_TIMEOUT_MS)

    assert theme(page) == theme_name
    foreign = [url for url in requests if not url.startswith(live_app.url)]
    assert not foreign, f"requests leaving the app: {foreign}"
    # The `page` fixture fails the test on console errors and failed requests.
