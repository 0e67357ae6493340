"""Background analyses for the web app: the callback manager and the job body.

A job is one Dash background callback: Dash keys it by the request that started it and signs its
handles for that page load, so a browser can only poll or cancel its own jobs. Nothing here keeps
job state between requests; the pages pass a per-page-load token (:func:`new_job_token`) among
the callback's arguments so that two sessions submitting the very same configuration still get
distinct Dash cache keys and never read each other's result.

The job body (:func:`run_analysis_job`) wraps :func:`metrics_dashboard.runner.run_analysis` with
a slot in the shared queue (:mod:`metrics_dashboard.web.job_slots`: global and per-user limits,
exclusive keys), progress reporting, the ``MAX_ANALYSIS_TIMEOUT`` time limit and error messages a
user can act on. The managers make sure a job's outcome reaches its page: a finished result is
never dropped, and a job whose process or Celery worker died is reported as lost (the app's
``on_error`` hook, :mod:`metrics_dashboard.web.callback_guard`, shows the message).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import dash
from flask import g, request

from analytics.config import ConfigError, parse_config
from data_access.base import DataSourceError
from data_access.report_store import ReportStoreError
from metrics_dashboard import runner
from metrics_dashboard.logging_setup import job_log_context
from metrics_dashboard.settings import Settings
from metrics_dashboard.web.job_slots import (
    REDIS_TIMEOUT_S,
    JobSlots,
    Limits,
    Place,
    SlotRefused,
    lease_name,
    slot_store,
    started_name,
)
from metrics_dashboard.web.observability import ANALYSIS_KINDS, record_analysis

log = logging.getLogger(__name__)

# How often the browser polls a running job (ms): short enough that each stage shows.
POLL_INTERVAL_MS = 500

STAGE_LABELS: dict[str, str] = {
    runner.STAGE_LOADING: "Loading data",
    runner.STAGE_SCORING: "Scoring",
    runner.STAGE_WRITING: "Writing report",
}

# (percent, label) shown by the progress bar; pages pass it to Dash's ``set_progress``.
ProgressReporter = Callable[[tuple[int, str]], None]


class AnalysisTimeout(Exception):
    """The job ran past ``MAX_ANALYSIS_TIMEOUT``."""


@dataclass(frozen=True)
class JobOutcome:
    """What a finished job tells the page: the new report, or why there is none."""

    kind: str
    report_name: str | None = None
    aggregated_score: float | None = None  # percent, as reports and screens show it
    seconds: float | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.report_name is not None


# Messages of jobs that never produced an outcome; the page shows them (see callback_guard).
JOB_LOST_MARKER = "[job lost] "
QUEUE_UNAVAILABLE_MESSAGE = (
    "The job queue (Redis) did not answer. If the analysis had started, its report may still "
    "appear in the reports list; otherwise start it again in a minute. If this persists, ask "
    "the operator to check Redis and the Celery workers."
)
UNEXPECTED_FAILURE_MESSAGE = "Unexpected error: the analysis failed (details in the server log)."


def job_failure_message(error: BaseException) -> str:
    """What the page says when an analysis job's callback raised instead of returning."""
    text = str(error)
    if JOB_LOST_MARKER in text:
        return text.split(JOB_LOST_MARKER, 1)[1].split("\n", 1)[0]
    if _is_queue_unavailable(error):
        return QUEUE_UNAVAILABLE_MESSAGE
    return UNEXPECTED_FAILURE_MESSAGE


def _is_queue_unavailable(error: BaseException) -> bool:
    try:
        from kombu.exceptions import OperationalError
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # without the celery extra there is no queue
        return False
    return isinstance(error, OperationalError | RedisConnectionError | RedisTimeoutError)


def lost_job_result(message: str) -> dict[str, Any]:
    """The result a job manager hands Dash for a job that ended without one: Dash raises it as
    an error, and the app's ``on_error`` hook shows ``message`` on the page."""
    return {"background_callback_error": {"msg": JOB_LOST_MARKER + message, "tb": ""}}


def new_job_token() -> str:
    """A fresh token for one page load (see the module docstring)."""
    return uuid.uuid4().hex


def background_manager(settings: Settings) -> Any:
    """Dash's background-callback manager: Celery on ``REDIS_URL`` when set, otherwise diskcache
    in ``settings.jobs_cache_dir`` with jobs run in child processes of the web server."""
    if settings.redis_url:
        return _celery_job_manager(settings)

    import diskcache

    settings.jobs_cache_dir.mkdir(parents=True, exist_ok=True)
    return _job_process_manager(diskcache.Cache(str(settings.jobs_cache_dir)))


# How often a web worker reaps its finished job processes (s); a zombie costs only a pid entry.
REAP_INTERVAL_S = 0.5
_reaper_lock = threading.Lock()
_reaper: threading.Thread | None = None


# How long a web worker remembers that it stopped a job on purpose (a cancel), seconds.
STOPPED_JOB_MEMORY_S = 600
JOB_PROCESS_LOST_MESSAGE = (
    "The analysis process stopped before it finished (it may have run out of memory); no "
    "report was written. Start it again, or try a shorter window or fewer items."
)


def _job_process_manager(cache: Any) -> Any:
    """Dash's DiskcacheManager, fixed for a production server with several web workers.

    * A job is a fork of the web worker and inherits its sockets: the listening one and every
      open connection. A kept-alive browser connection that the server then closes stays open
      through the job's copy, so the browser's next request on it (a Cancel, typically) is
      never read until the job ends. The job releases those sockets first thing.
    * Dash reaps a job (waits for it) only in the process that handles its last poll or its
      cancel. That request may reach another worker, which can kill the job but not reap it:
      it would stay a zombie until its own worker started another job, and the other worker
      would wait a full second for it. Each worker reaps its own jobs in the background, and
      stopping a job never waits for it nor reaps it.
    * A job's process may end and be reaped at any moment, between any two looks at it: no
      look may raise (Dash's own lets ``psutil.NoSuchProcess`` escape, a 500), and a finished
      job's result is removed from the cache only once the job has been stopped, so that a
      failed poll leaves it for the next one (Dash removes it first, and then it is lost).
    * A job whose process ended without a result, and was not stopped on purpose, is reported
      to its page as lost (Dash would leave the page without a word).
    """
    from dash import DiskcacheManager

    class JobProcessManager(DiskcacheManager):
        def make_job_fn(self, fn: Any, progress: Any, key: Any = None) -> Any:
            job_fn = super().make_job_fn(fn, progress, key)

            def job_in_its_own_process(*args: Any) -> Any:
                release_inherited_connections()
                return job_fn(*args)

            return job_in_its_own_process

        def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> Any:
            pid = super().call_job_fn(key, job_fn, args, context)
            _ensure_reaper()
            return pid

        def terminate_job(self, job: Any) -> None:
            if job is None:
                return
            self.handle.set(_stopped_key(job), True, expire=STOPPED_JOB_MEMORY_S)
            stop_process_tree(int(job))

        def job_running(self, job: Any) -> bool:
            return job is not None and process_running(int(job))

        def get_result(self, key: str, job: Any) -> Any:
            result = self.handle.get(key, self.UNDEFINED)
            if result is self.UNDEFINED:
                return self._lost_result(key, job)
            if job:
                self.terminate_job(job)
            self.clear_cache_entry(self._make_progress_key(key))
            if self.cache_by is None:
                self.clear_cache_entry(key)
            elif self.expire:
                self.handle.touch(key, expire=self.expire)
            return result

        def _lost_result(self, key: str, job: Any) -> Any:
            """UNDEFINED while the job may still deliver; the lost-job error once it cannot."""
            if job is None or self.job_running(job) or self.handle.get(_stopped_key(job)):
                return self.UNDEFINED
            # The job may have written its result and ended since the first look.
            if self.handle.get(key, self.UNDEFINED) is not self.UNDEFINED:
                return self.get_result(key, job)
            log.warning("analysis job process %s ended without a result", job)
            self.terminate_job(job)  # remembered as stopped: reported once
            return lost_job_result(JOB_PROCESS_LOST_MESSAGE)

    return JobProcessManager(cache)


def _stopped_key(job: Any) -> str:
    return f"metrics-dashboard-stopped-job-{job}"


def process_running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has: it awaits its reaper)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # gone (reaped), or not ours to look at
        return False


def stop_process_tree(pid: int) -> None:
    """Kill ``pid`` and its descendants, if still there. Never raises for a process that ended
    or was reaped meanwhile, and never waits: its parent's reaper collects it."""
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return
        family = [*process.children(recursive=True), process]
    except psutil.Error:
        return
    for member in family:
        with suppress(psutil.Error):
            member.kill()  # psutil checks the pid still names the same process


def release_inherited_connections() -> None:
    """In a forked child: let go of every TCP socket inherited from the parent.

    Each such descriptor is pointed at /dev/null rather than closed, so that its number stays
    taken: a socket object inherited from the parent that is closed later (by the garbage
    collector) then closes /dev/null, not a file this process opened since.
    """
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            descriptor = int(name)
            if descriptor == devnull or not _is_tcp_socket(descriptor):
                continue
            os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def _is_tcp_socket(descriptor: int) -> bool:
    try:
        if not stat.S_ISSOCK(os.fstat(descriptor).st_mode):
            return False
        probe = socket.socket(fileno=descriptor)
    except OSError:
        return False
    try:
        return (
            probe.family in (socket.AF_INET, socket.AF_INET6) and probe.type == socket.SOCK_STREAM
        )
    finally:
        probe.detach()  # inspect only: the descriptor stays open


def _ensure_reaper() -> None:
    """Start this process's reaper thread unless it is running (call after starting a job)."""
    global _reaper
    with _reaper_lock:
        if _reaper is None:
            _reaper = threading.Thread(target=_reap_jobs, name="job-reaper", daemon=True)
            _reaper.start()


def _reap_jobs() -> None:
    """Reap ended jobs until none is left; the check and the exit happen under the lock so that
    a job started meanwhile either is seen here or starts a new reaper."""
    global _reaper
    from multiprocess import active_children  # the process library Dash starts jobs with

    while True:
        time.sleep(REAP_INTERVAL_S)
        with _reaper_lock:
            # active_children() also waits, without blocking, for the children that ended.
            if not active_children():
                _reaper = None
                return


CELERY_WORKER_LOST_MESSAGE = (
    "The worker running this analysis stopped before it finished (it was killed, ran out of "
    "memory or passed its time limit); no report was written. Start it again; if this "
    "persists, ask the operator to check the Celery workers."
)
# Request headers that never travel to a Celery worker through Redis (credentials).
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def _celery_job_manager(settings: Settings) -> Any:
    """Dash's CeleryManager, with what a broker outage or a dead worker needs.

    * A job whose worker died is reported to its page: its slot lease
      (:mod:`metrics_dashboard.web.job_slots`, named after the task id) lapsed after the job
      had started, or Celery marked the task failed (its pool process was killed). Dash would
      keep polling a task that stays PENDING forever, or stop without a word.
    * Credentials in the starting request's headers are not copied into the task message.
    * A cancel is remembered, so that a cancelled job is not reported lost.
    """
    from dash import CeleryManager

    store = slot_store(settings.cache_dir, settings.redis_url)

    class JobQueueManager(CeleryManager):
        def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> Any:
            context = dict(context)
            headers = context.get("headers") or {}
            context["headers"] = {
                name: value
                for name, value in headers.items()
                if name.lower() not in _PRIVATE_HEADERS
            }
            context["cookies"] = {}
            return super().call_job_fn(key, job_fn, args, context)

        def terminate_job(self, job: Any) -> None:
            if job is None:
                return
            store.renew(_stopped_key(job), STOPPED_JOB_MEMORY_S)
            super().terminate_job(job)

        def get_result(self, key: str, job: Any) -> Any:
            result = super().get_result(key, job)
            if result is not self.UNDEFINED or job is None or store.exists(_stopped_key(job)):
                return result
            failed = self.get_task(job).state in ("FAILURE", "REVOKED")
            lapsed = store.exists(started_name(job)) and not store.exists(lease_name(job))
            if not (failed or lapsed):
                return self.UNDEFINED
            result = super().get_result(key, job)  # written just before the lease lapsed?
            if result is not self.UNDEFINED:
                return result
            log.warning(
                "analysis job %s lost its worker (%s)",
                job,
                "task failed" if failed else "lease lapsed",
            )
            store.renew(_stopped_key(job), STOPPED_JOB_MEMORY_S)  # reported once
            return lost_job_result(CELERY_WORKER_LOST_MESSAGE)

    return JobQueueManager(celery_app(settings))


def celery_time_limit_s(settings: Settings) -> int:
    """Celery's hard limit on one task: a job may first wait its turn behind every queued job
    (see job_slots), then run; the in-job limit of :func:`run_analysis_job` comes first."""
    return (settings.max_queued_analyses + 1) * settings.max_analysis_timeout + 30


@functools.cache
def celery_app(settings: Settings) -> Any:
    """The Celery application the web process and the workers share (broker and results in
    Redis). Celery's own time limits back up the in-job limit of :func:`run_analysis_job`.

    Every Redis call gives up after REDIS_TIMEOUT_S and is retried at most once: a web request
    that starts a job answers within seconds when Redis is down (Celery's default retry policy
    of the result backend alone held it for 20 s). Workers keep reconnecting to the broker.

    One instance per settings: Dash registers the background callbacks as tasks of the instance
    its manager holds, and :func:`metrics_dashboard.web.worker.run_celery_worker` must run that
    very instance.
    """
    from celery import Celery

    retry_once = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
    app = Celery("metrics_dashboard", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_time_limit=celery_time_limit_s(settings),
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=REDIS_TIMEOUT_S,
        broker_transport_options={
            "socket_timeout": REDIS_TIMEOUT_S,
            "socket_connect_timeout": REDIS_TIMEOUT_S,
        },
        task_publish_retry_policy=retry_once,
        redis_socket_timeout=REDIS_TIMEOUT_S,
        redis_socket_connect_timeout=REDIS_TIMEOUT_S,
        result_backend_transport_options={"retry_policy": retry_once},
    )
    return app


def run_analysis_job(
    config_data: Mapping[str, Any],
    *,
    settings: Settings,
    set_progress: ProgressReporter,
    job_token: str = "",
    exclusive_key: str | None = None,
    user: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> JobOutcome:
    """Run one analysis for a page; never raises for a problem the user can fix.

    ``config_data`` is the configuration as the page built it (validated here with
    ``parse_config``). The job first takes a slot (:mod:`metrics_dashboard.web.job_slots`):
    while it waits, progress says ``Queued (N ahead)``. ``user`` is whose share of the slots it
    uses (default: the identity of the request that started it, see :func:`job_user`). While a
    job holding ``exclusive_key`` runs or waits, another with the same key does not run: it
    returns at once with an error saying so. Progress goes to ``set_progress`` as ``(percent,
    label)``. The analysis stops with an error after ``settings.max_analysis_timeout`` seconds
    (counted from when it got its slot).
    """
    kind = str(config_data.get("analysis_type", "analysis"))
    slots = JobSlots(
        slot_store(settings.cache_dir, settings.redis_url),
        Limits(
            running=settings.max_concurrent_analyses,
            per_user=settings.max_analyses_per_user,
            waiting=settings.max_queued_analyses,
        ),
    )
    with job_log_context(job_token):
        try:
            with slots.slot(
                user=user or job_user(),
                exclusive_key=exclusive_key,
                ticket_id=current_celery_task_id(),
                on_wait=lambda place: set_progress(queued_progress(place)),
            ):
                return _run_in_slot(config_data, settings, set_progress, kind, job_token, clock)
        except SlotRefused as refusal:
            log.info("analysis job not started kind=%s job=%s: %s", kind, job_token, refusal)
            return JobOutcome(kind=kind, error=str(refusal))
        except Exception as error:  # from the slots' store: _run_in_slot catches its own
            log.exception("analysis job could not get a slot kind=%s job=%s", kind, job_token)
            message = (
                QUEUE_UNAVAILABLE_MESSAGE
                if _is_queue_unavailable(error)
                else "The analysis could not be queued (details in the server log)."
            )
            return JobOutcome(kind=kind, error=message)


def _run_in_slot(
    config_data: Mapping[str, Any],
    settings: Settings,
    set_progress: ProgressReporter,
    kind: str,
    job_token: str,
    clock: Callable[[], float],
) -> JobOutcome:
    limit = settings.max_analysis_timeout
    started = clock()
    deadline = started + limit

    def progress(stage: str, fraction: float) -> None:
        if clock() > deadline:
            raise AnalysisTimeout
        set_progress(progress_value(stage=stage, fraction=fraction))

    result, outcome_label = _attempt(config_data, settings, progress, kind, limit, job_token)
    if kind in ANALYSIS_KINDS:
        record_analysis(kind, clock() - started, outcome_label)
    return result


def queued_progress(place: Place) -> tuple[int, str]:
    """The progress bar's (percent, label) while a job waits for a slot."""
    if place.own_running and place.ahead == 0:
        return 0, "Queued: your other analysis runs first…"
    return 0, f"Queued ({place.ahead} ahead)…"


# The namespace of what the request that starts a job tells the job (callback_context.custom_data).
_JOB_CONTEXT = "metrics_dashboard"


@dash.hooks.custom_data(_JOB_CONTEXT)
def _request_identity(_context: Any) -> dict[str, str]:
    """Runs in the request of every callback: who asks, for the job slots' per-user limit (the
    authenticated name, else the client address). Dash hands it to background jobs."""
    return {"user": g.get("user") or request.remote_addr or "-"}


def job_user() -> str:
    """The identity of the request that started the running background job ("-" outside one)."""
    try:
        data = dash.callback_context.custom_data.get(_JOB_CONTEXT, {})
    except Exception:  # no callback context: called outside a callback (tests, scripts)
        return "-"
    return str(data.get("user") or "-")


def current_celery_task_id() -> str | None:
    """The id of the Celery task running this code (the Dash job id), if any: the job's slot
    ticket is named after it so that the web process can find the job's lease."""
    try:
        from celery import current_task
    except ImportError:
        return None
    request_ = getattr(current_task, "request", None) if current_task else None
    return getattr(request_, "id", None)


def _attempt(
    config_data: Mapping[str, Any],
    settings: Settings,
    progress: runner.ProgressCallback,
    kind: str,
    limit: int,
    job_token: str,
) -> tuple[JobOutcome, str]:
    """The job's outcome for the page and its label for the analysis metrics."""
    try:
        config = parse_config(dict(config_data))
        with time_limit(limit):
            outcome = runner.run_analysis(config, settings=settings, progress=progress)
    except ConfigError as error:
        return JobOutcome(kind=kind, error=f"Invalid configuration: {error}"), "invalid_config"
    except DataSourceError as error:
        return JobOutcome(kind=kind, error=f"Data source problem: {error}"), "data_source_error"
    except ReportStoreError as error:
        message = f"The report could not be written: {error}"
        return JobOutcome(kind=kind, error=message), "output_error"
    except AnalysisTimeout:
        message = (
            f"The analysis took longer than the {limit} s limit (MAX_ANALYSIS_TIMEOUT) and "
            "was stopped; no report was written. Try a shorter window or fewer items."
        )
        return JobOutcome(kind=kind, error=message), "timeout"
    except Exception:
        log.exception("analysis job failed kind=%s job=%s", kind, job_token)
        message = (
            f"Unexpected error: the analysis failed (details in the server log, job {job_token})."
        )
        return JobOutcome(kind=kind, error=message), "error"
    log.info(
        "analysis job done kind=%s job=%s report=%s seconds=%.3f",
        kind,
        job_token,
        outcome.report_name,
        outcome.seconds,
    )
    result = JobOutcome(
        kind=outcome.kind,
        report_name=outcome.report_name,
        aggregated_score=outcome.aggregated_score * 100,
        seconds=outcome.seconds,
    )
    return result, "success"


def progress_value(*, stage: str, fraction: float) -> tuple[int, str]:
    """The progress bar's (percent, label) for a runner stage."""
    percent = round(max(0.0, min(1.0, fraction)) * 100)
    return percent, f"{STAGE_LABELS.get(stage, stage.capitalize())}… {percent}%"


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`AnalysisTimeout` inside the block after ``seconds``.

    Jobs run in the main thread of their own process (a diskcache child or a Celery prefork
    worker), where SIGALRM can interrupt a long scoring step. Elsewhere (a thread) only the
    deadline checked at each progress step applies.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise AnalysisTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
