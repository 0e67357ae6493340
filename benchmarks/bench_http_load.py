"""HTTP load on the production server: simulated users loading both dashboards and firing their
callbacks; prints p50/p95/p99 latency and the error rate against the target.

    python benchmarks/bench_http_load.py                        # 50 users, 60 s, 2 web workers
    python benchmarks/bench_http_load.py --users 20 --duration 15

It writes one availability and one resilience report of the demo data with
``metrics-dashboard analyze``, starts ``metrics-dashboard serve --workers N`` on a free loopback
port, and loads each dashboard once in headless Chromium (Debian's ``/usr/bin/chromium``) to
record the requests the real page sends: the page, ``/_dash-layout``, ``/_dash-dependencies``
and each ``/_dash-update-component`` callback with its exact payload.

Each simulated user is a thread with its own keep-alive connection (``http.client``) that, until
the time is up, visits the availability then the resilience dashboard: GET the page, the
layout and the dependencies, then POST the recorded callbacks in the order the page sent them
(the pages router callback that builds the dashboard, then the dashboard's figure callbacks),
then pauses for a think time drawn uniformly from 0.5 to 1.5 times ``--think`` seconds (default
5 s: each user opens a dashboard about every 5.5 s, 9 dashboards a second for 50 users; use
``--think 1`` for a stress run). Like a browser it asks for gzip and sends a request again once
on a new connection when the kept-alive one was closed while idle; the script bundles (cached by
browsers for a year: their URLs are fingerprinted) are not requested. Users start spread over
the first two seconds.

Target (issue 5): no errors, and p95 under 500 ms for the dashboard callbacks. Everything runs
on 127.0.0.1 and stops by itself: every loop is bounded by the deadline and a request count.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

HOST = "127.0.0.1"
KINDS = ("availability", "resilience")
REQUEST_TIMEOUT_S = 30
START_TIMEOUT_S = 120
TARGET_P95_MS = 500.0
CALLBACK_GROUP = "dashboard callbacks"
# A user never sends more than this many requests per second of the run, whatever happens.
MAX_REQUESTS_PER_USER_PER_S = 100


@dataclass(frozen=True)
class Request:
    """One recorded request: what to send and how to label it in the results."""

    label: str
    method: str
    target: str  # path and query
    body: bytes | None = None


@dataclass
class Results:
    """Latencies (ms) of successful requests and error counts, by label; thread-safe."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, label: str, milliseconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[label].append(milliseconds)
            if error is not None:
                self.errors[label] += 1
                if len(self.error_examples) < 5:
                    self.error_examples.append(f"{label}: {error}")


# ---------------------------------------------------------------------------------- the app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def app_environment(workdir: Path, cache_dir: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATA_SOURCE": "demo",
        "OUTPUT_DIR": str(workdir / "output"),
        "CACHE_DIR": str(cache_dir),
        "HOST": HOST,
        "PORT": str(port),
        "FLASK_DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("MONGODB_CONNECTION_STRING", None)
    env.pop("REDIS_URL", None)
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "metrics_dashboard.cli", "--env-file", "/nonexistent", *args]


def write_reports(env: dict[str, str]) -> dict[str, str]:
    """One report of each kind, written like an operator would; {kind: report name}."""
    names = {}
    for kind in KINDS:
        done = subprocess.run(
            cli("analyze", kind),
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        names[kind] = Path(done.stdout.strip().splitlines()[-1]).name
    return names


def start_server(env: dict[str, str], workers: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            cli("serve", "--workers", str(workers)),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{HOST}:{env['PORT']}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}: see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT_S} s: see {log_path}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------ the capture


def record_visits(base_url: str, reports: dict[str, str]) -> dict[str, list[Request]]:
    """The requests each dashboard page sends when a browser opens it, in order."""
    from playwright.sync_api import sync_playwright

    visits: dict[str, list[Request]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for kind, report in reports.items():
                page = browser.new_page()
                sent: list[Request] = []
                page.on("request", lambda request, sent=sent, kind=kind: _keep(request, sent, kind))
                page.goto(f"{base_url}/{kind}/dashboard?report={report}")
                page.wait_for_load_state("networkidle")
                page.locator(f"#{kind}-dashboard-aggregated-value").wait_for(timeout=60_000)
                page.wait_for_timeout(1_000)  # late callbacks (figures) after the first render
                page.close()
                visits[kind] = sent
        finally:
            browser.close()
    for kind, sent in visits.items():
        if not any(request.method == "POST" for request in sent):
            raise RuntimeError(f"the {kind} dashboard sent no callback: nothing to replay")
    return visits


def _keep(request, sent: list[Request], kind: str) -> None:
    address = urlsplit(request.url)
    target = address.path + (f"?{address.query}" if address.query else "")
    if request.resource_type == "document":
        sent.append(Request(f"{kind} page", "GET", target))
    elif address.path in ("/_dash-layout", "/_dash-dependencies"):
        sent.append(Request(address.path, "GET", target))
    elif address.path == "/_dash-update-component":
        output = json.loads(request.post_data or "{}").get("output", "?")
        label = "pages router" if "_pages_content" in output else output.strip(".")
        sent.append(Request(f"callback {label}", "POST", target, request.post_data_buffer))


# ------------------------------------------------------------------------------------ the load


def simulated_user(
    visits: dict[str, list[Request]],
    port: int,
    deadline: float,
    think_s: float,
    max_requests: int,
    results: Results,
    seed: int,
) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    sent = 0
    time.sleep(rng.uniform(0, 2))
    try:
        while time.monotonic() < deadline and sent < max_requests:
            for kind in KINDS:
                for request in visits[kind]:
                    if time.monotonic() >= deadline or sent >= max_requests:
                        return
                    connection = send(connection, request, port, results)
                    sent += 1
                pause = think_s * rng.uniform(0.5, 1.5)
                time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
    finally:
        connection.close()


def send(
    connection: http.client.HTTPConnection, request: Request, port: int, results: Results
) -> http.client.HTTPConnection:
    """Send one request and record it; returns the connection to use next (a new one after a
    failure).

    Like a browser, a request whose kept-alive connection turns out to have been closed by the
    server while idle (no response byte received) is sent again once on a new connection.
    """
    headers = {"Accept-Encoding": "gzip"}
    if request.body is not None:
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    error = None
    for attempt in (1, 2):
        try:
            connection.request(request.method, request.target, body=request.body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status not in (200, 204):
                error = f"HTTP {response.status}"
            break
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as failure:
            connection.close()
            connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
            if attempt == 2:
                error = f"{type(failure).__name__}: {failure}"
        except (OSError, http.client.HTTPException) as failure:
            error = f"{type(failure).__name__}: {failure}"
            break
    results.record(request.label, (time.perf_counter() - started) * 1000, error)
    if error is None:
        return connection
    connection.close()
    return http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time (user + system) of a process and its children, living and reaped."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def run_load(
    visits: dict[str, list[Request]], port: int, users: int, duration: float, think: float
) -> tuple[Results, float]:
    results = Results()
    deadline = time.monotonic() + duration
    max_requests = math.ceil(duration * MAX_REQUESTS_PER_USER_PER_S)
    threads = [
        threading.Thread(
            target=simulated_user,
            args=(visits, port, deadline, think, max_requests, results, seed),
            daemon=True,
        )
        for seed in range(users)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + REQUEST_TIMEOUT_S + 5)
    return results, time.monotonic() - started


# --------------------------------------------------------------------------------- the report


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def print_report(results: Results, elapsed: float, args: argparse.Namespace) -> bool:
    groups: dict[str, list[str]] = defaultdict(list)
    for label in results.latencies:
        groups[CALLBACK_GROUP if label.startswith("callback") else label].append(label)
    rows: list[tuple[str, list[str]]] = [
        ("all requests", list(results.latencies)),
        *((group, labels) for group, labels in sorted(groups.items()) if group != CALLBACK_GROUP),
        (CALLBACK_GROUP, groups[CALLBACK_GROUP]),
        *((f"  {label}", [label]) for label in sorted(groups[CALLBACK_GROUP])),
    ]
    print(
        f"\nHTTP load: {args.users} users, {args.duration:g} s, think {args.think:g} s, "
        f"serve --workers {args.workers}, {os.cpu_count()} CPUs; run took {elapsed:.1f} s; "
        f"load average before: {args.load_before:.2f}\n"
    )
    header = f"{'request kind':<52}{'count':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>9}"
    print(header)
    print("-" * len(header))
    for name, labels in rows:
        times = sorted(t for label in labels for t in results.latencies[label])
        errors = sum(results.errors[label] for label in labels)
        rate = f"{errors / len(times) * 100:.2f}%" if times else "n/a"
        print(
            f"{name:<52}{len(times):>8}{len(times) / elapsed:>8.1f}"
            f"{percentile(times, 0.50):>9.1f}{percentile(times, 0.95):>9.1f}"
            f"{percentile(times, 0.99):>9.1f}{rate:>9}"
        )
    for example in results.error_examples:
        print(f"error example: {example}")

    callbacks = sorted(t for label in groups[CALLBACK_GROUP] for t in results.latencies[label])
    total_errors = sum(results.errors.values())
    p95 = percentile(callbacks, 0.95)
    met = total_errors == 0 and p95 < TARGET_P95_MS
    print(
        f"\ntarget: no errors and {CALLBACK_GROUP} p95 < {TARGET_P95_MS:.0f} ms -> "
        f"errors {total_errors}, p95 {p95:.1f} ms: {'MET' if met else 'MISSED'}"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--think", type=float, default=5.0, help="mean pause per page (s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn web workers (default 2)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "metrics-dashboard-bench-cache",
        help="where the demo data set is kept between runs",
    )
    args = parser.parse_args()
    if args.users < 1 or not 0 < args.duration <= 3600 or args.think < 0 or args.workers < 1:
        parser.error("need --users >= 1, 0 < --duration <= 3600, --think >= 0, --workers >= 1")

    with tempfile.TemporaryDirectory(prefix="bench-http-load-") as temporary:
        workdir = Path(temporary)
        port = free_port()
        env = app_environment(workdir, args.cache_dir, port)
        print("writing one report of each kind (metrics-dashboard analyze)...", flush=True)
        reports = write_reports(env)
        print(f"starting serve --workers {args.workers} on port {port}...", flush=True)
        server = start_server(env, args.workers, workdir / "app.log")
        try:
            visits = record_visits(f"http://{HOST}:{port}", reports)
            for kind, sent in visits.items():
                print(f"{kind} dashboard visit: " + ", ".join(r.label for r in sent))
            print(f"loading for {args.duration:g} s...", flush=True)
            args.load_before = os.getloadavg()[0]  # other work on the machine skews figures
            server_cpu = cpu_seconds(psutil.Process(server.pid))
            client_cpu = time.process_time()
            results, elapsed = run_load(visits, port, args.users, args.duration, args.think)
            server_cpu = cpu_seconds(psutil.Process(server.pid)) - server_cpu
            client_cpu = time.process_time() - client_cpu
        finally:
            stop_server(server)
        print_report(results, elapsed, args)
        print(
            f"CPU used: server {server_cpu / elapsed:.2f} cores, this load client "
            f"{client_cpu / elapsed:.2f} cores (of {os.cpu_count()}; the machine may be shared)"
        )


if __name__ == "__main__":
    main()
