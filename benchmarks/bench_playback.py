"""Timeline playback in the browser: milliseconds per step for 20, 100 and 300 services.

Run from the project root: ``python benchmarks/bench_playback.py`` (headless Debian Chromium).

It writes synthetic availability reports (tests/components: every figure computed with the
specified formulas) into a temporary OUTPUT_DIR, starts the real app with two extra pages that
hold the alternatives the dashboard was designed against, and steps each timeline in Chromium:

- ``dashboard``: /availability/dashboard as shipped (CSS gauge cards changed in place by
  assets/playback.js, Plotly only for the aggregated gauge);
- ``children``: the same cards returned by the clientside callback as a children tree of Dash
  components on every step (the other way the brief allows);
- ``indicators``: one Plotly figure holding one ``go.Indicator`` gauge per service (baseline).

A step sets the slider through ``dash_clientside.set_props`` (what the slider and the Play ticks
do), waits until the label, the cards and every Plotly figure show that frame, and forces style
and layout; the time is taken in the page with ``performance.now()``. Steps go frame by frame as
Play does; for the dashboard it also jumps across the timeline so that every gauge changes. The
target is a median of at most 50 ms with 100 services.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tests.chromium import CHROMIUM, CHROMIUM_ARGS, wait_for_js  # noqa: E402

SERVICE_COUNTS = (20, 100, 300)
POINTS = 500
TARGET_MS = 50.0
BASELINE_PATH = "/bench/baseline"
BASELINES = {
    "children": "cards as a children tree",
    "indicators": "one figure of go.Indicator",
}

# Shows one frame as the slider would and resolves with the milliseconds until the page shows it
# (the dashboard's own hook does the same: window.metricsPlayback.step in assets/playback.js).
STEP_BASELINE_JS = """
async (frame) => {
  const channel = new MessageChannel();
  const nextTask = () => new Promise((resolve) => {
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
  const label = document.getElementById("bench-label");
  const graph = document.querySelector("#bench-graph .js-plotly-plot");
  const started = performance.now();
  window.dash_clientside.set_props("bench-slider", {value: frame});
  for (;;) {
    const labelled = label.textContent === String(frame);
    const drawn = !graph || (graph.layout && graph.layout.meta && graph.layout.meta.frame === frame
      && !graph.classList.contains("dash-graph--pending"));
    if (labelled && drawn) break;
    if (performance.now() - started > 60000) throw new Error("frame not shown");
    await nextTask();
  }
  void document.body.offsetHeight;
  return performance.now() - started;
}
"""
STEP_DASHBOARD_JS = "(frame) => window.metricsPlayback.step(frame, 60000)"

# The two alternatives, as clientside callbacks over the dashboard's own playback payload.
INDICATORS_JS = """
function (frame, payload, figure) {
  const scores = payload.scores[frame], codes = payload.codes[frame];
  const data = figure.data.map(function (trace, i) {
    return Object.assign({}, trace, {
      value: scores[i] === null ? 0 : scores[i],
      gauge: Object.assign({}, trace.gauge, {bar: {color: payload.colors[codes[i]]}}),
    });
  });
  return [{data: data, layout: Object.assign({}, figure.layout, {meta: {frame: frame}})}, String(frame)];
}
"""
CHILDREN_JS = """
function (frame, payload, template) {
  const scores = payload.scores[frame], codes = payload.codes[frame], counts = payload.counts[frame];
  const children = payload.names.map(function (name, i) {
    const card = JSON.parse(JSON.stringify(template));
    const parts = card.props.children;
    const score = scores[i];
    parts[0].props.children = score === null ? payload.noValue : score.toFixed(1) + "%";
    parts[0].props.style = {"--md-gauge-value": score === null ? "0" : String(score / 100)};
    parts[1].props.children = name;
    parts[2].props.children = payload.types[i];
    parts[3].props.children = payload.statusTexts[codes[i]];
    parts[3].props.className = payload.statusClasses[codes[i]];
    parts[4].props.children = String(counts[i]);
    parts[5].props.children = payload.facts[i];
    card.props.style = {"--md-gauge-color": payload.colors[codes[i]]};
    return card;
  });
  return [children, String(frame)];
}
"""


def write_reports(output_dir: Path, service_counts: tuple[int, ...]) -> dict[int, str]:
    """One synthetic availability report per service count; their file names."""
    from analytics.report import REPORT_NAME_PREFIXES
    from tests.components import availability_report

    names = {}
    for number, services in enumerate(service_counts):
        name = (
            f"{REPORT_NAME_PREFIXES['availability']}_20260102_0800{number:02d}_{services:08x}.json"
        )
        report = availability_report(services=services, points=POINTS, seed=services)
        (output_dir / name).write_text(json.dumps(report))
        names[services] = name
    return names


# --------------------------------------------------------------------------- the served app


def serve(port: int) -> None:
    """The real app plus the baseline page (run in a child process)."""
    import dash
    from dash import Input, Output, State, dcc, html

    from metrics_dashboard.settings import load_settings
    from metrics_dashboard.web.app import create_app

    app = create_app(load_settings(env_file=None))
    from pages._dashboard_page import open_view
    from pages.availability_dashboard import SPEC

    def baseline_layout(mode: str = "indicators", report: str | None = None, **_query: str):
        payload = open_view(SPEC, report).payload
        last = len(payload["labels"]) - 1
        parts = [
            dcc.Store(id="bench-payload", data=payload),
            dcc.Slider(id="bench-slider", min=0, max=last, step=1, value=last),
            html.Div(str(last), id="bench-label"),
        ]
        if mode == "indicators":
            parts.append(dcc.Graph(id="bench-graph", figure=indicator_grid(payload)))
        else:
            from components.dashboard import card_template

            template = card_template(shape=SPEC.cards.shape, live_label=SPEC.cards.live_label)
            parts += [
                dcc.Store(id="bench-template", data=template.to_plotly_json()),
                html.Div(id="bench-cards", className="md-card-grid md-dashboard"),
            ]
        return html.Div(parts)

    dash.register_page("bench_baseline", path=BASELINE_PATH, layout=baseline_layout)
    app.clientside_callback(
        INDICATORS_JS,
        Output("bench-graph", "figure"),
        Output("bench-label", "children", allow_duplicate=True),
        Input("bench-slider", "value"),
        State("bench-payload", "data"),
        State("bench-graph", "figure"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        CHILDREN_JS,
        Output("bench-cards", "children"),
        Output("bench-label", "children", allow_duplicate=True),
        Input("bench-slider", "value"),
        State("bench-payload", "data"),
        State("bench-template", "data"),
        prevent_initial_call=True,
    )
    app.run(host="127.0.0.1", port=port, debug=False)


def indicator_grid(payload: dict) -> dict:
    """One figure with a gauge indicator per service, on a grid (the baseline)."""
    import plotly.graph_objects as go

    count = len(payload["names"])
    columns = 10
    rows = -(-count // columns)
    figure = go.Figure(
        [
            go.Indicator(
                mode="gauge+number",
                value=score or 0,
                number={"suffix": "%", "valueformat": ".1f"},
                gauge={"axis": {"range": [0, 100]}},
                title={"text": payload["names"][index]},
                domain={
                    "row": index // columns,
                    "column": index % columns,
                },
            )
            for index, score in enumerate(payload["scores"][-1])
        ],
        layout={
            "grid": {"rows": rows, "columns": columns, "pattern": "independent"},
            "height": 160 * rows,
            "template": "plotly_white",
            "meta": {"frame": len(payload["labels"]) - 1},
        },
    )
    return figure.to_plotly_json()


# --------------------------------------------------------------------------- the measurement


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s")


def measure(page, url: str, *, step_js: str, ready_js: str, frames: list[int]) -> list[float]:
    page.goto(url)
    wait_for_js(page, ready_js, timeout_ms=120_000)
    page.wait_for_timeout(500)
    page.evaluate(step_js, frames[0])  # start from the first frame, not timed
    return [page.evaluate(step_js, frame) for frame in frames[1:]]


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def run(service_counts: tuple[int, ...], steps: int, baseline_steps: int) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench_playback_") as temp:
        output_dir, cache_dir = Path(temp) / "output", Path(temp) / "cache"
        output_dir.mkdir()
        cache_dir.mkdir()
        names = write_reports(output_dir, service_counts)
        port = free_port()
        env = {
            **os.environ,
            "OUTPUT_DIR": str(output_dir),
            "CACHE_DIR": str(cache_dir),
            "DATA_SOURCE": "demo",
            "LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base + "/", process)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                report_table(page, base, names, steps=steps, baseline_steps=baseline_steps)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)


def step_plans(steps: int, baseline_steps: int) -> dict[str, list[int]]:
    """Frames to show, the first one untimed: frame by frame from a third of the timeline (as
    Play goes, every service has data there), and jumps across it (every gauge changes)."""
    first = POINTS // 3
    sequential = list(range(first, min(first + steps, POINTS - 1) + 1))
    jumps = [(index * 7919) % POINTS for index in range(steps + 1)]
    return {
        "sequential": sequential,
        "jumps": [frame for at, frame in enumerate(jumps) if at == 0 or frame != jumps[at - 1]],
        "baseline": sequential[: baseline_steps + 1],
    }


def report_table(
    page, base: str, names: dict[int, str], *, steps: int, baseline_steps: int
) -> None:
    print(
        f"Timeline playback, ms per step in headless Chromium ({os.cpu_count()} CPUs, load "
        f"average {os.getloadavg()[0]:.2f}); target: median <= {TARGET_MS:.0f} ms with 100 "
        "services. Baselines: one step of the same frames, and their median over ours."
    )
    print(
        f"{'services':>8} | {'variant':<38} | {'steps':>5} | {'median':>8} | {'p90':>8} | "
        f"{'median/target':>13} | {'baseline/ours':>13}"
    )
    plans = step_plans(steps, baseline_steps)
    dashboard_ready = "window.metricsPlayback && window.metricsPlayback.frameCount() > 0"
    baseline_ready = "document.getElementById('bench-label') !== null"
    for services, name in names.items():
        dashboard_url = f"{base}/availability/dashboard?report={name}"
        rows = [
            (
                f"dashboard ({plan}): CSS gauges",
                measure(
                    page,
                    dashboard_url,
                    step_js=STEP_DASHBOARD_JS,
                    ready_js=dashboard_ready,
                    frames=plans[plan],
                ),
            )
            for plan in ("sequential", "jumps")
        ]
        rows += [
            (
                f"baseline: {label}",
                measure(
                    page,
                    f"{base}{BASELINE_PATH}?mode={mode}&report={name}",
                    step_js=STEP_BASELINE_JS,
                    ready_js=baseline_ready,
                    frames=plans["baseline"],
                ),
            )
            for mode, label in BASELINES.items()
        ]
        ours_median, _ = summary(rows[0][1])
        for label, times in rows:
            median, p90 = summary(times)
            ratio = f"{median / ours_median:.1f}x" if label.startswith("baseline") else ""
            print(
                f"{services:>8} | {label:<38} | {len(times):>5} | {median:>8.1f} | {p90:>8.1f} | "
                f"{median / TARGET_MS:>13.2f} | {ratio:>13}"
            )
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="steps per dashboard measurement")
    parser.add_argument(
        "--baseline-steps", type=int, default=10, help="steps per baseline measurement"
    )
    parser.add_argument(
        "--services", type=int, nargs="+", default=list(SERVICE_COUNTS), help="service counts"
    )
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        run(tuple(args.services), args.steps, args.baseline_steps)


if __name__ == "__main__":
    main()
