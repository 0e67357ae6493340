"""How every browser test and benchmark starts Debian's headless Chromium."""

from __future__ import annotations

import os
import time
from typing import Any

from playwright.sync_api import Page

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless on a machine with a closed network: no sandbox as root, no GPU, and none of the
# background services that would try to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def wait_for_js(page: Page, expression: str, *, arg: Any = None, timeout_ms: float = 30_000) -> Any:
    """Poll ``expression`` (or a function of ``arg``) in the page until it is truthy.

    Playwright's ``wait_for_function`` evaluates its predicate with ``eval`` inside the page,
    which the app's Content-Security-Policy rightly forbids; ``page.evaluate`` goes through the
    DevTools protocol instead, so polling it from here leaves the policy in force for the test.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} stayed falsy for {timeout_ms:.0f} ms")
        time.sleep(0.05)
