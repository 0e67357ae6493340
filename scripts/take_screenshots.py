"""Screenshots of both dashboards in both themes, for the README (docs/screenshots/).

Runs the real app on the demo data in a temporary directory, writes one report of each kind
with the command line, and photographs the dashboards in Debian's headless Chromium.
Usage: python scripts/take_screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from tests.browser.conftest import start_app, stop_app  # noqa: E402
from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT = PROJECT_ROOT / "docs" / "screenshots"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = start_app(Path(tmp))
        try:
            for kind in ("availability", "resilience"):
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "metrics_dashboard.cli",
                        "--env-file",
                        "/nonexistent",
                        "analyze",
                        kind,
                        "--source",
                        "demo",
                        "--out",
                        str(app.output_dir),
                    ],
                    cwd=PROJECT_ROOT,
                    check=True,
                    capture_output=True,
                    env={"CACHE_DIR": str(app.cache_dir), "PATH": "/usr/bin:/bin"},
                )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                for theme in ("light", "dark"):
                    context = browser.new_context(
                        base_url=app.url, viewport={"width": 1440, "height": 1000}
                    )
                    page = context.new_page()
                    page.goto("/")
                    page.evaluate(f"localStorage.setItem('app-theme', '\"{theme}\"')")
                    for kind in ("availability", "resilience"):
                        page.goto(f"/{kind}/dashboard")
                        page.wait_for_selector(f"#{kind}-dashboard-aggregated-value")
                        page.wait_for_timeout(1500)  # let Plotly finish its transitions
                        path = OUT / f"{kind}-dashboard-{theme}.png"
                        page.screenshot(path=str(path), full_page=False)
                        print(path.relative_to(PROJECT_ROOT))
                    context.close()
                browser.close()
        finally:
            stop_app(app)


if __name__ == "__main__":
    main()
