"""Benchmark of ``analyze availability`` end to end: Parquet files in, JSON report on disk.

    python benchmarks/bench_analyze.py            # 10M metric rows / 1,000 services
    python benchmarks/bench_analyze.py --quick    # 1M rows / 100 services, a smoke run

The data set is the one of ``bench_load.py`` (written once into ``--cache-dir``). Printed:

* end to end: the real command line (``python -m metrics_dashboard.cli analyze ...``) in a
  fresh process, start-up included, in wall seconds and rows/s, against the issue's target of
  5 M rows/s;
* stages, measured inside a fresh process running the same code: importing the analyze path,
  loading the metrics, scoring, building the report and writing it, and the rest of that
  process's wall time (interpreter start-up, settings, exit);
* report writing against a baseline: the same report built as Python dicts, one per timeline
  point, and serialised with the standard library's ``json`` (what a straightforward
  implementation does), both written to disk in the same process; the two documents are
  checked equal.

Times are best of N: the machine is shared, so the minimum is the least noisy. The load average
is printed before and after, to judge how loaded the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

# The target: >= 5 M rows/s end to end, process start-up included, at 10 M rows.
TARGET_ROWS_PER_SECOND = 5e6
TARGET_ROWS = 10_000_000
STAGES = ("import", "load", "score", "build report", "write")
REPORT_TIMES = ("fast build", "fast write", "baseline build", "baseline write")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--services", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1M rows, 100 services")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "metrics-dashboard-bench",
    )
    # Internal: the in-process measurements, each in a fresh process (see child_run).
    parser.add_argument("--stages-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reports-of", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.stages_of:
        print(json.dumps(stage_timings(arguments.stages_of)))
        return
    if arguments.reports_of:
        print(json.dumps(report_comparison(arguments.reports_of)))
        return

    rows, services = (1_000_000, 100) if arguments.quick else (arguments.rows, arguments.services)
    directory = data_set(arguments.cache_dir, rows, services)
    print(f"analyze availability, Parquet files source, {rows:,} rows / {services:,} services")
    print(f"load average before: {load_average()}")

    wall = min(cli_seconds(directory, rows) for _ in range(arguments.repeats))
    runs = [child_run("--stages-of", directory) for _ in range(arguments.repeats)]
    best = {stage: min(run[stage] for run in runs) for stage in STAGES}
    other = min(run["process"] - sum(run[stage] for stage in STAGES) for run in runs)
    comparisons = [child_run("--reports-of", directory) for _ in range(arguments.repeats)]
    reports = {key: min(c[key] for c in comparisons) for key in REPORT_TIMES}
    equal = all(c["equal"] for c in comparisons)

    rate = rows / wall
    if rows < TARGET_ROWS:
        verdict = f"the target applies at {TARGET_ROWS / 1e6:.0f} M rows"
    else:
        verdict = "met" if rate >= TARGET_ROWS_PER_SECOND else "NOT met"
    print(
        f"end to end (CLI in a fresh process, best of {arguments.repeats}): {wall:.2f} s = "
        f"{rate / 1e6:.1f} M rows/s = {rate / TARGET_ROWS_PER_SECOND:.2f}x the "
        f"{TARGET_ROWS_PER_SECOND / 1e6:.0f} M rows/s target: {verdict}"
    )
    print(f"stages (in a fresh process, best of {arguments.repeats} each):")
    for stage in STAGES:
        print(f"  {stage:<13} {best[stage]:6.3f} s")
    print(f"  {'other':<13} {other:6.3f} s  (interpreter start-up, settings, exit)")
    print(
        f"report of {comparisons[0]['points']:,} timeline points "
        f"({comparisons[0]['bytes'] / 1e6:.0f} MB), "
        f"both from the same scored result in one process, best of {arguments.repeats}:"
    )
    for name, key in (
        ("vectorised (orjson on numpy arrays)", "fast"),
        ("baseline (stdlib json over Python dicts)", "baseline"),
    ):
        print(
            f"  {name}: build {reports[key + ' build']:.2f} s + write {reports[key + ' write']:.2f} s"
        )
    build_ratio = reports["baseline build"] / reports["fast build"]
    total_ratio = (reports["baseline build"] + reports["baseline write"]) / (
        reports["fast build"] + reports["fast write"]
    )
    print(
        f"  ratio: {build_ratio:.0f}x building, {total_ratio:.0f}x built and written; "
        f"documents equal: {equal}"
    )
    print(f"load average after: {load_average()}")


def data_set(cache_dir: Path, rows: int, services: int) -> Path:
    from benchmarks.bench_load import write_data_set

    cache_dir.mkdir(parents=True, exist_ok=True)
    directory = cache_dir / f"load-{rows}-{services}"
    if not directory.is_dir():
        print(f"writing {rows:,} metric rows ({services:,} services) to {directory} ...")
        write_data_set(directory, rows, services)
    return directory


def window() -> tuple[str, str]:
    """A week from the data set's first day: it covers every row of both sizes (each service
    has rows/services checks, 60 s apart, i.e. 10,000 minutes)."""
    import pandas as pd

    from benchmarks.bench_load import START

    return START.isoformat(), (START + pd.Timedelta(days=7)).isoformat()


def cli_seconds(directory: Path, rows: int) -> float:
    """Wall seconds of one ``analyze`` command line, checked to have scored every row."""
    start, end = window()
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as output:
        command = [
            sys.executable,
            "-m",
            "metrics_dashboard.cli",
            "--env-file",
            str(Path(output) / "no.env"),
            "analyze",
            "availability",
            "--source",
            str(directory),
            "--start",
            start,
            "--end",
            end,
            "--out",
            output,
        ]
        began = time.perf_counter()
        done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - began
        if done.returncode != 0 or f"({rows} rows in" not in done.stderr:
            raise SystemExit(f"the command failed or scored another row count:\n{done.stderr}")
        if not Path(done.stdout.strip().splitlines()[-1]).is_file():
            raise SystemExit(f"no report written: {done.stdout}")
    return seconds


def child_run(flag: str, directory: Path) -> dict[str, Any]:
    """The measurements of this script run with ``flag`` in a fresh process (so that imports
    and first touches of memory cost what they cost the command line), plus the process's
    wall seconds as ``"process"``."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, flag, str(directory)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"the measuring process failed:\n{done.stderr}")
    return {**json.loads(done.stdout), "process": seconds}


def stage_timings(directory: Path) -> dict[str, float]:
    """Runs :func:`metrics_dashboard.runner.run_analysis` as the command line does, timing its
    stages from its progress reports and from the report store's write."""
    began = time.perf_counter()
    from unittest import mock

    from analytics.config import parse_config
    from data_access.report_store import ReportStore
    from metrics_dashboard import cli, runner  # noqa: F401  (cli: its imports count too)
    from metrics_dashboard.settings import load_settings

    marks = {"import": time.perf_counter() - began}
    times: dict[str, float] = {}

    def progress(stage: str, fraction: float) -> None:
        times[f"{stage} {fraction}"] = time.perf_counter()

    class TimedStore(ReportStore):
        def write(self, *args: Any, **kwargs: Any) -> Path:
            times["write begins"] = time.perf_counter()
            return super().write(*args, **kwargs)

    start, end = window()
    config = parse_config({"analysis_type": "availability", "start": start, "end": end})
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as output:
        settings = load_settings(
            {"data_source": str(directory), "output_dir": Path(output)}, env_file=None
        )
        with mock.patch.object(runner, "ReportStore", TimedStore):
            runner.run_analysis(config, settings=settings, progress=progress)
    marks["load"] = times[f"{runner.STAGE_SCORING} 0.4"] - times[f"{runner.STAGE_LOADING} 0.0"]
    marks["score"] = times[f"{runner.STAGE_WRITING} 0.7"] - times[f"{runner.STAGE_SCORING} 0.4"]
    marks["build report"] = times["write begins"] - times[f"{runner.STAGE_WRITING} 0.7"]
    marks["write"] = times[f"{runner.STAGE_WRITING} 1.0"] - times["write begins"]
    return marks


def report_comparison(directory: Path) -> dict[str, Any]:
    """The vectorised report against the stdlib-json baseline, on the same scored result."""
    import orjson
    import pandas as pd

    from analytics.availability import score_availability
    from analytics.classify import AvailabilityThresholds
    from analytics.config import parse_config, resolve_availability
    from analytics.report import Classification, DataQuality, build_availability_report
    from data_access.report_store import write_atomic
    from metrics_dashboard import runner
    from metrics_dashboard.settings import load_settings

    settings = load_settings({"data_source": str(directory)}, env_file=None)
    defaults = runner.analysis_defaults(settings)
    source = runner.data_source_for(settings)
    start, end = (pd.Timestamp(value) for value in window())
    config = parse_config({"analysis_type": "availability", "start": start, "end": end})
    params = resolve_availability(
        config, source.services(), defaults, default_error_budget=settings.default_error_budget
    )
    quality = DataQuality()
    thresholds = AvailabilityThresholds.from_mapping(
        defaults.availability.status_thresholds.model_dump()
    )
    result = score_availability(
        source.metrics(start=start, end=end, service_ids=list(params.index), quality=quality),
        params,
        start=start,
        end=end,
        thresholds=thresholds,
    )
    rules = source.statuses
    classification = Classification(
        thresholds=thresholds,
        failure_statuses=rules.checks.failure,
        success_statuses=rules.checks.success,
        unknown_status_policy=rules.unknown_policy,
    )
    limit = defaults.reports.timeline_point_limit
    analysed = datetime.now(UTC)
    marks: dict[str, Any] = {}

    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as output:

        def timed(name: str, build: Callable[[], bytes]) -> bytes:
            began = time.perf_counter()
            payload = build()
            built = time.perf_counter()
            write_atomic(Path(output) / f"{name}.json", payload)
            marks[f"{name} build"] = built - began
            marks[f"{name} write"] = time.perf_counter() - built
            return payload

        fast = timed(
            "fast",
            lambda: build_availability_report(
                result,
                params=params,
                start=start,
                end=end,
                analysis_timestamp=analysed,
                classification=classification,
                data_quality=quality,
                timeline_point_limit=limit,
            ),
        )
        sections = {"classification": classification.section(), "data_quality": quality.section()}
        slow = timed(
            "baseline",
            lambda: json.dumps(
                dict_report(result, params, start, end, analysed, limit, sections),
                separators=(",", ":"),
            ).encode(),
        )
    document = orjson.loads(fast)
    marks["points"] = sum(len(s["detailed_metrics"]) for s in document["services"].values())
    marks["bytes"] = len(fast)
    marks["equal"] = document == orjson.loads(slow)
    return marks


def dict_report(
    result: Any,
    params: Any,
    start: Any,
    end: Any,
    analysed: datetime,
    limit: int,
    sections: dict[str, Any],
) -> dict[str, Any]:
    """The availability report as Python dicts, one per timeline point: the baseline.

    It keeps the same points as the real report (the thinning is not what is measured) and
    formats timestamps per point with ``datetime``, whole seconds as in this data set.
    """
    from analytics.report import (
        AVAILABILITY_SUMMARY_STATUSES,
        REPORT_SCHEMA_VERSION,
        analysis_dates,
        iso_utc,
        thinned_positions,
    )

    def stamp(nanoseconds: int) -> str:
        return datetime.fromtimestamp(nanoseconds // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def percent(score: float) -> float | None:
        return None if score != score else score * 100  # NaN: no data

    def kept(frame: Any, bounds: list[int]) -> tuple[Any, list[int]]:
        """The rows the report keeps (the same thinning), and their new group bounds."""
        positions, new_bounds = thinned_positions(bounds, limit)
        return frame.iloc[positions], new_bounds.tolist()

    services, timeline = result.services, result.timeline
    points, point_bounds = kept(timeline, [0, *accumulate(services["points"].tolist())])
    columns = {
        "timestamp": points["timestamp"].array.asi8.tolist(),
        "cumulative_failures": points["cumulative_failures"].tolist(),
        "score": points["score"].tolist(),
        "status_type": points["status"].astype(str).tolist(),
    }
    detailed = [
        {
            "timestamp": stamp(columns["timestamp"][row]),
            "cumulative_failures": columns["cumulative_failures"][row],
            "score": columns["score"][row],
            "status_type": columns["status_type"][row],
        }
        for row in range(len(points))
    ]
    aggregated, _ = kept(result.aggregated_timeline, [0, len(result.aggregated_timeline)])
    final_scores = [percent(score) for score in services["final_score"].tolist()]
    ids = [str(service_id) for service_id in services.index]
    statuses = services["final_status"].tolist()
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "analysis_type": "availability",
        "analysis_timestamp": iso_utc(analysed),
        "analysis_dates": analysis_dates(start, end),
        "window": {"start": iso_utc(start), "end": iso_utc(end)},
        "summary": {
            "aggregated_score": percent(result.aggregated_score),
            "total_services": len(ids),
            "services_by_status": {
                status: statuses.count(status) for status in AVAILABILITY_SUMMARY_STATUSES
            },
        },
        **sections,
        "configuration": {
            "service_error_budgets": dict(zip(ids, services["error_budget"].tolist(), strict=True)),
            "service_weights": dict(zip(ids, services["weight"].tolist(), strict=True)),
        },
        "services": {
            service_id: {
                "service_id": service_id,
                "display_name": str(params.loc[service_id, "display_name"]),
                "service_type": str(params.loc[service_id, "service_type"]),
                "error_budget": int(services["error_budget"].iloc[row]),
                "weight": int(services["weight"].iloc[row]),
                "final_score": final_scores[row],
                "final_status": statuses[row],
                "total_failures": int(services["total_failures"].iloc[row]),
                "detailed_metrics": detailed[point_bounds[row] : point_bounds[row + 1]],
            }
            for row, service_id in enumerate(ids)
        },
        "aggregated_timeline": [
            {"timestamp": stamp(nanoseconds), "score": score}
            for nanoseconds, score in zip(
                aggregated["timestamp"].array.asi8.tolist(),
                aggregated["score"].tolist(),
                strict=True,
            )
        ],
    }


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 min)"


if __name__ == "__main__":
    main()
