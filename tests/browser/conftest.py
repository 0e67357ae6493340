"""Browser tests: the real app in a real process, driven by Debian's headless Chromium.

``live_app`` starts ``metrics-dashboard serve`` once per session on a free loopback port with
its own OUTPUT_DIR and CACHE_DIR; ``page`` gives each test a fresh browser context whose console
errors and failed requests fail the test unless the test clears them on purpose.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveApp:
    url: str
    output_dir: Path
    cache_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(tmp: Path, *, extra_env: dict[str, str] | None = None) -> LiveApp:
    """Start the app as a separate process and wait until it answers."""
    output_dir, cache_dir = tmp / "output", tmp / "cache"
    output_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "DATA_SOURCE": "demo",
        "OUTPUT_DIR": str(output_dir),
        "CACHE_DIR": str(cache_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "FLASK_DEBUG": "false",
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    log_path = tmp / "app.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "metrics_dashboard.cli", "--env-file", "/nonexistent", "serve"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    app = LiveApp(f"http://127.0.0.1:{port}", output_dir, cache_dir, log_path, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{app.log_text()}")
        try:
            with urllib.request.urlopen(app.url + "/", timeout=2):
                return app
        except OSError:
            time.sleep(0.3)
    stop_app(app)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT_S}s:\n{app.log_text()}")


def stop_app(app: LiveApp) -> None:
    app.process.terminate()
    try:
        app.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.process.kill()
        app.process.wait()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    app = start_app(tmp_path_factory.mktemp("live_app"))
    yield app
    stop_app(app)


class WatchedPage:
    """Collects console errors and failed requests of one page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_request_failed(self, request) -> None:
        failure = request.failure or ""
        # Navigating away aborts in-flight requests: that is not a failure of the app.
        if "ERR_ABORTED" not in failure:
            self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_requests.append(
                f"{response.request.method} {response.url}: HTTP {response.status}"
            )


@pytest.fixture
def watched_page(browser: Browser, live_app: LiveApp) -> Iterator[WatchedPage]:
    context = browser.new_context(base_url=live_app.url, accept_downloads=True)
    context.set_default_timeout(30_000)
    watched = WatchedPage(context.new_page())
    yield watched
    context.close()
    assert not watched.console_errors, f"browser console errors: {watched.console_errors}"
    assert not watched.failed_requests, f"failed requests: {watched.failed_requests}"


@pytest.fixture
def page(watched_page: WatchedPage) -> Page:
    """A fresh page; the test fails if the browser logs an error or a request fails."""
    page = watched_page.page
    page.console_errors = watched_page.console_errors  # type: ignore[attr-defined]
    page.failed_requests = watched_page.failed_requests  # type: ignore[attr-defined]
    return page
