"""How the web app reports on itself: probes, Prometheus metrics, request ids and access logs.

- ``/healthz``: 200 while the process serves requests (load balancers; never behind auth).
- ``/readyz``: 200 when the data source (and, with ``REDIS_URL``, the job queue's Redis) answers
  its ping within :data:`READINESS_TIMEOUT_S`, else 503 with the reason as JSON.
- ``/metrics``: Prometheus text format. The scores of the latest availability and resilience
  reports (read from ``OUTPUT_DIR`` at scrape time, so every worker shows the same), analysis
  counts and durations (:func:`record_analysis`) and request latencies per route (Dash
  callbacks per output id).
- Every request gets an id (the caller's ``X-Request-ID`` when well formed, else a new one),
  echoed in the response's ``X-Request-ID`` and put on every log record made while serving it
  through :class:`LogContextFilter`; one access-log line per request (logger
  ``metrics_dashboard.access``; INFO, DEBUG for the probes and /metrics).

Several processes (gunicorn workers, background-job processes, Celery workers): set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by all of them *before* they start;
prometheus_client then keeps the counters in files there and ``/metrics`` adds them up.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Response, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from data_access.base import DataSourceError
from data_access.report_store import ReportStore, ReportStoreError
from metrics_dashboard import runner
from metrics_dashboard.logging_setup import log_field, request_id_var
from metrics_dashboard.settings import Settings

if TYPE_CHECKING:  # the logging setup imports this module, on the command line too: no Dash
    import dash

log = logging.getLogger(__name__)
access_log = logging.getLogger("metrics_dashboard.access")

REQUEST_ID_HEADER = "X-Request-ID"
READINESS_TIMEOUT_S = 5.0
ANALYSIS_KINDS = ("availability", "resilience")
ANALYSIS_OUTCOMES = (
    "success",
    "invalid_config",
    "data_source_error",
    "output_error",
    "timeout",
    "error",
)
NO_CALLBACK = ""
UNKNOWN_CALLBACK = "unknown"
UNMATCHED_ROUTE = "unmatched"

# Ids made by proxies and tracers (uuids, hex, base64url-ish); anything else is replaced so that
# a client cannot inject text into log lines.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_LOG_PATH_SAFE = "/:@!$&'()*+,;=-._~"

# The *_created series double the output and no dashboard or alert here uses them.
disable_created_metrics()

ANALYSES = Counter(
    "metrics_dashboard_analyses",
    "Analyses finished, by kind and outcome.",
    ["kind", "outcome"],
)
ANALYSIS_SECONDS = Histogram(
    "metrics_dashboard_analysis_duration_seconds",
    "Wall-clock duration of analyses, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
REQUESTS = Counter(
    "metrics_dashboard_http_requests",
    "HTTP requests answered, by route (Dash callbacks by output id), method and status code.",
    ["route", "callback", "method", "code"],
)
REQUEST_SECONDS = Histogram(
    "metrics_dashboard_http_request_duration_seconds",
    "Time to build each HTTP response, by route (Dash callbacks by output id) and method.",
    ["route", "callback", "method"],
)


def request_id_from(header_value: str | None) -> str:
    """The caller's request id when it is well formed, else a fresh one."""
    if header_value and _REQUEST_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


# --- analysis metrics --------------------------------------------------------------------


def record_analysis(kind: str, seconds: float, outcome: str) -> None:
    """Count one finished analysis and its duration. Call it where the analysis ran (a web
    worker, a background-job process or a Celery worker): multiprocess mode adds them up."""
    if kind not in ANALYSIS_KINDS:
        raise ValueError(f"unknown analysis kind {kind!r} (expected one of {ANALYSIS_KINDS})")
    if outcome not in ANALYSIS_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (expected one of {ANALYSIS_OUTCOMES})")
    ANALYSES.labels(kind, outcome).inc()
    ANALYSIS_SECONDS.labels(kind, outcome).observe(max(0.0, seconds))


# --- report scores -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFigures:
    """What /metrics shows of one report: scores as ratios (0 to 1, NaN for no data)."""

    kind: str
    name: str
    analysis_timestamp: float
    aggregated_score: float
    status_counts: dict[str, int]
    items: tuple[tuple[str, str, str, float], ...]  # (id, type, status, score)


def report_figures(kind: str, name: str, report: dict[str, Any]) -> ReportFigures:
    """The figures of a report loaded with :func:`analytics.report.load_report`."""
    if kind == "availability":
        entries, type_field, counts = report["services"], "service_type", "services_by_status"
    else:
        entries, type_field, counts = report["targets"], "target_type", "targets_by_status"
    summary = report["summary"]
    return ReportFigures(
        kind=kind,
        name=name,
        # Not pandas: its nanosecond timestamps end in 2262, report timestamps do not.
        analysis_timestamp=datetime.fromisoformat(report["analysis_timestamp"]).timestamp(),
        aggregated_score=_ratio(summary["aggregated_score"]),
        status_counts=dict(summary[counts]),
        # Keyed by the report's own keys: unique even in older-tool files, whose keys and
        # service_id fields may differ.
        items=tuple(
            (key, entry[type_field], entry["final_status"], _ratio(entry["final_score"]))
            for key, entry in entries.items()
        ),
    )


def _ratio(percent: float | None) -> float:
    return math.nan if percent is None else percent / 100.0


class ReportScoreCollector(Collector):
    """The latest report of each kind in ``OUTPUT_DIR``, read at scrape time.

    A report is loaded once per name (a new analysis has a new name), so a scrape costs a
    directory listing when nothing changed.
    """

    def __init__(self, store: ReportStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._latest: dict[str, ReportFigures] = {}
        self._problems: dict[str, str] = {}

    def describe(self) -> Iterable[Any]:
        return []  # the families exist only when reports do; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = [found for kind in ANALYSIS_KINDS if (found := self._figures(kind))]
        item_families = {
            "availability": GaugeMetricFamily(
                "metrics_dashboard_availability_score",
                "Final availability score per service in the latest availability report "
                "(0 to 1; NaN when the service had no data).",
                labels=["service_id", "service_type", "status"],
            ),
            "resilience": GaugeMetricFamily(
                "metrics_dashboard_resilience_score",
                "Final resilience score per backup target in the latest resilience report (0 to 1).",
                labels=["target_id", "target_type", "status"],
            ),
        }
        aggregated = GaugeMetricFamily(
            "metrics_dashboard_aggregated_score",
            "Aggregated score of the latest report of each kind (0 to 1; NaN when no data).",
            labels=["kind"],
        )
        counts = GaugeMetricFamily(
            "metrics_dashboard_report_items",
            "Services or backup targets per status in the latest report of each kind.",
            labels=["kind", "status"],
        )
        timestamps = GaugeMetricFamily(
            "metrics_dashboard_report_timestamp_seconds",
            "When the latest report of each kind was computed (Unix time).",
            labels=["kind"],
        )
        for report in figures:
            for item_id, item_type, status, score in report.items:
                item_families[report.kind].add_metric([item_id, item_type, status], score)
            aggregated.add_metric([report.kind], report.aggregated_score)
            for status, count in report.status_counts.items():
                counts.add_metric([report.kind, status], count)
            timestamps.add_metric([report.kind], report.analysis_timestamp)
        yield from (*item_families.values(), aggregated, counts, timestamps)

    def _figures(self, kind: str) -> ReportFigures | None:
        try:
            entry = self._store.latest(kind)  # type: ignore[arg-type]
            if entry is None:
                return None
            with self._lock:
                cached = self._latest.get(kind)
            if cached is not None and cached.name == entry.name:
                return cached
            figures = report_figures(kind, entry.name, self._store.load(entry.name))
        except ReportStoreError as error:
            self._note_problem(kind, f"/metrics cannot read the latest {kind} report: {error}")
            return None
        except Exception as error:
            # A hostile or corrupt file in OUTPUT_DIR must not take /metrics down with it.
            self._note_problem(
                kind,
                f"/metrics cannot read the latest {kind} report: {type(error).__name__}: {error}",
            )
            return None
        with self._lock:
            self._latest[kind] = figures
            self._problems.pop(kind, None)
        return figures

    def _note_problem(self, kind: str, problem: str) -> None:
        # Scrapes come every few seconds: say it once, not on every scrape.
        with self._lock:
            repeated = self._problems.get(kind) == problem
            self._problems[kind] = problem
        if not repeated:
            log.warning("%s", problem)


def metrics_text(report_collector: Collector) -> bytes:
    """The whole /metrics page: this process's metrics (or, in multiprocess mode, those of
    every process) followed by the report scores."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        process_part = generate_latest(registry)
    else:
        process_part = generate_latest(REGISTRY)
    reports = CollectorRegistry()
    reports.register(report_collector)
    return process_part + generate_latest(reports)


# --- readiness ---------------------------------------------------------------------------


class NotReady(Exception):
    """A dependency other than the data source is unavailable; the message says which."""


def ping_job_queue(settings: Settings) -> None:
    """Raise NotReady unless the job queue's Redis (``REDIS_URL``) answers within its socket
    timeouts."""
    from urllib.parse import urlsplit

    from metrics_dashboard.web.job_slots import slot_store

    where = urlsplit(settings.redis_url or "")
    try:
        slot_store(settings.cache_dir, settings.redis_url).ping()
    except Exception as error:
        raise NotReady(
            f"the job queue (Redis at {where.hostname}:{where.port or 6379}) did not answer: "
            f"{type(error).__name__}"
        ) from None


class ReadinessCheck:
    """Runs ``ping`` in a daemon thread and waits at most ``timeout_s`` for it.

    Concurrent probes share the ping in flight, so a data source that hangs ties up one thread,
    not one per probe; a daemon thread never delays the process's exit.
    """

    def __init__(self, ping: Callable[[], None], *, timeout_s: float) -> None:
        self._ping = ping
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._in_flight: _PingRun | None = None

    def __call__(self) -> str | None:
        """None when ready, else the reason (one line)."""
        with self._lock:
            if self._in_flight is None or self._in_flight.finished.is_set():
                self._in_flight = _PingRun(self._ping)
            run = self._in_flight
        if not run.finished.wait(self._timeout_s):
            return f"the data source did not answer within {self._timeout_s:g} s"
        return run.problem


class _PingRun:
    def __init__(self, ping: Callable[[], None]) -> None:
        self.finished = threading.Event()
        self.problem: str | None = None
        self._ping = ping
        threading.Thread(target=self._run, name="readiness-ping", daemon=True).start()

    def _run(self) -> None:
        try:
            self._ping()
        except (DataSourceError, NotReady) as error:
            self.problem = str(error)
        except Exception as error:
            log.exception("readiness check failed")
            self.problem = f"readiness check failed: {type(error).__name__} (see the server log)"
        finally:
            self.finished.set()


# --- installation ------------------------------------------------------------------------


def install_observability(
    app: dash.Dash, settings: Settings, *, readiness_timeout_s: float = READINESS_TIMEOUT_S
) -> frozenset[str]:
    """Add the probes, /metrics, request ids, access logs and request metrics to ``app``.

    Call it before registering authentication, so that refused requests are logged and timed
    too. Returns the paths that must stay open without authentication (the liveness probe).
    """
    server = app.server
    prefix = app.config.routes_pathname_prefix
    callback_path = prefix + "_dash-update-component"

    def ping() -> None:
        runner.data_source_for(settings).ping()
        if settings.redis_url:  # analyses cannot start without their queue
            ping_job_queue(settings)

    ready = ReadinessCheck(ping, timeout_s=readiness_timeout_s)
    report_collector = ReportScoreCollector(ReportStore(settings.output_dir))

    def healthz() -> Response:
        return jsonify(status="ok")

    def readyz() -> tuple[Response, int]:
        problem = ready()
        if problem is None:
            return jsonify(status="ready"), 200
        return jsonify(status="unavailable", reason=problem), 503

    def metrics() -> Response:
        return Response(
            metrics_text(report_collector), mimetype=None, content_type=CONTENT_TYPE_LATEST
        )

    quiet_paths = frozenset(prefix + name for name in ("healthz", "readyz", "metrics"))
    server.add_url_rule(prefix + "healthz", "metrics_dashboard_healthz", healthz)
    server.add_url_rule(prefix + "readyz", "metrics_dashboard_readyz", readyz)
    server.add_url_rule(prefix + "metrics", "metrics_dashboard_metrics", metrics)

    def start_request() -> None:
        g.request_started = time.perf_counter()
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_id = request_id
        g.request_id_token = request_id_var.set(request_id)

    def finish_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # a request that failed before start_request ran
            return response
        seconds = time.perf_counter() - started
        response.headers[REQUEST_ID_HEADER] = g.request_id
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
        callback = NO_CALLBACK
        if request.path == callback_path:
            callback = _callback_output(app, response.status_code)
        REQUESTS.labels(route, callback, request.method, str(response.status_code)).inc()
        REQUEST_SECONDS.labels(route, callback, request.method).observe(seconds)
        # Probes and scrapes come every few seconds: their lines would drown the others.
        access_log.log(
            logging.DEBUG if request.path in quiet_paths else logging.INFO,
            "request method=%s path=%s status=%d duration_ms=%.1f user=%s%s",
            request.method,
            quote(request.path, safe=_LOG_PATH_SAFE),
            response.status_code,
            seconds * 1000,
            log_field(g.get("user", "-")),
            f" callback={callback}" if callback else "",
        )
        return response

    def end_request(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)

    server.before_request(start_request)
    server.after_request(finish_request)
    server.teardown_request(end_request)
    return frozenset({prefix + "healthz"})


def _callback_output(app: dash.Dash, status: int) -> str:
    """The Dash output id a callback request was for: a key of the app's callback map, so the
    label's values are bounded by the callbacks the app has."""
    if status in (401, 403, 413):
        # Refused before Dash read the body: do not parse an unauthenticated body here.
        return UNKNOWN_CALLBACK
    body = request.get_json(silent=True)  # already parsed (and cached) by Dash
    output = body.get("output") if isinstance(body, dict) else None
    return output if isinstance(output, str) and output in app.callback_map else UNKNOWN_CALLBACK
