"""Scale-out tests: the production server (gunicorn) and background analyses on Celery + Redis.

The helpers start real processes on loopback ports and always stop them: a throwaway
``redis-server`` (no persistence), ``metrics-dashboard worker`` and ``metrics-dashboard serve``
with extra arguments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.conftest import (
    PROJECT_ROOT,
    START_TIMEOUT_S,
    LiveApp,
    free_port,
    stop_app,
)

# A slowed-down app or worker, so that jobs can be watched, cancelled, killed and timed out. The
# slowdown is a `sitecustomize` module on the process's PYTHONPATH (test only): it wraps the
# runner so that each progress step pauses, a little for availability, long for resilience.
SLOW_RUNNER = """
import time

import metrics_dashboard.runner as runner

PAUSE_S = {"availability": 1.0, "resilience": 4.0}
_run_analysis = runner.run_analysis


def slow_run_analysis(config, *, settings, progress=None, **kwargs):
    def paused(stage, fraction):
        if progress is not None:
            progress(stage, fraction)
        time.sleep(PAUSE_S[config.analysis_type])

    return _run_analysis(config, settings=settings, progress=paused, **kwargs)


runner.run_analysis = slow_run_analysis
"""


def slow_runner_env(base: Path) -> dict[str, str]:
    """The environment that slows a process's analyses down (see ``SLOW_RUNNER``)."""
    (base / "patch").mkdir(exist_ok=True)
    (base / "patch" / "sitecustomize.py").write_text(SLOW_RUNNER)
    return {"PYTHONPATH": os.pathsep.join([str(base / "patch"), str(PROJECT_ROOT)])}


def run_cli(
    tmp: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``metrics-dashboard *args`` with the directories of an app on ``tmp``, to completion."""
    return subprocess.run(
        cli_command(*args),
        cwd=PROJECT_ROOT,
        env=app_env(tmp, free_port(), extra_env),
        capture_output=True,
        text=True,
        timeout=60,
    )


REDIS_SERVER = "redis-server"
READY_TIMEOUT_S = 60


def app_env(tmp: Path, port: int, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an app or worker process on the demo data, with its own directories
    under ``tmp`` (the layout of ``tests.browser.conftest.start_app``)."""
    (tmp / "output").mkdir(parents=True, exist_ok=True)
    (tmp / "cache").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATA_SOURCE": "demo",
        "OUTPUT_DIR": str(tmp / "output"),
        "CACHE_DIR": str(tmp / "cache"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "FLASK_DEBUG": "false",
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    env.pop("MONGODB_CONNECTION_STRING", None)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "metrics_dashboard.cli", "--env-file", "/nonexistent", *args]


def serve(
    tmp: Path,
    serve_args: Sequence[str] = (),
    *,
    extra_env: dict[str, str] | None = None,
    ready_path: str = "/",
) -> LiveApp:
    """``metrics-dashboard serve *serve_args`` in its own process, once ``ready_path`` answers
    (``/healthz`` for an app that wants an identity everywhere else)."""
    port = free_port()
    log_path = tmp / "app.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            cli_command("serve", *serve_args),
            cwd=PROJECT_ROOT,
            env=app_env(tmp, port, extra_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    app = LiveApp(f"http://127.0.0.1:{port}", tmp / "output", tmp / "cache", log_path, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{app.log_text()}")
        try:
            with urllib.request.urlopen(app.url + ready_path, timeout=2):
                return app
        except OSError:
            time.sleep(0.3)
    stop_app(app)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT_S}s:\n{app.log_text()}")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A throwaway Redis on a free loopback port, without persistence; yields its URL."""
    executable = shutil.which(REDIS_SERVER)
    if executable is None:
        pytest.fail("redis-server not found: install Debian's redis-server package (see .ci/run)")
    port = free_port()
    directory = tmp / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "redis.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                executable,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(directory),
                "--protected-mode", "yes",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_redis(port, process, log_path)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(process)


def wait_for_redis(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{log_path.read_text(errors='replace')}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.1)
    finally:
        client.close()
    raise RuntimeError(f"redis-server did not answer within {READY_TIMEOUT_S}s")


@contextmanager
def celery_worker(
    tmp: Path,
    redis_url: str,
    *,
    concurrency: int = 2,
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``metrics-dashboard worker`` with the directories of an app started on ``tmp``; yields
    the process and its log once it is ready for jobs."""
    log_path = tmp / "worker.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            cli_command("worker", "--concurrency", str(concurrency)),
            cwd=PROJECT_ROOT,
            env=app_env(tmp, free_port(), {"REDIS_URL": redis_url, **(extra_env or {})}),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the Celery worker did not start:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.2)
        yield process, log_path
    finally:
        stop_process(process)
