"""Reference implementations of both engines, used as benchmark baselines and as test oracles.

* :func:`availability_per_row` and :func:`resilience_per_row` follow the specification (issue 3)
  literally with plain Python loops over rows: slow, but easy to check by eye. The property tests
  compare the vectorised engines against them.
* :func:`availability_pandas` is what a careful pandas user would write (groupby, cumsum): the
  "plain pandas" baseline the engine must beat by 10x.

All three return the same result dataclasses as the engines, so results compare frame by frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.availability import timestamp_nanoseconds, utc_timestamp
from analytics.classify import (
    BOUNDARY_TOLERANCE,
    DEFAULT_AVAILABILITY_THRESHOLDS,
    DEFAULT_RESILIENCE_THRESHOLDS,
    AvailabilityThresholds,
    ResilienceThresholds,
)
from analytics.results import (
    AVAILABILITY_STATUSES,
    NO_DATA,
    RESILIENCE_STATUSES,
    AvailabilityResult,
    ResilienceResult,
)

NS_PER_HOUR = 3_600_000_000_000


NAT_NS = np.iinfo(np.int64).min  # numpy's NaT


def _to_utc(nanoseconds: list[int]) -> pd.Series:
    """Nanoseconds since the epoch (``NAT_NS`` for none) as a datetime64[ns, UTC] series."""
    return pd.Series(np.array(nanoseconds, dtype=np.int64).view("M8[ns]")).dt.tz_localize("UTC")


AVAILABILITY_SUMMARY_COLUMNS = (
    "error_budget",
    "weight",
    "final_score",
    "final_status",
    "total_failures",
    "points",
)
AVAILABILITY_TIMELINE_COLUMNS = (
    "service_id",
    "timestamp",
    "cumulative_failures",
    "score",
    "status",
)
RESILIENCE_SUMMARY_COLUMNS = (
    "target_rpo_hours",
    "weight",
    "final_score",
    "final_status",
    "final_rpo_compliance",
    "final_success_rate",
    "actual_rpo_hours",
    "last_successful_backup",
    "total_backups",
    "successful_backups",
    "final_no_run_yet",
    "final_instant",
)
RESILIENCE_TIMELINE_COLUMNS = (
    "target_id",
    "timestamp",
    "actual_rpo_hours",
    "rpo_compliance",
    "success_rate",
    "score",
    "status",
    "no_run_yet",
    "excluded",
)


def _columns(names: tuple[str, ...]) -> dict[str, list]:
    """Empty lists for the columns of a result frame, in output order."""
    return {name: [] for name in names}


def score_one(failures: int, error_budget: int) -> float:
    """S(P_f, E_b), the operators' three branches, on Python numbers."""
    if failures == 0:
        return 1.0
    if failures <= error_budget:
        return 1 - (failures / error_budget) * 0.5
    return max(0.0, 0.5 - ((failures - error_budget) / error_budget) * 0.5)


def availability_status_of(score: float, thresholds: AvailabilityThresholds) -> str:
    """The availability status of one score; boundaries count as equal within the tolerance."""
    if score < thresholds.critical_below - BOUNDARY_TOLERANCE:
        return "CRITICAL"
    if score <= thresholds.good_above + BOUNDARY_TOLERANCE:
        return "ATTENZIONE"
    return "GOOD"


def resilience_status_of(score: float, thresholds: ResilienceThresholds) -> str:
    """The resilience status of one score; boundaries count as equal within the tolerance."""
    if score > thresholds.excellent_above + BOUNDARY_TOLERANCE:
        return "EXCELLENT"
    if score >= thresholds.good_from - BOUNDARY_TOLERANCE:
        return "GOOD"
    if score >= thresholds.acceptable_from - BOUNDARY_TOLERANCE:
        return "ACCEPTABLE"
    if score >= thresholds.critical_from - BOUNDARY_TOLERANCE:
        return "CRITICAL"
    return "SEVERE"


def availability_per_row(
    metrics: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    thresholds: AvailabilityThresholds = DEFAULT_AVAILABILITY_THRESHOLDS,
) -> AvailabilityResult:
    """Availability scoring with a Python loop over rows, then over each service's points."""
    start_ns = utc_timestamp(start, "start").value
    end_ns = utc_timestamp(end, "end").value
    budgets = dict(zip(params.index, params["error_budget"].tolist(), strict=True))
    weights = dict(zip(params.index, params["weight"].tolist(), strict=True))

    failures_at: dict[str, dict[int, int]] = {service: {} for service in params.index}
    for service, timestamp, failures in zip(
        metrics["service_id"].astype(object).tolist(),
        timestamp_nanoseconds(metrics["timestamp"], "timestamp").tolist(),
        metrics["failures"].tolist(),
        strict=True,
    ):
        if service in failures_at and start_ns <= timestamp < end_ns:
            counts = failures_at[service]
            counts[timestamp] = counts.get(timestamp, 0) + int(failures)

    timeline = _columns(AVAILABILITY_TIMELINE_COLUMNS)
    summary = _columns(AVAILABILITY_SUMMARY_COLUMNS)
    score_changes: list[tuple[int, str, float]] = []  # (time, service, new score)
    for service in params.index:
        cumulative, score, status = 0, float("nan"), NO_DATA
        for timestamp in sorted(failures_at[service]):
            cumulative += failures_at[service][timestamp]
            score = score_one(cumulative, budgets[service])
            status = availability_status_of(score, thresholds)
            timeline["service_id"].append(service)
            timeline["timestamp"].append(timestamp)
            timeline["cumulative_failures"].append(cumulative)
            timeline["score"].append(score)
            timeline["status"].append(status)
            score_changes.append((timestamp, service, score))
        summary["error_budget"].append(budgets[service])
        summary["weight"].append(weights[service])
        summary["final_score"].append(score)
        summary["final_status"].append(status)
        summary["total_failures"].append(cumulative)
        summary["points"].append(len(failures_at[service]))

    with_data = [service for service in params.index if failures_at[service]]
    total_weight = sum(weights[service] for service in with_data)
    current = dict.fromkeys(with_data, 1.0)  # 1 before a service's first point
    weighted_sum = float(total_weight)
    instants, aggregated = [], []
    score_changes.sort(key=lambda change: change[0])
    for position, (timestamp, service, score) in enumerate(score_changes):
        weighted_sum += weights[service] * (score - current[service])
        current[service] = score
        is_last_at_instant = (
            position + 1 == len(score_changes) or score_changes[position + 1][0] != timestamp
        )
        if is_last_at_instant:
            instants.append(timestamp)
            aggregated.append(weighted_sum / total_weight)

    aggregated_score = (
        sum(weights[service] * current[service] for service in with_data) / total_weight
        if total_weight
        else float("nan")
    )
    return AvailabilityResult(
        services=pd.DataFrame(summary, index=pd.Index(params.index, name="service_id")),
        timeline=pd.DataFrame(
            {
                "service_id": pd.Categorical(timeline["service_id"], categories=params.index),
                "timestamp": _to_utc(timeline["timestamp"]),
                "cumulative_failures": timeline["cumulative_failures"],
                "score": np.array(timeline["score"], dtype=np.float64),
                "status": pd.Categorical(timeline["status"], categories=AVAILABILITY_STATUSES),
            }
        ),
        aggregated_timeline=pd.DataFrame(
            {"timestamp": _to_utc(instants), "score": np.array(aggregated, dtype=np.float64)}
        ),
        aggregated_score=float(aggregated_score),
    )


def availability_pandas(
    metrics: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    thresholds: AvailabilityThresholds = DEFAULT_AVAILABILITY_THRESHOLDS,
) -> AvailabilityResult:
    """Availability scoring the plain pandas way: groupby, cumsum, np.select."""
    start, end = utc_timestamp(start, "start"), utc_timestamp(end, "end")
    frame = metrics[
        (metrics["timestamp"] >= start)
        & (metrics["timestamp"] < end)
        & metrics["service_id"].isin(params.index)
    ].copy()
    frame["service_id"] = frame["service_id"].cat.set_categories(params.index)
    points = (
        frame.groupby(["service_id", "timestamp"], observed=True, sort=True)["failures"]
        .sum()
        .reset_index()
    )
    points["cumulative_failures"] = points.groupby("service_id", observed=True)["failures"].cumsum()
    budget = points["service_id"].map(params["error_budget"]).astype(np.float64)
    weight = points["service_id"].map(params["weight"]).astype(np.float64)
    failures = points["cumulative_failures"].astype(np.float64)
    points["score"] = np.select(
        [failures == 0, failures <= budget],
        [1.0, 1 - (failures / budget) * 0.5],
        np.maximum(0.0, 0.5 - ((failures - budget) / budget) * 0.5),
    )
    points["status"] = pd.Categorical.from_codes(
        np.select(
            [
                points["score"] < thresholds.critical_below - BOUNDARY_TOLERANCE,
                points["score"] <= thresholds.good_above + BOUNDARY_TOLERANCE,
            ],
            [AVAILABILITY_STATUSES.index("CRITICAL"), AVAILABILITY_STATUSES.index("ATTENZIONE")],
            AVAILABILITY_STATUSES.index("GOOD"),
        ),
        categories=AVAILABILITY_STATUSES,
    )

    previous = points.groupby("service_id", observed=True)["score"].shift(fill_value=1.0)
    change = (weight * (points["score"] - previous)).groupby(points["timestamp"]).sum()
    finals = points.groupby("service_id", observed=True).last()
    total_weight = params.loc[finals.index, "weight"].sum()
    aggregated = (total_weight + change.cumsum()) / total_weight

    services = params[["error_budget", "weight"]].copy()
    services.index.name = "service_id"
    services["final_score"] = finals["score"].reindex(params.index).to_numpy()
    services["final_status"] = (
        finals["status"].astype(object).reindex(params.index).fillna(NO_DATA).to_numpy()
    )
    services["total_failures"] = (
        finals["cumulative_failures"].reindex(params.index).fillna(0).astype(np.int64).to_numpy()
    )
    services["points"] = (
        points.groupby("service_id", observed=False).size().reindex(params.index).to_numpy()
    )
    weighted_finals = (finals["score"] * params.loc[finals.index, "weight"]).sum()
    return AvailabilityResult(
        services=services,
        timeline=points[
            ["service_id", "timestamp", "cumulative_failures", "score", "status"]
        ].reset_index(drop=True),
        aggregated_timeline=pd.DataFrame(
            {"timestamp": aggregated.index, "score": aggregated.to_numpy()}
        ),
        aggregated_score=float(weighted_finals / total_weight) if total_weight else float("nan"),
    )


def resilience_per_row(
    backups: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    hours: int,
    w_rpo: float,
    w_success: float,
    thresholds: ResilienceThresholds = DEFAULT_RESILIENCE_THRESHOLDS,
    excluded: np.ndarray | None = None,
    no_run_yet_rule: bool = False,
) -> ResilienceResult:
    """Resilience scoring with Python loops: per target, walk its runs alongside the instants.

    No run yet in the window: success rate 0, or with ``no_run_yet_rule`` unknown (NaN) and
    score = compliance. An excluded instant repeats the values of the target's latest
    non-excluded instant (none: NaN, NO_DATA).
    """
    start_ns = utc_timestamp(start, "start").value
    runs_of: dict[str, list[tuple[int, int, bool]]] = {target: [] for target in params.index}
    for row, (target, timestamp, succeeded) in enumerate(
        zip(
            backups["target_id"].astype(object).tolist(),
            timestamp_nanoseconds(backups["timestamp"], "timestamp").tolist(),
            backups["succeeded"].tolist(),
            strict=True,
        )
    ):
        if target in runs_of and timestamp != NAT_NS:
            runs_of[target].append((timestamp, row, bool(succeeded)))

    instants = [start_ns + k * NS_PER_HOUR for k in range(1, hours + 1)]
    timeline = _columns(RESILIENCE_TIMELINE_COLUMNS)
    summary = _columns(RESILIENCE_SUMMARY_COLUMNS)
    for position, target in enumerate(params.index):
        target_rpo = float(params.at[target, "target_rpo_hours"])
        runs = sorted(runs_of[target])
        next_run, total, successful, last_success = 0, 0, 0, NAT_NS
        shown = (float("nan"), float("nan"), float("nan"), float("nan"), NO_DATA, False)
        final_instant = NAT_NS
        for column, instant in enumerate(instants):
            while next_run < len(runs) and runs[next_run][0] <= instant:
                timestamp, _, succeeded = runs[next_run]
                if timestamp >= start_ns:
                    total += 1
                    successful += succeeded
                if succeeded:
                    last_success = timestamp
                next_run += 1
            is_excluded = excluded is not None and bool(excluded[position][column])
            if not is_excluded:
                if last_success == NAT_NS:
                    actual_rpo, compliance = float("nan"), 0.0
                else:
                    actual_rpo = (instant - last_success) / NS_PER_HOUR
                    compliance = max(0.0, 1 - actual_rpo / target_rpo)
                if total or not no_run_yet_rule:
                    success_rate = successful / total if total else 0.0
                    score = w_rpo * compliance + w_success * success_rate
                else:
                    success_rate, score = float("nan"), compliance
                status = resilience_status_of(score, thresholds)
                shown = (actual_rpo, compliance, success_rate, score, status, total == 0)
                final_instant = instant
            for name, value in zip(
                RESILIENCE_TIMELINE_COLUMNS,
                (target, instant, *shown, is_excluded),
                strict=True,
            ):
                timeline[name].append(value)
        actual_rpo, compliance, success_rate, score, status, no_run_yet = shown
        summary["target_rpo_hours"].append(target_rpo)
        summary["weight"].append(int(params.at[target, "weight"]))
        summary["final_score"].append(score)
        summary["final_status"].append(status)
        summary["final_rpo_compliance"].append(compliance)
        summary["final_success_rate"].append(success_rate)
        summary["actual_rpo_hours"].append(actual_rpo)
        summary["last_successful_backup"].append(last_success)
        summary["total_backups"].append(total)
        summary["successful_backups"].append(successful)
        summary["final_no_run_yet"].append(no_run_yet)
        summary["final_instant"].append(final_instant)

    weights = summary["weight"]
    aggregated = []
    for k in range(hours if weights else 0):
        scored = [
            (weight, timeline["score"][target * hours + k])
            for target, weight in enumerate(weights)
            if not np.isnan(timeline["score"][target * hours + k])
        ]
        total_weight = sum(weight for weight, _ in scored)
        aggregated.append(
            sum(weight * score for weight, score in scored) / total_weight
            if total_weight
            else float("nan")
        )
    for column in ("last_successful_backup", "final_instant"):
        summary[column] = _to_utc(summary[column]).array
    return ResilienceResult(
        targets=pd.DataFrame(summary, index=pd.Index(params.index, name="target_id")),
        timeline=pd.DataFrame(
            {
                **timeline,
                "target_id": pd.Categorical(timeline["target_id"], categories=params.index),
                "timestamp": _to_utc(timeline["timestamp"]),
                "status": pd.Categorical(
                    [None if status == NO_DATA else status for status in timeline["status"]],
                    categories=RESILIENCE_STATUSES,
                ),
                "no_run_yet": np.array(timeline["no_run_yet"], dtype=bool),
                "excluded": np.array(timeline["excluded"], dtype=bool),
            }
        ),
        aggregated_timeline=pd.DataFrame(
            {
                "timestamp": _to_utc(instants[: len(aggregated)]),
                "score": np.array(aggregated, dtype=np.float64),
            }
        ),
        aggregated_score=aggregated[-1] if aggregated else float("nan"),
    )
