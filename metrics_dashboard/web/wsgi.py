"""Production serving: the app under gunicorn, one ``create_app(settings)`` per web worker.

``metrics-dashboard serve`` runs :class:`WebServer` (gunicorn's Python API): a master process
that binds the port and ``--workers`` worker processes, each with :data:`THREADS` threads. The
app is built in each worker after the fork (no ``preload_app``), so nothing that must not cross
a fork (MongoDB clients, Redis connections, the diskcache handle) is shared between workers.
Analyses never run inside a web worker's request: they are background jobs (child processes
with diskcache, Celery workers with ``REDIS_URL``), so requests stay short.

Outside the command line, the same app runs under a plain gunicorn command, with settings from
the environment and ``.env``::

    gunicorn --workers 4 --threads 2 --bind 127.0.0.1:5001 \
        'metrics_dashboard.web.wsgi:app_from_environment()'
"""

from __future__ import annotations

import logging
import os
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from metrics_dashboard.settings import Settings, load_settings

# Threads per worker. Callbacks are short and CPU-bound, so threads of one worker mostly take
# turns on the GIL: more of them only stretch each request (measured with
# benchmarks/bench_http_load.py: p95 clearly worse with 4 than with 1 or 2). Two still let a
# slow client or an upload overlap with the next request. Scale with --workers instead.
THREADS = 2
# Seconds a worker may go silent before the master replaces it. Only requests run in workers
# (analyses are background jobs), so a minute is generous.
WORKER_TIMEOUT_S = 60
# Seconds a worker has to finish its requests on stop or restart before it is killed.
GRACEFUL_TIMEOUT_S = 10


def create_wsgi_app(settings: Settings) -> Any:
    """The WSGI application (the Dash app's Flask server) for ``settings``."""
    from metrics_dashboard.web.app import create_app

    server = create_app(settings).server
    # Dash completes its routes on the first request, without a lock: two threads of a new
    # worker answering their first requests at once can race there ("dictionary changed size
    # during iteration", a 500 for a stylesheet). One request before serving settles it.
    server.test_client().get("/healthz")
    return server


def app_from_environment() -> Any:
    """The WSGI application with settings from the environment and ``.env`` (for ``gunicorn``)."""
    from metrics_dashboard.logging_setup import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return create_wsgi_app(settings)


class _ProjectLogger(glogging.Logger):
    """Gunicorn's own messages go through the project's handlers and format (see
    :func:`metrics_dashboard.logging_setup.configure_logging`) instead of gunicorn's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True


class WebServer(BaseApplication):
    """Gunicorn serving the app on ``settings.host``:``settings.port`` with ``workers`` workers."""

    def __init__(self, settings: Settings, *, workers: int, threads: int = THREADS) -> None:
        if workers < 1 or threads < 1:
            raise ValueError("workers and threads must be at least 1")
        self.settings = settings
        self.options: dict[str, Any] = {
            "bind": [bind_address(settings.host, settings.port)],
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": WORKER_TIMEOUT_S,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            "preload_app": False,
            "proc_name": "metrics-dashboard",
            "logger_class": _ProjectLogger,
            "loglevel": settings.log_level.lower(),
            # Request logging is the app's job (one structured line per request): gunicorn's
            # access log would be a second line in another format.
            "accesslog": None,
            "errorlog": "-",
        }
        super().__init__(prog="metrics-dashboard serve")

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Recent gunicorn versions open a control socket at one fixed path per user: several instances on
        # a machine (tests, staging beside production) would fight over it, and nothing uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        # Called in each worker after the fork (preload_app is off).
        application = create_wsgi_app(self.settings)
        logging.getLogger(__name__).info("web worker ready pid=%d", os.getpid())
        return application


def bind_address(host: str, port: int) -> str:
    """Gunicorn's ``HOST:PORT``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
