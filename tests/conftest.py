"""Fixtures shared across test packages."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:  # the browser library is imported only by tests that drive a browser
    from playwright.sync_api import Browser, Playwright

TESTS_ROOT = Path(__file__).resolve().parent
# Tests that start real servers or worker processes (gunicorn, redis-server, Celery, fake
# MongoDB peers): with the browser tests, what `make check` leaves to `make test`.
SERVER_TEST_DIRS = (TESTS_ROOT / "scaleout", TESTS_ROOT / "faults")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the browser ``browser`` and every server test ``server``, so
    that ``-m "not browser and not server"`` selects the fast unit tests."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
        if any(directory in Path(item.fspath).parents for directory in SERVER_TEST_DIRS):
            item.add_marker(pytest.mark.server)


TINY_SERVICES = """service_id,display_name,service_type
web-1,Web frontend,web_service
db-1,Main database,database
lonely,No data service,mystery
"""
TINY_METRICS = """service_id,timestamp,status
web-1,2026-01-01T00:00:00Z,up
web-1,2026-01-01T00:05:00Z,DOWN
web-1,2026-01-01T00:10:00+01:00,down
web-1,2026-01-01T00:10:00Z,up
db-1,2026-01-01T00:00:00Z,up
db-1,2026-01-01T12:00:00Z, timeout
db-1,2026-01-02T00:00:00Z,down
"""
TINY_TARGETS = """target_id,display_name,target_type
vm-1,App VM,vm
ct-1,Worker container,container
never,Never backed up,physical_server
"""
TINY_BACKUPS = """target_id,timestamp,status
vm-1,2025-12-31T20:00:00Z,success
vm-1,2026-01-01T06:00:00Z,failed
vm-1,2026-01-01T12:00:00Z,Completed
ct-1,2026-01-01T03:00:00Z,ok
"""


@pytest.fixture
def tiny_source_dir(tmp_path: Path) -> Path:
    """A small hand-written files source (CSV) with every rule in play."""
    directory = tmp_path / "tiny_source"
    directory.mkdir()
    for name, text in {
        "services.csv": TINY_SERVICES,
        "metrics.csv": TINY_METRICS,
        "backup_targets.csv": TINY_TARGETS,
        "backups.csv": TINY_BACKUPS,
    }.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (see .ci/run)")
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the whole session (Playwright's sync API allows one driver)."""
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
