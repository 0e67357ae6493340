"""Background analyses for the web app: the callback manager and the job body.

A job is one Dash background callback: Dash keys it by the request that started it and signs its
handles for that page load, so a browser can only poll or cancel its own jobs. Nothing here keeps
job state between requests; the pages pass a per-page-load token (:func:`new_job_token`) among
the callback's arguments so that two sessions submitting the very same configuration still get
distinct Dash cache keys and never read each other's result.

The job body (:func:`run_analysis_job`) wraps :func:`metrics_dashboard.runner.run_analysis` with
progress reporting, the ``MAX_ANALYSIS_TIMEOUT`` time limit and error messages a user can act on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from analytics.config import ConfigError, parse_config
from data_access.base import DataSourceError
from data_access.report_store import ReportStoreError
from metrics_dashboard import runner
from metrics_dashboard.settings import Settings

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


def new_job_token() -> str:
    """A fresh token for one page load (see the module docstring)."""
    return uuid.uuid4().hex


def background_manager(settings: Settings) -> Any:
    """Dash's background-callback manager: Celery on ``REDIS_URL`` when set, otherwise diskcache
    in ``settings.jobs_cache_dir`` with jobs run in child processes of the web server."""
    if settings.redis_url:
        from dash import CeleryManager

        return CeleryManager(celery_app(settings))

    import diskcache
    from dash import DiskcacheManager

    settings.jobs_cache_dir.mkdir(parents=True, exist_ok=True)
    return DiskcacheManager(diskcache.Cache(str(settings.jobs_cache_dir)))


def celery_app(settings: Settings) -> Any:
    """The Celery application the web process and the workers share (broker and results in
    Redis). Celery's own time limits back up the in-job limit of :func:`run_analysis_job`."""
    from celery import Celery

    app = Celery("metrics_dashboard", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_time_limit=settings.max_analysis_timeout + 30,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    return app


def run_analysis_job(
    config_data: Mapping[str, Any],
    *,
    settings: Settings,
    set_progress: ProgressReporter,
    job_token: str = "",
) -> JobOutcome:
    """Run one analysis for a page; never raises for a problem the user can fix.

    ``config_data`` is the configuration as the page built it (validated here with
    ``parse_config``). Progress goes to ``set_progress`` as ``(percent, label)``. The run stops
    with an error after ``settings.max_analysis_timeout`` seconds.
    """
    kind = str(config_data.get("analysis_type", "analysis"))
    limit = settings.max_analysis_timeout
    deadline = time.monotonic() + limit

    def progress(stage: str, fraction: float) -> None:
        if time.monotonic() > deadline:
            raise AnalysisTimeout
        set_progress(progress_value(stage=stage, fraction=fraction))

    try:
        config = parse_config(dict(config_data))
        with time_limit(limit):
            outcome = runner.run_analysis(config, settings=settings, progress=progress)
    except ConfigError as error:
        return JobOutcome(kind=kind, error=f"Invalid configuration: {error}")
    except DataSourceError as error:
        return JobOutcome(kind=kind, error=f"Data source problem: {error}")
    except ReportStoreError as error:
        return JobOutcome(kind=kind, error=f"The report could not be written: {error}")
    except AnalysisTimeout:
        return JobOutcome(
            kind=kind,
            error=(
                f"The analysis took longer than the {limit} s limit (MAX_ANALYSIS_TIMEOUT) and "
                "was stopped; no report was written. Try a shorter window or fewer items."
            ),
        )
    except Exception:
        log.exception("analysis job failed kind=%s job=%s", kind, job_token)
        return JobOutcome(
            kind=kind,
            error=f"Unexpected error: the analysis failed (details in the server log, job {job_token}).",
        )
    log.info(
        "analysis job done kind=%s job=%s report=%s seconds=%.3f",
        kind,
        job_token,
        outcome.report_name,
        outcome.seconds,
    )
    return JobOutcome(
        kind=outcome.kind,
        report_name=outcome.report_name,
        aggregated_score=outcome.aggregated_score * 100,
        seconds=outcome.seconds,
    )


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
