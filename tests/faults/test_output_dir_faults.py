"""OUTPUT_DIR missing (created), read-only or full (a clear error, no partial file) in the CLI and
in the web job; corrupt and foreign files are listed as unreadable and never break the reports
list (headless Chromium). Tests run as root, which may write anywhere: read-only and full disks
are simulated by making the system calls fail with EROFS and ENOSPC."""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from analytics.config import parse_config
from data_access.report_store import ReportStore
from metrics_dashboard import cli
from metrics_dashboard.runner import RunOutcome, run_analysis
from metrics_dashboard.settings import load_settings
from metrics_dashboard.web import jobs
from tests.browser.conftest import (
    PROJECT_ROOT,
    LiveApp,
    WatchedPage,
    start_app,
    stop_app,
)
from tests.browser.test_availability_flow import DATA_TIMEOUT_MS, JOB_TIMEOUT_MS
from tests.pages import tiny_settings
from tests.scaleout import app_env, cli_command

FULL = "not enough disk space to write in"
READ_ONLY = "it is read-only or not writable by this user"


def files_in(directory: Path) -> list[str]:
    """Every entry of ``directory``, hidden temporary files included."""
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def fail_in(directory: Path, call: str, error_number: int) -> Callable[..., object]:
    """A replacement for ``os.<call>`` that fails with ``error_number`` for files in
    ``directory`` and behaves normally elsewhere."""
    original = getattr(os, call)
    target = str(directory.resolve())

    def failing(first: object, *args: object, **kwargs: object) -> object:
        path = os.readlink(f"/proc/self/fd/{first}") if isinstance(first, int) else str(first)
        if os.path.dirname(os.path.realpath(path)) == target:
            raise OSError(error_number, os.strerror(error_number), path)
        return original(first, *args, **kwargs)

    return failing


# A read-only file system refuses to create the temporary file; a full disk takes part of the
# data, then fails to flush it.
FAULTS = {
    "read-only": ("open", errno.EROFS, READ_ONLY),
    "full": ("fsync", errno.ENOSPC, FULL),
}


@pytest.fixture(params=sorted(FAULTS))
def faulty_output_dir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """An existing OUTPUT_DIR whose writes fail; yields it and the expected message."""
    call, error_number, message = FAULTS[request.param]
    directory = tmp_path / "output"
    directory.mkdir()
    monkeypatch.setattr(os, call, fail_in(directory, call, error_number))
    return directory, message


# -- command line -------------------------------------------------------------------------------


def test_a_missing_output_dir_is_created(tiny_source_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet" / "there"
    result = subprocess.run(
        cli_command("analyze", "availability", "--source", str(tiny_source_dir), "--out", str(out)),
        cwd=PROJECT_ROOT,
        env=app_env(tmp_path, 1),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    report = Path(result.stdout.strip().splitlines()[-1])
    assert report.parent == out
    assert files_in(out) == [report.name]
    json.loads(report.read_bytes())


def test_the_cli_exits_4_with_a_clear_error_and_no_partial_file(
    faulty_output_dir: tuple[Path, str],
    tiny_source_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, message = faulty_output_dir
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
    # configure_logging would replace pytest's handlers on the root logger for later tests.
    monkeypatch.setattr("metrics_dashboard.logging_setup.configure_logging", lambda _s: None)

    status = cli.main(
        ["--env-file", "/nonexistent", "analyze", "availability", "--source",
         str(tiny_source_dir), "--out", str(out), "--csv"]
    )  # fmt: skip

    stderr = capsys.readouterr().err
    assert status == cli.EXIT_OUTPUT == 4
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith("metrics-dashboard: error: ")
    assert message in last_line and str(out) in last_line
    assert "Traceback" not in stderr
    assert files_in(out) == []


# -- the web job ----------------------------------------------------------------------------------


def test_a_web_job_ends_with_a_clear_error_and_no_partial_file(
    faulty_output_dir: tuple[Path, str], tmp_path: Path
) -> None:
    out, message = faulty_output_dir
    settings = tiny_settings(tmp_path, output_dir=out)

    outcome = jobs.run_analysis_job(
        {"analysis_type": "resilience", "hours": 24}, settings=settings, set_progress=lambda _: None
    )

    assert not outcome.succeeded
    assert outcome.error.startswith("The report could not be written: ")
    assert message in outcome.error
    assert files_in(out) == []


def test_a_web_job_creates_a_missing_output_dir(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path, output_dir=tmp_path / "new" / "output")

    outcome = jobs.run_analysis_job(
        {"analysis_type": "availability"}, settings=settings, set_progress=lambda _: None
    )

    assert outcome.succeeded, outcome.error
    assert files_in(settings.output_dir) == [outcome.report_name]


def test_a_web_job_says_when_a_file_is_in_the_way_of_the_output_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    settings = tiny_settings(tmp_path, output_dir=blocker / "output")

    outcome = jobs.run_analysis_job(
        {"analysis_type": "availability"}, settings=settings, set_progress=lambda _: None
    )

    assert outcome.error.startswith("The report could not be written: cannot write in ")
    assert "a file is in the way" in outcome.error
    assert blocker.read_text() == "in the way"


def test_a_truncated_report_is_listed_as_unreadable(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    outcome = run_analysis(parse_config({"analysis_type": "availability"}), settings=settings)
    data = outcome.report_path.read_bytes()
    truncated = settings.output_dir / availability_name("0000000f")
    truncated.write_bytes(data[: len(data) * 2 // 3])

    entries = {entry.name: entry for entry in ReportStore(settings.output_dir).list()}

    assert entries[outcome.report_name].error is None
    assert entries[truncated.name].error is not None


# -- the web app: a full disk and a zoo of bad files ---------------------------------------------

# The app process runs with this `sitecustomize` (test only): its disk is full, for files in
# OUTPUT_DIR only.
FULL_DISK = """
import errno
import os

_OUTPUT_DIR = os.path.realpath(os.environ["OUTPUT_DIR"])
_fsync = os.fsync


def full_disk_fsync(descriptor):
    path = os.path.realpath(os.readlink(f"/proc/self/fd/{descriptor}"))
    if os.path.dirname(path) == _OUTPUT_DIR:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    return _fsync(descriptor)


os.fsync = full_disk_fsync
"""

VALID_STAMP = "20260101_000000"
BAD_STAMP = "20990101_000000"  # newer than the valid report: the bad files come first


def availability_name(short_id: str, stamp: str = BAD_STAMP) -> str:
    return f"cumulative_availability_analysis_{stamp}_{short_id}.json"


def resilience_name(short_id: str, stamp: str = BAD_STAMP) -> str:
    return f"resilience_analysis_{stamp}_{short_id}.json"


def write_bad_files(output_dir: Path, *, availability: Path, resilience: Path) -> dict[str, str]:
    """Corrupt, foreign and odd entries with report names; returns {name: what it is}."""
    valid = availability.read_bytes()
    files: dict[str, bytes] = {
        availability_name("00000001"): b"{ this is not json",
        availability_name("00000002"): b"",
        availability_name("00000003"): bytes(range(256)) * 16,
        availability_name("00000005"): resilience.read_bytes(),
        availability_name("00000006"): b"[1, 2, 3]",
        availability_name("00000007"): b'{"analysis_type": "availability", "services": 42}',
        availability_name("00000008"): b"[" * 100_000 + b"]" * 100_000,
        availability_name("00000009"): b"\xef\xbb\xbf\xff\xfe not utf-8",
        resilience_name("0000000a"): valid,
    }
    for name, data in files.items():
        (output_dir / name).write_bytes(data)
    (output_dir / availability_name("0000000b")).mkdir()
    (output_dir / availability_name("0000000c")).symlink_to("/etc/passwd")
    (output_dir / availability_name("0000000d")).symlink_to(output_dir / "gone.json")
    (output_dir / "notes.txt").write_text("not a report name: ignored")
    (output_dir / ".hidden.json").write_text("{}")
    return {
        **{name: "file" for name in files},
        availability_name("0000000b"): "directory",
        availability_name("0000000c"): "symlink outside",
        availability_name("0000000d"): "dangling symlink",
    }


@pytest.fixture(scope="module")
def full_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, dict]]:
    """The app with a full disk under OUTPUT_DIR, which holds one valid report of each kind
    and the bad files of :func:`write_bad_files`."""
    base = tmp_path_factory.mktemp("full_app")
    output_dir = base / "output"
    settings = load_settings(
        {"data_source": "demo", "output_dir": output_dir, "cache_dir": base / "cache"},
        environ={},
        env_file=None,
    )
    outcomes: dict[str, RunOutcome] = {
        kind: run_analysis(parse_config(config), settings=settings)
        for kind, config in (
            ("availability", {"analysis_type": "availability"}),
            ("resilience", {"analysis_type": "resilience", "hours": 24}),
        )
    }
    # Older than the bad files, with a fixed name so the test can find it.
    for kind, outcome in outcomes.items():
        named = availability_name if kind == "availability" else resilience_name
        fixed = output_dir / named("aaaaaaaa", VALID_STAMP)
        outcome.report_path.rename(fixed)
    bad = write_bad_files(
        output_dir,
        availability=output_dir / availability_name("aaaaaaaa", VALID_STAMP),
        resilience=output_dir / resilience_name("aaaaaaaa", VALID_STAMP),
    )
    (base / "patch").mkdir()
    (base / "patch" / "sitecustomize.py").write_text(FULL_DISK)
    app = start_app(
        base,
        extra_env={"PYTHONPATH": os.pathsep.join([str(base / "patch"), str(PROJECT_ROOT)])},
    )
    try:
        yield app, {"bad": bad, "scores": {k: o.aggregated_score for k, o in outcomes.items()}}
    finally:
        stop_app(app)


@pytest.fixture
def full_page(browser: Browser, full_app) -> Iterator[Page]:
    app, _ = full_app
    context = browser.new_context(base_url=app.url)
    context.set_default_timeout(30_000)
    watched = WatchedPage(context.new_page())
    yield watched.page
    context.close()
    assert not watched.console_errors, watched.console_errors
    assert not watched.failed_requests, watched.failed_requests


@pytest.mark.browser
def test_bad_files_are_listed_as_unreadable_and_break_nothing(full_page: Page, full_app) -> None:
    app, facts = full_app
    page = full_page
    valid_name = availability_name("aaaaaaaa", VALID_STAMP)

    page.goto("/availability")
    rows = page.locator("#availability-reports-table .ag-center-cols-container .ag-row")
    availability_bad = [name for name in facts["bad"] if name.startswith("cumulative_")]
    expect(rows).to_have_count(1 + len(availability_bad))
    for name in availability_bad:
        expect(rows.filter(has_text=name)).to_contain_text("Unreadable")
    valid_row = rows.filter(has_text=valid_name)
    expect(valid_row).to_contain_text(f"{facts['scores']['availability'] * 100:.1f}%")
    expect(rows.filter(has_text="notes.txt")).to_have_count(0)

    page.goto("/resilience")
    foreign = page.locator("#resilience-reports-table .ag-center-cols-container .ag-row").filter(
        has_text=resilience_name("0000000a")
    )
    expect(foreign).to_contain_text("Unreadable")

    # Home shows the newest readable report, not the newer unreadable ones.
    page.goto("/")
    expect(page.locator("#home-availability-score")).to_have_text(
        f"{facts['scores']['availability'] * 100:.1f}%"
    )
    # Opening an unreadable report says why instead of breaking the dashboard.
    page.goto(f"/availability/dashboard?report={availability_name('00000001')}")
    expect(page.get_by_text("unreadable").first).to_be_visible(timeout=DATA_TIMEOUT_MS)
    assert "Traceback" not in app.log_text()


@pytest.mark.browser
def test_on_a_full_disk_the_job_and_an_upload_fail_clearly_and_write_nothing(
    full_page: Page, full_app
) -> None:
    app, _ = full_app
    page = full_page
    before = files_in(app.output_dir)

    page.goto("/availability/config")
    start = page.locator("#availability-config-start")
    expect(start).to_be_enabled(timeout=DATA_TIMEOUT_MS)
    start.click()
    result = page.locator("#availability-config-job-result")
    expect(result).to_contain_text("The analysis did not complete", timeout=JOB_TIMEOUT_MS)
    expect(result).to_contain_text(f"The report could not be written: {FULL}")
    assert page.url.endswith("/availability/config")

    page.goto("/availability")
    page.locator("#availability-upload input[type=file]").set_input_files(
        app.output_dir / availability_name("aaaaaaaa", VALID_STAMP)
    )
    expect(page.locator("#availability-upload-alert")).to_contain_text(FULL)
    expect(page.locator("#availability-reports-table")).to_be_visible()
    assert files_in(app.output_dir) == before  # no report, no temporary file


# -- a writer killed mid-write --------------------------------------------------------------------

# A process that starts writing a report and, once its data is in the locked fragment, waits
# to be killed (it says "ready" first).
KILLED_WRITER = """
import os, sys, time
from datetime import UTC, datetime
from data_access.report_store import ReportStore

def hold(_descriptor):
    print("ready", flush=True)
    time.sleep(600)

os.fsync = hold
ReportStore(sys.argv[1]).write("availability", b"{}" * 100_000, when=datetime.now(UTC))
"""


def test_a_fragment_left_by_a_killed_writer_is_removed_when_a_store_opens(tmp_path: Path) -> None:
    from data_access.safe_files import remove_stale_fragments

    output = tmp_path / "output"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(output)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([writer.stdout], [], [], 120)  # bounded wait for the event
        assert ready and writer.stdout.readline().strip() == "ready", "the writer never started"
        (fragment,) = files_in(output)
        assert fragment.startswith(".cumulative_availability_analysis_")
        assert fragment.endswith(".tmp")
        old = time.time() - 3600
        os.utime(output / fragment, (old, old))  # old enough, but its writer is alive: kept
        assert remove_stale_fragments(output) == 0
        assert files_in(output) == [fragment]
    finally:
        writer.kill()  # kill -9: no clean-up code of the writer runs
        writer.wait(timeout=60)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    assert files_in(output) == [fragment]  # what a crash leaves behind
    ReportStore(output)  # a store opening on the directory (as at start-up) cleans it
    assert files_in(output) == []


def test_a_recent_unlocked_fragment_is_kept(tmp_path: Path) -> None:
    """A fragment just created may not be locked yet by its writer: only old ones go."""
    from data_access.safe_files import remove_stale_fragments

    (tmp_path / ".resilience_analysis_20260101_000000_0a0b0c0d.json.abcd1234.tmp").write_text("{")
    (tmp_path / "notes.tmp").write_text("not a fragment")
    assert remove_stale_fragments(tmp_path) == 0
    assert remove_stale_fragments(tmp_path, min_age=0) == 1
    assert files_in(tmp_path) == ["notes.tmp"]
