"""Benchmark of the files source: loading metric rows from Parquet, against a naive baseline.

    python benchmarks/bench_load.py             # 10M metric rows / 1,000 services
    python benchmarks/bench_load.py --quick     # 1M rows / 100 services, a smoke run

The data set is written once into a cache directory (``--cache-dir``, default under the system
temporary directory) and reused by later runs. Printed figures:

* files source: ``FilesSource(...).metrics()`` on a fresh instance, i.e. reading, classifying,
  checking the order and building the canonical frame, in rows per second;
* a windowed call on the loaded source (one day of every service);
* baseline: ``pandas.read_csv`` + ``pandas.to_datetime`` + per-row status normalisation on a
  1M-row CSV of the same shape (what a straightforward loader does), and the ratio.

Times are best of N wall-clock runs: the machine is shared, so the minimum is the least noisy.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_access.files_source import FilesSource
from data_access.statuses import StatusRules, StatusWords

# The status words of configs/defaults.json: every word of the data set below is a known one.
STATUS_RULES = StatusRules(
    checks=StatusWords.of(
        failure=["down", "error", "failed", "critical", "timeout"],
        success=["up", "ok", "degraded", "warning"],
        name="availability",
    ),
    backups=StatusWords.of(
        failure=["failed", "error", "aborted", "cancelled", "timeout"],
        success=["success", "completed", "ok", "warning"],
        name="resilience",
    ),
)
STATUSES = ["up", "ok", "degraded", "down", "timeout", "error", " DOWN", "Ok"]
STATUS_WEIGHTS = [0.74, 0.2, 0.03, 0.01, 0.005, 0.005, 0.005, 0.005]
START = pd.Timestamp("2026-01-01", tz="UTC")
BASELINE_ROWS = 1_000_000


def write_data_set(directory: Path, rows: int, services: int, *, seed: int = 0) -> None:
    """Metrics sorted by service then time (each service checked every 60 s from its own
    offset), status dictionary-encoded, timestamp a Parquet UTC timestamp; plus the three small
    tables. Written into a temporary sibling, then renamed: an interrupted run leaves no half
    data set in the cache."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"svc-{index:05d}" for index in range(services)])
    per_service = rows // services
    codes = np.repeat(np.arange(services, dtype=np.int32), per_service)
    within = np.tile(np.arange(per_service, dtype=np.int64), services)
    offsets = rng.integers(0, 60, services).astype(np.int64)[codes]
    timestamps = START.value + (within * 60 + offsets) * 1_000_000_000
    status_codes = rng.choice(len(STATUSES), size=len(codes), p=STATUS_WEIGHTS).astype(np.int8)

    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    pq.write_table(
        pa.table(
            {
                "service_id": pa.DictionaryArray.from_arrays(codes, ids),
                "timestamp": pa.array(timestamps, pa.timestamp("ns", tz="UTC")),
                "status": pa.DictionaryArray.from_arrays(status_codes, STATUSES),
            }
        ),
        staging / "metrics.parquet",
    )
    pq.write_table(
        pa.table(
            {"service_id": ids, "display_name": ids, "service_type": ["web_service"] * services}
        ),
        staging / "services.parquet",
    )
    pq.write_table(
        pa.table({"target_id": ["vm"], "display_name": ["VM"], "target_type": ["vm"]}),
        staging / "backup_targets.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "target_id": ["vm"],
                "timestamp": pa.array([START.value], pa.timestamp("ns", tz="UTC")),
                "status": ["success"],
            }
        ),
        staging / "backups.parquet",
    )
    staging.rename(directory)


def write_baseline_csv(path: Path, parquet_directory: Path) -> None:
    """The first BASELINE_ROWS metric rows as CSV with ISO-8601 text timestamps."""
    table = pq.read_table(parquet_directory / "metrics.parquet").slice(0, BASELINE_ROWS)
    seconds = table.column("timestamp").to_numpy().astype("datetime64[s]")
    text = pa.table(
        {
            "service_id": table.column("service_id").cast(pa.string()),
            "timestamp": pa.array(np.datetime_as_string(seconds, unit="s", timezone="UTC")),
            "status": table.column("status").cast(pa.string()),
        }
    )
    staging = path.with_name(f".{path.name}.tmp")
    pa_csv.write_csv(text, staging)
    staging.rename(path)


def naive_load(path: Path) -> pd.DataFrame:
    """What a straightforward loader does: read everything, parse, normalise row by row."""
    frame = pd.read_csv(path)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    failure_set = set(STATUS_RULES.checks.failure)
    frame["failures"] = [int(status.strip().lower() in failure_set) for status in frame["status"]]
    return frame.sort_values(["service_id", "timestamp"]).drop(columns="status")


def best_of(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        result = None
        gc.collect()
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    return min(times), result


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
    arguments = parser.parse_args()
    rows, services = (1_000_000, 100) if arguments.quick else (arguments.rows, arguments.services)

    arguments.cache_dir.mkdir(parents=True, exist_ok=True)
    directory = arguments.cache_dir / f"load-{rows}-{services}"
    if not directory.is_dir():
        print(f"writing {rows:,} metric rows ({services:,} services) to {directory} ...")
        write_data_set(directory, rows, services)
    csv_path = arguments.cache_dir / f"baseline-{min(rows, BASELINE_ROWS)}.csv"
    if not csv_path.is_file():
        write_baseline_csv(csv_path, directory)

    def load() -> pd.DataFrame:
        return FilesSource(directory, statuses=STATUS_RULES).metrics()

    load_seconds, metrics = best_of(arguments.repeats, load)
    assert isinstance(metrics, pd.DataFrame) and len(metrics) == rows // services * services
    rate = len(metrics) / load_seconds
    del metrics

    source = FilesSource(directory, statuses=STATUS_RULES)
    source.metrics(service_ids=[])  # parse once
    day = {"start": START + pd.Timedelta(days=1), "end": START + pd.Timedelta(days=2)}
    window_seconds, window = best_of(arguments.repeats, lambda: source.metrics(**day))
    assert isinstance(window, pd.DataFrame)

    baseline_seconds, baseline = best_of(1, lambda: naive_load(csv_path))
    assert isinstance(baseline, pd.DataFrame)
    baseline_rate = len(baseline) / baseline_seconds

    print(f"files source, Parquet, {services:,} services")
    print(f"  load {rows:,} rows: {load_seconds:.2f} s = {rate / 1e6:.1f} M rows/s")
    print(
        f"  one-day window on the loaded source ({len(window):,} rows): {window_seconds * 1e3:.0f} ms"
    )
    print(
        f"naive baseline (read_csv + to_datetime + per-row statuses), {len(baseline):,} rows: "
        f"{baseline_seconds:.2f} s = {baseline_rate / 1e6:.2f} M rows/s"
    )
    print(f"ratio: files source is {rate / baseline_rate:.0f}x the naive baseline")
    target = 5e6
    print(f"target >= {target / 1e6:.0f} M rows/s: {'met' if rate >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
