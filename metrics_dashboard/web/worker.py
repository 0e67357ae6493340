"""``metrics-dashboard worker``: a Celery worker that runs the web app's background analyses.

Apart from :mod:`metrics_dashboard.web.jobs` because it builds the app (which imports the jobs
module): the job manager itself never depends on the app.
"""

from __future__ import annotations

from metrics_dashboard.settings import Settings
from metrics_dashboard.web.app import create_app
from metrics_dashboard.web.jobs import celery_app


def run_celery_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """Run a Celery worker (prefork pool) for the app's background analyses until stopped.

    Building the app registers every background callback as a task of :func:`celery_app`;
    the pool's processes fork from here with the app (and its settings) already in place.
    """
    create_app(settings)
    argv = ["worker", "--pool=prefork", f"--loglevel={settings.log_level}"]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    celery_app(settings).worker_main(argv)
