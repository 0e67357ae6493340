"""The background job body and the callback-manager factory (no browser, no Dash server)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

import pytest

from metrics_dashboard import runner
from metrics_dashboard.settings import with_overrides
from metrics_dashboard.web import jobs
from tests.pages import tiny_settings

AVAILABILITY = {"analysis_type": "availability"}
RESILIENCE = {"analysis_type": "resilience", "hours": 24}


@pytest.fixture
def settings(tmp_path: Path):
    return tiny_settings(tmp_path)


def run(config: dict, settings) -> tuple[jobs.JobOutcome, list[tuple[int, str]]]:
    seen: list[tuple[int, str]] = []
    outcome = jobs.run_analysis_job(
        config, settings=settings, set_progress=seen.append, job_token="t1"
    )
    return outcome, seen


@pytest.mark.parametrize("config", [AVAILABILITY, RESILIENCE], ids=["availability", "resilience"])
def test_a_job_writes_its_report_and_names_every_stage(config, settings) -> None:
    outcome, seen = run(config, settings)

    assert outcome.succeeded, outcome.error
    assert outcome.kind == config["analysis_type"]
    assert (settings.output_dir / outcome.report_name).is_file()
    labels = [label for _, label in seen]
    assert any(label.startswith("Loading data") for label in labels)
    assert any(label.startswith("Scoring") for label in labels)
    assert any(label.startswith("Writing report") for label in labels)
    assert seen[-1] == (100, "Writing report… 100%")
    assert [percent for percent, _ in seen] == sorted(percent for percent, _ in seen)


def test_an_invalid_configuration_is_a_clear_error_and_writes_nothing(settings) -> None:
    outcome, _ = run({**AVAILABILITY, "services": ["no-such-service"]}, settings)

    assert not outcome.succeeded
    assert outcome.error.startswith("Invalid configuration: ")
    assert "no-such-service" in outcome.error
    assert not list(settings.output_dir.glob("*.json"))


def test_an_unreachable_data_source_is_a_clear_error(settings, tmp_path: Path) -> None:
    gone = with_overrides(settings, data_source=str(tmp_path / "missing"))
    outcome, _ = run(AVAILABILITY, gone)

    assert outcome.error.startswith("Data source problem: ")
    assert "missing" in outcome.error


def test_an_unexpected_error_is_logged_with_traceback_and_shown_short(
    settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_args, **_kwargs):
        raise ZeroDivisionError("deep inside")

    monkeypatch.setattr(runner, "run_analysis", explode)
    with caplog.at_level(logging.ERROR, logger="metrics_dashboard.web.jobs"):
        outcome, _ = run(AVAILABILITY, settings)

    assert outcome.error == (
        "Unexpected error: the analysis failed (details in the server log, job t1)."
    )
    assert "deep inside" not in outcome.error
    record = next(r for r in caplog.records if "analysis job failed" in r.getMessage())
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_the_time_limit_stops_a_long_step_in_the_main_thread(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    never = threading.Event()

    def stuck(*_args, **_kwargs):
        never.wait(60)  # a step that never reports progress
        raise AssertionError("the time limit did not interrupt the run")

    monkeypatch.setattr(runner, "run_analysis", stuck)
    outcome, _ = run(AVAILABILITY, with_overrides(settings, max_analysis_timeout=1))

    assert "MAX_ANALYSIS_TIMEOUT" in outcome.error
    assert "1 s" in outcome.error


def test_outside_the_main_thread_the_limit_is_checked_at_each_stage(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]

    def slow_between_stages(config, *, settings, progress):
        progress(runner.STAGE_LOADING, 0.0)
        now[0] += 1.5  # the loading took longer than the limit
        progress(runner.STAGE_SCORING, 0.4)
        raise AssertionError("the deadline was not checked")

    monkeypatch.setattr(runner, "run_analysis", slow_between_stages)
    outcomes: list[jobs.JobOutcome] = []
    worker = threading.Thread(
        target=lambda: outcomes.append(
            jobs.run_analysis_job(
                AVAILABILITY,
                settings=with_overrides(settings, max_analysis_timeout=1),
                set_progress=lambda _value: None,
                clock=lambda: now[0],
            )
        )
    )
    worker.start()
    worker.join(30)

    assert "MAX_ANALYSIS_TIMEOUT" in outcomes[0].error


def test_progress_values_are_clamped_percentages_with_stage_names() -> None:
    assert jobs.progress_value(stage=runner.STAGE_LOADING, fraction=0.0) == (0, "Loading data… 0%")
    assert jobs.progress_value(stage=runner.STAGE_SCORING, fraction=0.4) == (40, "Scoring… 40%")
    assert jobs.progress_value(stage="other", fraction=1.7) == (100, "Other… 100%")


def test_job_tokens_are_unique() -> None:
    assert len({jobs.new_job_token() for _ in range(1000)}) == 1000


def test_the_default_manager_is_diskcache_in_the_jobs_cache_dir(settings) -> None:
    from dash import DiskcacheManager

    manager = jobs.background_manager(settings)

    assert isinstance(manager, DiskcacheManager)
    assert Path(manager.handle.directory) == settings.jobs_cache_dir
    assert settings.jobs_cache_dir.is_dir()


def test_redis_url_selects_celery_with_the_time_limit(settings) -> None:
    pytest.importorskip("celery")
    from dash import CeleryManager

    manager = jobs.background_manager(with_overrides(settings, redis_url="redis://127.0.0.1:1/0"))

    assert isinstance(manager, CeleryManager)
    # Time to wait behind every queued job, then run, plus a margin: 11 * 300 + 30.
    assert manager.handle.conf.task_time_limit == 3330
    assert manager.handle.conf.redis_socket_connect_timeout == 3.0


# --- the job manager: a finished job's result always reaches its page ------------------------

RESULT = ["the alert", "/availability/dashboard?report=r.json"]
PSUTIL_ENTRY_POINTS = ("pid_exists", "Process.__init__", "Process.status", "Process.children",
                       "Process.kill", "Process.wait", "Process.is_running")  # fmt: skip


@pytest.fixture
def manager(tmp_path: Path):
    import diskcache

    return jobs._job_process_manager(diskcache.Cache(str(tmp_path / "jobs")))


def start_job(manager, key: str, *, linger: bool, write: bool = True) -> int:
    """A job process that writes RESULT as Dash's job function does (unless not ``write``);
    with ``linger`` it then stays alive (as a process may while it exits) until killed."""

    def job(result_key: str, _progress_key: str, _args: object, _context: object) -> None:
        if write:
            manager.handle.set(result_key, RESULT)
        if linger:
            time.sleep(120)

    return int(manager.call_job_fn(key, job, [], {}))


def wait_for(condition, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def end_and_reap(pid: int) -> None:
    """What the job's exit and the reaper thread do: the process ends and is waited for."""
    import os
    import signal

    from multiprocess import active_children

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: pid not in {child.pid for child in active_children()}, "the reap")


def vanish_at_call(monkeypatch: pytest.MonkeyPatch, pid: int, call: int) -> list[str]:
    """Make the job process end and be reaped just before the ``call``-th psutil call that the
    code under test makes, whichever it is: every critical moment of a terminate path."""
    import psutil

    calls: list[str] = []

    def wrap(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            calls.append(label)
            if len(calls) == call:
                end_and_reap(pid)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    for entry in PSUTIL_ENTRY_POINTS:
        owner_name, _, attribute = entry.rpartition(".")
        wrap(psutil.Process if owner_name else psutil, attribute or entry, entry)
    return calls


@pytest.mark.parametrize("call", range(1, 8))
def test_a_job_that_ends_and_is_reaped_during_the_result_poll_still_delivers_it(
    manager, monkeypatch: pytest.MonkeyPatch, call: int
) -> None:
    key = f"result-{call}"
    pid = start_job(manager, key, linger=True)
    wait_for(lambda: manager.result_ready(key), "the job's result")
    calls = vanish_at_call(monkeypatch, pid, call)

    # What Dash does on the poll that finds the result: get_result, then job_running.
    try:
        result = manager.get_result(key, str(pid))
        running = manager.job_running(str(pid))
    finally:
        monkeypatch.undo()
        end_and_reap(pid)
    assert result == RESULT, calls
    assert running is False
    assert not manager.result_ready(key)  # delivered once, then removed


def test_terminating_a_vanished_job_is_a_no_op(manager) -> None:
    pid = start_job(manager, "gone", linger=False)
    wait_for(lambda: manager.result_ready("gone"), "the job's result")
    end_and_reap(pid)

    manager.terminate_job(str(pid))
    assert manager.job_running(str(pid)) is False
    assert manager.get_result("gone", str(pid)) == RESULT


def test_a_job_process_that_dies_without_a_result_is_reported_lost_once(manager) -> None:
    from dash.exceptions import BackgroundCallbackError

    pid = start_job(manager, "dies", linger=True, write=False)
    assert manager.get_result("dies", str(pid)) is manager.UNDEFINED  # still running
    end_and_reap(pid)  # killed from outside (the kernel's out-of-memory killer, say)

    lost = manager.get_result("dies", str(pid))

    error = lost["background_callback_error"]
    # What the app's on_error hook shows on the page, from the error Dash raises with it.
    raised = BackgroundCallbackError(
        f"An error occurred inside a background callback: {error['msg']}\n{error['tb']}"
    )
    assert jobs.job_failure_message(raised) == jobs.JOB_PROCESS_LOST_MESSAGE
    assert manager.get_result("dies", str(pid)) is manager.UNDEFINED  # said once


def test_a_cancelled_job_is_not_reported_lost(manager) -> None:
    pid = start_job(manager, "cancelled", linger=True, write=False)
    manager.terminate_job(str(pid))  # Dash's cancel
    end_and_reap(pid)
    assert manager.get_result("cancelled", str(pid)) is manager.UNDEFINED
    assert manager.job_running(str(pid)) is False


def test_job_failure_messages_for_the_page() -> None:
    from kombu.exceptions import OperationalError

    assert jobs.job_failure_message(OperationalError("Error 111 connecting")) == (
        jobs.QUEUE_UNAVAILABLE_MESSAGE
    )
    assert jobs.job_failure_message(ZeroDivisionError("internals")) == (
        jobs.UNEXPECTED_FAILURE_MESSAGE
    )


# --- slots: a queue in front of the analyses ---------------------------------------------------


@pytest.fixture
def held_runner(monkeypatch: pytest.MonkeyPatch):
    """The runner, held at its start until ``release`` is set; ``started`` says it got there."""
    started, release = threading.Event(), threading.Event()
    original = runner.run_analysis

    def held(config, *, settings, progress):
        started.set()
        assert release.wait(60), "never released"
        return original(config, settings=settings, progress=progress)

    monkeypatch.setattr(runner, "run_analysis", held)
    yield started, release
    release.set()


def in_thread(settings, *, user: str, exclusive_key: str | None = None):
    seen: list[tuple[int, str]] = []
    outcomes: list[jobs.JobOutcome] = []

    def job() -> None:
        outcomes.append(
            jobs.run_analysis_job(
                AVAILABILITY,
                settings=settings,
                set_progress=seen.append,
                user=user,
                exclusive_key=exclusive_key,
            )
        )

    thread = threading.Thread(target=job)
    thread.start()
    return thread, seen, outcomes


def test_a_job_over_the_limit_waits_queued_and_runs_when_the_slot_frees(
    settings, held_runner
) -> None:
    started, release = held_runner
    one_at_a_time = with_overrides(settings, max_concurrent_analyses=1)
    first, _, first_outcome = in_thread(one_at_a_time, user="alice")
    assert started.wait(30)
    started.clear()
    second, second_seen, second_outcome = in_thread(one_at_a_time, user="bob")
    wait_for(lambda: second_seen, "the second job's first progress report")
    assert second_seen[0] == (0, "Queued (0 ahead)…")
    assert not started.is_set()  # the second analysis has not begun

    release.set()
    first.join(60)
    second.join(60)
    assert first_outcome[0].succeeded and second_outcome[0].succeeded
    labels = [label for _, label in second_seen]
    assert labels[0].startswith("Queued") and labels[1].startswith("Loading data")


def test_a_user_over_their_share_is_told_their_own_analysis_runs_first(
    settings, held_runner
) -> None:
    started, release = held_runner
    first, _, _ = in_thread(settings, user="alice")
    assert started.wait(30)
    second, seen, outcome = in_thread(settings, user="alice")
    wait_for(lambda: seen, "the second job's first progress report")
    assert seen[0] == (0, "Queued: your other analysis runs first…")
    release.set()
    first.join(60)
    second.join(60)
    assert outcome[0].succeeded


def test_a_job_with_the_exclusive_key_of_a_running_one_does_not_run(settings, held_runner) -> None:
    started, release = held_runner
    first, _, first_outcome = in_thread(settings, user="alice", exclusive_key="live:cfg-1")
    assert started.wait(30)
    started.clear()

    refused, seen = run_with_key(settings, user="bob", exclusive_key="live:cfg-1")

    assert not refused.succeeded
    assert refused.kind == "availability"
    assert refused.error.startswith("An analysis of this configuration is already running")
    assert seen == [] and not started.is_set()
    release.set()
    first.join(60)
    assert first_outcome[0].succeeded
    again, _ = run_with_key(settings, user="bob", exclusive_key="live:cfg-1")
    assert again.succeeded  # the key is free once its job has ended


def run_with_key(settings, *, user: str, exclusive_key: str):
    seen: list[tuple[int, str]] = []
    outcome = jobs.run_analysis_job(
        AVAILABILITY,
        settings=settings,
        set_progress=seen.append,
        user=user,
        exclusive_key=exclusive_key,
    )
    return outcome, seen


def test_a_full_queue_is_a_clear_error(settings, held_runner) -> None:
    started, release = held_runner
    no_queue = with_overrides(settings, max_concurrent_analyses=1, max_queued_analyses=0)
    first, _, _ = in_thread(no_queue, user="alice")
    assert started.wait(30)
    outcome, _ = run_with_key(no_queue, user="bob", exclusive_key="other")
    assert outcome.error.startswith("Too many analyses are waiting: 0 already wait")
    release.set()
    first.join(60)
