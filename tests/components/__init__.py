"""Hand-built reports for the dashboard tests and the playback benchmark.

They follow the report layouts of docs/report-format.md and compute every figure with the
specified formulas (so the final values, the timelines and the summary agree exactly), from a
seeded random generator: the same arguments always give the same report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.report import REPORT_NAME_PREFIXES, REPORT_SCHEMA_VERSION

SERVICE_TYPES = ("web_service", "database", "application", "monitoring")
TARGET_TYPES = ("vm", "container", "physical_server")
WINDOW_START = pd.Timestamp("2026-01-01T00:00:00Z")


def _iso(times: pd.DatetimeIndex) -> list[str]:
    return list(times.strftime("%Y-%m-%dT%H:%M:%SZ"))


def availability_score(failures: np.ndarray, budget: int) -> np.ndarray:
    """The operators' three-branch score."""
    failures = np.asarray(failures, dtype=float)
    return np.where(
        failures == 0,
        1.0,
        np.where(
            failures <= budget,
            1 - (failures / budget) * 0.5,
            np.maximum(0.0, 0.5 - ((failures - budget) / budget) * 0.5),
        ),
    )


def availability_status(scores: np.ndarray) -> np.ndarray:
    return np.where(scores < 0.5, "CRITICAL", np.where(scores <= 0.8, "ATTENZIONE", "GOOD"))


def availability_report(
    *,
    services: int = 6,
    points: int = 48,
    seed: int = 7,
    names: Mapping[int, str] | None = None,
    no_data: Sequence[int] = (),
    step_minutes: int = 30,
) -> dict:
    """An availability report of ``services`` services over ``points`` instants.

    Service 0 starts at the first instant; the others may start later (so the playback shows
    "no data yet" first). ``names`` overrides display names by index; ``no_data`` services have
    no point in the window (NO_DATA).
    """
    rng = np.random.default_rng(seed)
    grid = pd.date_range(WINDOW_START, periods=points, freq=f"{step_minutes}min")
    end = grid[-1] + pd.Timedelta(minutes=step_minutes)
    entries: dict[str, dict] = {}
    weighted = np.zeros(points)
    total_weight = 0
    for index in range(services):
        service_id = f"svc-{index:03d}"
        budget, weight = int(rng.integers(1, 11)), int(rng.integers(1, 11))
        first = 0 if index == 0 else int(rng.integers(0, max(points // 4, 1)))
        failures = np.cumsum(rng.random(points - first) < rng.uniform(0.0, 0.2))
        scores = availability_score(failures, budget)
        statuses = availability_status(scores)
        has_data = index not in no_data
        entry = {
            "service_id": service_id,
            "display_name": (names or {}).get(index, f"Service {index}"),
            "service_type": SERVICE_TYPES[index % len(SERVICE_TYPES)],
            "error_budget": budget,
            "weight": weight,
            "final_score": float(scores[-1] * 100) if has_data else None,
            "final_status": str(statuses[-1]) if has_data else "NO_DATA",
            "total_failures": int(failures[-1]) if has_data else 0,
            "detailed_metrics": [
                {
                    "timestamp": stamp,
                    "cumulative_failures": int(count),
                    "score": float(score),
                    "status_type": str(status),
                }
                for stamp, count, score, status in zip(
                    _iso(grid[first:]), failures, scores, statuses, strict=True
                )
            ]
            if has_data
            else [],
        }
        entries[service_id] = entry
        if has_data:
            # 1.0 before a service's first point, as the aggregated timeline specifies.
            weighted += weight * np.concatenate([np.ones(first), scores])
            total_weight += weight
    with_data = [entry for entry in entries.values() if entry["final_status"] != "NO_DATA"]
    aggregated = (
        sum(entry["weight"] * entry["final_score"] for entry in with_data) / total_weight
        if total_weight
        else None
    )
    by_status = {status: 0 for status in ("GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA")}
    for entry in entries.values():
        by_status[entry["final_status"]] += 1
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "analysis_type": "availability",
        "analysis_timestamp": "2026-01-02T08:00:00Z",
        "analysis_dates": ["2026-01-01"],
        "window": {"start": _iso(grid[:1])[0], "end": _iso(pd.DatetimeIndex([end]))[0]},
        "configuration": {
            "service_error_budgets": {key: entry["error_budget"] for key, entry in entries.items()},
            "service_weights": {key: entry["weight"] for key, entry in entries.items()},
        },
        "services": entries,
        "summary": {
            "aggregated_score": aggregated,
            "total_services": services,
            "services_by_status": by_status,
        },
        "aggregated_timeline": [
            {"timestamp": stamp, "score": float(score)}
            for stamp, score in zip(_iso(grid), weighted / max(total_weight, 1), strict=True)
        ]
        if total_weight
        else [],
    }


def resilience_status(scores: np.ndarray) -> np.ndarray:
    return np.select(
        [scores > 0.9, scores >= 0.75, scores >= 0.6, scores >= 0.4],
        ["EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL"],
        default="SEVERE",
    )


def resilience_report(
    *,
    targets: int = 5,
    hours: int = 48,
    seed: int = 11,
    names: Mapping[int, str] | None = None,
    weights: tuple[float, float] = (0.6, 0.4),
) -> dict:
    """A resilience report of ``targets`` backup targets evaluated hourly for ``hours`` hours.

    Each target backs up every few hours with some failures; the last target never succeeds
    when there are at least three targets (actual RPO null, compliance 0).
    """
    rng = np.random.default_rng(seed)
    instants = pd.date_range(WINDOW_START + pd.Timedelta(hours=1), periods=hours, freq="1h")
    hour_index = np.arange(1, hours + 1, dtype=float)
    entries: dict[str, dict] = {}
    for index in range(targets):
        target_id = f"tgt-{index:03d}"
        target_rpo = float(rng.choice([12, 24, 48]))
        every = int(rng.integers(2, 30))
        success_probability = 0.0 if targets >= 3 and index == targets - 1 else rng.uniform(0.5, 1)
        run_hours = np.arange(rng.uniform(0, every), hours, every)
        succeeded = rng.random(len(run_hours)) < success_probability
        runs_until = np.searchsorted(run_hours, hour_index, side="right")
        successes_until = np.concatenate([[0], np.cumsum(succeeded)])[runs_until]
        success_rate = np.where(runs_until > 0, successes_until / np.maximum(runs_until, 1), 0.0)
        success_hours = run_hours[succeeded]
        last_success_at = np.searchsorted(success_hours, hour_index, side="right") - 1
        actual_rpo = np.full(hours, np.nan)
        if len(success_hours):
            latest = success_hours[np.maximum(last_success_at, 0)]
            actual_rpo = np.where(last_success_at >= 0, hour_index - latest, np.nan)
        compliance = np.where(np.isnan(actual_rpo), 0.0, np.maximum(0, 1 - actual_rpo / target_rpo))
        scores = weights[0] * compliance + weights[1] * success_rate
        statuses = resilience_status(scores)
        last_success = (
            (WINDOW_START + pd.Timedelta(hours=float(success_hours[-1]))).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ"
            )
            if len(success_hours)
            else None
        )
        entries[target_id] = {
            "target_id": target_id,
            "display_name": (names or {}).get(index, f"Target {index}"),
            "target_type": TARGET_TYPES[index % len(TARGET_TYPES)],
            "target_rpo_hours": target_rpo,
            "weight": 1 + index % 3,
            "final_score": float(scores[-1] * 100),
            "final_status": str(statuses[-1]),
            "final_rpo_compliance": float(compliance[-1]),
            "final_success_rate": float(success_rate[-1]),
            "actual_rpo_hours": None if np.isnan(actual_rpo[-1]) else float(actual_rpo[-1]),
            "last_successful_backup": last_success,
            "total_backups": int(runs_until[-1]),
            "successful_backups": int(successes_until[-1]),
            "timeline": [
                {
                    "timestamp": stamp,
                    "actual_rpo_hours": None if np.isnan(rpo) else float(rpo),
                    "rpo_compliance": float(comp),
                    "success_rate": float(rate),
                    "score": float(score),
                    "status": str(status),
                }
                for stamp, rpo, comp, rate, score, status in zip(
                    _iso(instants),
                    actual_rpo,
                    compliance,
                    success_rate,
                    scores,
                    statuses,
                    strict=True,
                )
            ],
        }
    matrix = np.array(
        [[point["score"] for point in entry["timeline"]] for entry in entries.values()]
    )
    target_weights = np.array([entry["weight"] for entry in entries.values()], dtype=float)
    by_status = {status: 0 for status in ("EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE")}
    for entry in entries.values():
        by_status[entry["final_status"]] += 1
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "analysis_type": "resilience",
        "analysis_timestamp": "2026-01-03T08:00:00Z",
        "window": {
            "start": _iso(pd.DatetimeIndex([WINDOW_START]))[0],
            "end": _iso(instants[-1:])[0],
            "hours": hours,
        },
        "configuration": {
            "target_rpo_hours": {key: entry["target_rpo_hours"] for key, entry in entries.items()},
            "target_weights": {key: entry["weight"] for key, entry in entries.items()},
            "weights": {"rpo": weights[0], "success": weights[1]},
        },
        "targets": entries,
        "summary": {
            "aggregated_score": float(
                np.average(
                    [entry["final_score"] for entry in entries.values()], weights=target_weights
                )
            ),
            "total_targets": targets,
            "targets_by_status": by_status,
        },
        "aggregated_timeline": [
            {"timestamp": stamp, "score": float(score)}
            for stamp, score in zip(
                _iso(instants), target_weights @ matrix / target_weights.sum(), strict=True
            )
        ],
    }


def write_report(directory: Path, report: dict, *, second: int = 0) -> Path:
    """``report`` as a report file of ``directory``, named as if written on 2026-01-02 (older
    than any report a test runs now, so never the latest one); its path."""
    prefix = REPORT_NAME_PREFIXES[report["analysis_type"]]
    path = directory / f"{prefix}_20260102_0800{second:02d}_{second:08x}.json"
    path.write_text(json.dumps(report))
    return path
