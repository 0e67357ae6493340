"""Building the JSON report of an engine result (see ``docs/report-format.md``).

Timelines can hold a million points, so they are written with the vectorised text building of
:mod:`analytics.fastjson`: only the skeleton (a few objects per service or target) is built as
Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from analytics.availability import timestamp_nanoseconds
from analytics.classify import AvailabilityThresholds, ResilienceThresholds
from analytics.fastjson import (
    ARRAY_SLOT,
    LookupColumn,
    NumberColumn,
    RowTable,
    TimestampColumn,
    iso_utc,
    json_strings,
    render_document,
)
from analytics.report.classification import Classification
from analytics.report.format import (
    AVAILABILITY_SUMMARY_STATUSES,
    DEFAULT_TIMELINE_POINT_LIMIT,
    REPORT_SCHEMA_VERSION,
)
from analytics.report.quality import DataQuality
from analytics.results import (
    AVAILABILITY_STATUSES,
    RESILIENCE_STATUSES,
    AvailabilityResult,
    ResilienceResult,
)
from analytics.utc import as_utc


def build_availability_report(
    result: AvailabilityResult,
    *,
    params: pd.DataFrame,
    start: pd.Timestamp | datetime,
    end: pd.Timestamp | datetime,
    analysis_timestamp: pd.Timestamp | datetime,
    classification: Classification,
    data_quality: DataQuality | None = None,
    timeline_point_limit: int = DEFAULT_TIMELINE_POINT_LIMIT,
) -> bytes:
    """The availability report of ``result`` over ``[start, end)`` as JSON bytes.

    ``params`` gives each service's ``display_name`` and ``service_type`` (indexed by
    ``service_id``, as returned by :func:`analytics.config.resolve_availability`);
    ``classification`` what the statuses were computed with; ``data_quality`` what the data
    source left out or could not classify (None: nothing). Timelines longer than
    ``timeline_point_limit`` are thinned (see :func:`thinned_positions`).
    """
    _check_thresholds(classification, AvailabilityThresholds)
    start, end = _window(start, end)
    services = result.services
    ids = [str(service_id) for service_id in services.index]
    labels = _labels(params, services.index, ("display_name", "service_type"))
    statuses = services["final_status"].astype(str)
    _check_values(statuses, AVAILABILITY_SUMMARY_STATUSES, "final_status")

    timeline = result.timeline
    positions, bounds = thinned_positions(
        _group_bounds(timeline["service_id"], ids), timeline_point_limit
    )
    points = RowTable(
        [
            b'{"timestamp":"',
            TimestampColumn(_nanoseconds(timeline["timestamp"])[positions]),
            b'","cumulative_failures":',
            NumberColumn(_picked(timeline["cumulative_failures"], positions, np.int64)),
            b',"score":',
            NumberColumn(_picked(timeline["score"], positions, np.float64)),
            b',"status_type":',
            LookupColumn(
                _codes(timeline["status"], AVAILABILITY_STATUSES, "status")[positions],
                json_strings(AVAILABILITY_STATUSES),
            ),
            b"}",
        ],
        bounds,
    )
    budgets = dict(zip(ids, services["error_budget"].astype(int).tolist(), strict=True))
    weights = dict(zip(ids, services["weight"].astype(int).tolist(), strict=True))
    skeleton = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "analysis_type": "availability",
        "analysis_timestamp": iso_utc(analysis_timestamp),
        "analysis_dates": analysis_dates(start, end),
        "window": {"start": iso_utc(start), "end": iso_utc(end)},
        "summary": {
            "aggregated_score": _percent(result.aggregated_score),
            "total_services": len(ids),
            "services_by_status": _count(statuses, AVAILABILITY_SUMMARY_STATUSES),
        },
        "classification": classification.section(),
        "data_quality": (data_quality or DataQuality()).section(),
        "configuration": {"service_error_budgets": budgets, "service_weights": weights},
        "services": {
            service_id: {
                "service_id": service_id,
                "display_name": display_name,
                "service_type": service_type,
                "error_budget": budgets[service_id],
                "weight": weights[service_id],
                "final_score": _percent(final_score),
                "final_status": status,
                "total_failures": int(total_failures),
                "detailed_metrics": ARRAY_SLOT,
            }
            for service_id, display_name, service_type, final_score, status, total_failures in zip(
                ids,
                labels["display_name"],
                labels["service_type"],
                services["final_score"].tolist(),
                statuses,
                services["total_failures"].tolist(),
                strict=True,
            )
        },
        "aggregated_timeline": ARRAY_SLOT,
    }
    return render_document(
        skeleton, [points, _aggregated_table(result.aggregated_timeline, timeline_point_limit)]
    )


def build_resilience_report(
    result: ResilienceResult,
    *,
    params: pd.DataFrame,
    start: pd.Timestamp | datetime,
    hours: int,
    weights: Mapping[str, float],
    analysis_timestamp: pd.Timestamp | datetime,
    classification: Classification,
    data_quality: DataQuality | None = None,
    timeline_point_limit: int = DEFAULT_TIMELINE_POINT_LIMIT,
) -> bytes:
    """The resilience report of ``result`` for ``hours`` hours after ``start`` as JSON bytes.

    ``params`` gives each target's ``display_name`` and ``target_type`` (indexed by
    ``target_id``, see :func:`analytics.config.resolve_resilience`); ``weights`` are the
    ``rpo`` and ``success`` weights the scores were computed with; ``classification`` and
    ``data_quality`` as for :func:`build_availability_report`.
    """
    _check_thresholds(classification, ResilienceThresholds)
    start, end = _window(start, as_utc(start) + pd.Timedelta(hours=hours))
    targets = result.targets
    ids = [str(target_id) for target_id in targets.index]
    labels = _labels(params, targets.index, ("display_name", "target_type"))
    statuses = targets["final_status"].astype(str)
    _check_values(statuses, RESILIENCE_STATUSES, "final_status")
    status_list = statuses.tolist()

    timeline = result.timeline
    positions, bounds = thinned_positions(
        _group_bounds(timeline["target_id"], ids), timeline_point_limit
    )

    def numbers(field: str) -> NumberColumn:
        return NumberColumn(_picked(timeline[field], positions, np.float64))

    points = RowTable(
        [
            b'{"timestamp":"',
            TimestampColumn(_nanoseconds(timeline["timestamp"])[positions]),
            b'","actual_rpo_hours":',
            numbers("actual_rpo_hours"),
            b',"rpo_compliance":',
            numbers("rpo_compliance"),
            b',"success_rate":',
            numbers("success_rate"),
            b',"score":',
            numbers("score"),
            b',"status":',
            LookupColumn(
                _codes(timeline["status"], RESILIENCE_STATUSES, "status")[positions],
                json_strings(RESILIENCE_STATUSES),
            ),
            b"}",
        ],
        bounds,
    )
    rpo_hours = dict(zip(ids, targets["target_rpo_hours"].astype(float).tolist(), strict=True))
    target_weights = dict(zip(ids, targets["weight"].astype(int).tolist(), strict=True))
    final_scores = [_percent(value) for value in targets["final_score"].tolist()]
    finals = {
        "final_rpo_compliance": _numbers(targets["final_rpo_compliance"]),
        "final_success_rate": _numbers(targets["final_success_rate"]),
        "actual_rpo_hours": _numbers(targets["actual_rpo_hours"]),
        "last_successful_backup": _iso_texts(targets["last_successful_backup"]),
        "total_backups": targets["total_backups"].astype(int).tolist(),
        "successful_backups": targets["successful_backups"].astype(int).tolist(),
    }
    skeleton = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "analysis_type": "resilience",
        "analysis_timestamp": iso_utc(analysis_timestamp),
        "window": {"start": iso_utc(start), "end": iso_utc(end), "hours": int(hours)},
        "summary": {
            "aggregated_score": _percent(result.aggregated_score),
            "total_targets": len(ids),
            "targets_by_status": _count(statuses, RESILIENCE_STATUSES),
        },
        "classification": classification.section(),
        "data_quality": (data_quality or DataQuality()).section(),
        "configuration": {
            "target_rpo_hours": rpo_hours,
            "target_weights": target_weights,
            "weights": {"rpo": float(weights["rpo"]), "success": float(weights["success"])},
        },
        "targets": {
            target_id: {
                "target_id": target_id,
                "display_name": labels["display_name"][row],
                "target_type": labels["target_type"][row],
                "target_rpo_hours": rpo_hours[target_id],
                "weight": target_weights[target_id],
                "final_score": final_scores[row],
                "final_status": status_list[row],
                **{field: values[row] for field, values in finals.items()},
                "timeline": ARRAY_SLOT,
            }
            for row, target_id in enumerate(ids)
        },
        "aggregated_timeline": ARRAY_SLOT,
    }
    return render_document(
        skeleton, [points, _aggregated_table(result.aggregated_timeline, timeline_point_limit)]
    )


def thinned_positions(group_bounds: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows to keep so that no group exceeds ``limit`` rows, and the new group bounds.

    Groups are consecutive rows delimited by ``group_bounds`` (``k + 1`` offsets). A group of
    ``n > limit`` rows is cut into ``limit`` buckets of consecutive rows, bucket ``b`` being
    rows ``floor(b * n / limit)`` to ``floor((b + 1) * n / limit) - 1``, and only each bucket's
    last row is kept: the buckets are evenly spaced in points, and the group's last row (its
    final values) is always kept. Smaller groups are kept whole. No loop over groups or rows.
    """
    if limit < 1:
        raise ValueError(f"timeline_point_limit must be at least 1, got {limit}")
    bounds = np.asarray(group_bounds, dtype=np.int64)
    sizes = np.diff(bounds)
    kept = np.minimum(sizes, limit)
    new_bounds = np.concatenate(([0], np.cumsum(kept)))

    def per_kept_row(per_group: np.ndarray) -> np.ndarray:
        return np.repeat(per_group, kept)

    # Computed in place, one per-row temporary at a time (a million rows: 8 MB each), as
    # first row + (bucket + 1) * size // kept - 1; for a group kept whole that is its rows.
    positions = np.arange(1, new_bounds[-1] + 1, dtype=np.int64)
    positions -= per_kept_row(new_bounds[:-1])  # bucket + 1
    positions *= per_kept_row(sizes)
    positions //= per_kept_row(kept)
    positions += per_kept_row(bounds[:-1] - 1)
    return positions, new_bounds


def analysis_dates(start: pd.Timestamp | datetime, end: pd.Timestamp | datetime) -> list[str]:
    """The UTC dates (``YYYY-MM-DD``) that the window ``[start, end)`` touches."""
    first = as_utc(start).floor("D")
    last = (as_utc(end) - pd.Timedelta(1, "ns")).floor("D")
    return [day.strftime("%Y-%m-%d") for day in pd.date_range(first, last, freq="D")]


# --- helpers -----------------------------------------------------------------------------


def _window(
    start: pd.Timestamp | datetime, end: pd.Timestamp | datetime
) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise ValueError(f"report window: end {end} must be after start {start}")
    return start, end


def _check_thresholds(classification: Classification, expected: type) -> None:
    if not isinstance(classification.thresholds, expected):
        raise TypeError(
            f"classification: {type(classification.thresholds).__name__} given where the report "
            f"needs {expected.__name__}"
        )


def _labels(params: pd.DataFrame, index: pd.Index, columns: tuple[str, ...]) -> dict[str, list]:
    missing = index.difference(params.index)
    if len(missing):
        raise ValueError(f"params lack the ids {list(missing[:5])} that the result has")
    rows = params.loc[index, list(columns)]
    return {column: rows[column].astype(str).tolist() for column in columns}


def _group_bounds(ids_column: pd.Series, ids: list[str]) -> np.ndarray:
    """Row offsets delimiting each id's rows in a timeline that lists ids in ``ids`` order."""
    codes = positions_in(ids_column, ids)
    # min() and a comparison of neighbours, not (codes < 0) or np.diff: on ten million rows
    # every temporary array costs more than the arithmetic.
    if codes.min(initial=0) < 0:
        raise ValueError("the timeline has rows for ids that are not in the result")
    if (codes[1:] < codes[:-1]).any():
        raise ValueError("the timeline must be sorted by id in result order, then by time")
    # Needles in the codes' dtype (which holds len(ids)): wider ones would convert every code.
    return np.searchsorted(codes, np.arange(len(ids) + 1, dtype=codes.dtype), side="left")


def _aggregated_table(aggregated: pd.DataFrame, limit: int) -> RowTable:
    positions, bounds = thinned_positions(np.array([0, len(aggregated)]), limit)
    return RowTable(
        [
            b'{"timestamp":"',
            TimestampColumn(_nanoseconds(aggregated["timestamp"])[positions]),
            b'","score":',
            NumberColumn(aggregated["score"].to_numpy(dtype=np.float64)[positions]),
            b"}",
        ],
        bounds,
    )


def _nanoseconds(timestamps: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch (UTC) of a datetime column; naive values are UTC. No copy
    when the column is in nanoseconds."""
    return timestamp_nanoseconds(timestamps, "timestamp")


def _picked(column: pd.Series, positions: np.ndarray, dtype: type) -> np.ndarray:
    """The values of ``column`` at ``positions`` as ``dtype``: picked before any conversion, so
    only the kept timeline points are converted."""
    return column.array[positions].to_numpy(dtype=dtype)


def _iso_texts(timestamps: pd.Series) -> list[str | None]:
    """ISO-8601 UTC texts of a datetime column, None for NaT, formatted in one pass."""
    present = timestamps.notna().to_numpy()
    texts: list[str | None] = [None] * len(timestamps)
    if present.any():
        column = TimestampColumn(_nanoseconds(timestamps[present]))
        matrix, _ = column.texts(0, int(present.sum()))
        formatted = matrix.view(f"S{matrix.shape[1]}").ravel().tolist()
        for position, text in zip(np.flatnonzero(present).tolist(), formatted, strict=True):
            texts[position] = text.replace(b"\0", b"").decode("ascii")
    return texts


def positions_in(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Per value, its position in ``levels`` (-1 when absent), without per-value Python work:
    for a categorical column only its categories are looked up, and when they are ``levels``
    the codes themselves (a read-only view, no copy) are the answer."""
    index = pd.Index(list(levels))
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.array.codes
        if values.cat.categories.equals(index):
            return codes
        per_category = np.append(index.get_indexer(values.cat.categories), -1)
        return per_category[codes]  # code -1 (missing) picks the appended -1
    return index.get_indexer(values)


def _codes(column: pd.Series, levels: tuple[str, ...], name: str) -> np.ndarray:
    codes = positions_in(column, levels)
    if codes.min(initial=0) < 0:
        raise ValueError(f"{name} holds values outside {levels}")
    return codes


def _check_values(values: pd.Series, allowed: tuple[str, ...], name: str) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"{name} holds {unknown}, outside {allowed}")


def _count(values: pd.Series, levels: tuple[str, ...]) -> dict[str, int]:
    counts = values.value_counts()
    return {level: int(counts.get(level, 0)) for level in levels}


def _number(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _numbers(values: pd.Series) -> list[float | None]:
    return [_number(value) for value in values.astype(float).tolist()]


def _percent(value: Any) -> float | None:
    number = _number(value)
    return None if number is None else number * 100
