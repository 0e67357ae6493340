"""JSON reports: built from engine results, loaded back (older tool's files too), exported as CSV.

The layouts are documented field by field in ``docs/report-format.md``. In short: availability
reports keep the older tool's structure and units (``final_score`` and ``aggregated_score`` in
percent, per-point ``score`` from 0 to 1) and add ``schema_version``, ``analysis_type``,
``window`` and ``aggregated_timeline``; resilience reports follow the same conventions.

Everything here is pure: bytes in, bytes or dicts out. Timelines can hold a million points, so
they are written with the vectorised text building of :mod:`analytics.fastjson`.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, NotRequired, get_args

import numpy as np
import orjson
import pandas as pd
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from analytics.availability import timestamp_nanoseconds
from analytics.config import describe_validation_error
from analytics.fastjson import (
    ARRAY_SLOT,
    BytesColumn,
    LookupColumn,
    NumberColumn,
    RowTable,
    TimestampColumn,
    iso_utc,
    json_strings,
    render_document,
    render_rows,
)
from analytics.results import (
    AVAILABILITY_STATUSES,
    NO_DATA,
    RESILIENCE_STATUSES,
    AvailabilityResult,
    ResilienceResult,
)

REPORT_SCHEMA_VERSION = 1
DEFAULT_TIMELINE_POINT_LIMIT = 1000
ReportKind = Literal["availability", "resilience"]
REPORT_KINDS: tuple[ReportKind, ...] = get_args(ReportKind)
AVAILABILITY_SUMMARY_STATUSES = (*AVAILABILITY_STATUSES, NO_DATA)
REPORT_NAME_PREFIXES: dict[ReportKind, str] = {
    "availability": "cumulative_availability_analysis",
    "resilience": "resilience_analysis",
}
# <prefix>_YYYYMMDD_HHMMSS[_<8 hex>].json; the short id is absent in the older tool's names.
REPORT_NAME_PATTERNS: dict[ReportKind, re.Pattern[str]] = {
    kind: re.compile(
        rf"{prefix}_(?P<date>[0-9]{{8}})_(?P<time>[0-9]{{6}})(?:_(?P<short_id>[0-9a-f]{{8}}))?\.json"
    )
    for kind, prefix in REPORT_NAME_PREFIXES.items()
}


class ReportError(ValueError):
    """Bytes that are not a loadable report; the one-line message says why."""


# --- building ----------------------------------------------------------------------------


def build_availability_report(
    result: AvailabilityResult,
    *,
    params: pd.DataFrame,
    start: pd.Timestamp | datetime,
    end: pd.Timestamp | datetime,
    analysis_timestamp: pd.Timestamp | datetime,
    timeline_point_limit: int = DEFAULT_TIMELINE_POINT_LIMIT,
) -> bytes:
    """The availability report of ``result`` over ``[start, end)`` as JSON bytes.

    ``params`` gives each service's ``display_name`` and ``service_type`` (indexed by
    ``service_id``, as returned by :func:`analytics.config.resolve_availability`). Timelines
    longer than ``timeline_point_limit`` are thinned (see :func:`thinned_positions`).
    """
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
    timeline_point_limit: int = DEFAULT_TIMELINE_POINT_LIMIT,
) -> bytes:
    """The resilience report of ``result`` for ``hours`` hours after ``start`` as JSON bytes.

    ``params`` gives each target's ``display_name`` and ``target_type`` (indexed by
    ``target_id``, see :func:`analytics.config.resolve_resilience`); ``weights`` are the
    ``rpo`` and ``success`` weights the scores were computed with.
    """
    start, end = _window(start, _utc(start) + pd.Timedelta(hours=hours))
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
    first = _utc(start).floor("D")
    last = (_utc(end) - pd.Timedelta(1, "ns")).floor("D")
    return [day.strftime("%Y-%m-%d") for day in pd.date_range(first, last, freq="D")]


# --- loading -----------------------------------------------------------------------------
#
# Reports hold up to a million points, so validation must not run Python code per point: the
# per-point types below use only constraints that pydantic checks in Rust (strict types, bounds,
# patterns, literals), TypedDicts produce plain dicts directly, and Python validators run only
# per service, target or report.

_UTC_TIMESTAMP = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$"
)
_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_PATTERN_NAMES = {
    _UTC_TIMESTAMP: "an ISO-8601 UTC timestamp ending in Z (e.g. 2025-09-01T08:00:00Z)",
    _DATE: "a date YYYY-MM-DD",
}
# Scores computed with weights that sum to 1 within 1e-9 may exceed 1 by as much: tolerated.
_SCORE_SLACK = 1e-6

UtcTimestampText = Annotated[str, Field(strict=True, pattern=_UTC_TIMESTAMP)]
DateText = Annotated[str, Field(strict=True, pattern=_DATE)]
_Fraction = Annotated[float, Field(strict=True, ge=0, le=1 + _SCORE_SLACK, allow_inf_nan=False)]
_Percent = Annotated[
    float, Field(strict=True, ge=0, le=100 * (1 + _SCORE_SLACK), allow_inf_nan=False)
]
_Count = Annotated[int, Field(strict=True, ge=0)]
_Hours = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
_Text = Annotated[str, Field(strict=True)]


def _fill_statuses(levels: tuple[str, ...]) -> AfterValidator:
    def fill(counts: dict[str, int]) -> dict[str, int]:
        return {level: counts.get(level, 0) for level in levels}

    return AfterValidator(fill)


def _check_window(window: dict[str, Any]) -> dict[str, Any]:
    start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    if end <= start:
        raise PydanticCustomError("empty_window", "end must be after start")
    hours = window.get("hours")
    if hours is not None and end - start != pd.Timedelta(hours=hours):
        raise PydanticCustomError("window_hours", "end must be start + hours")
    return window


class _Window(TypedDict):
    start: UtcTimestampText
    end: UtcTimestampText


class _ResilienceWindow(TypedDict):
    start: UtcTimestampText
    end: UtcTimestampText
    hours: Annotated[int, Field(strict=True, ge=1, le=8760)]


class _TimelinePoint(TypedDict):
    timestamp: UtcTimestampText
    score: _Fraction


class _AvailabilityPoint(TypedDict):
    timestamp: UtcTimestampText
    cumulative_failures: _Count
    score: _Fraction
    status_type: Literal[AVAILABILITY_STATUSES]  # type: ignore[valid-type]


class _AvailabilityService(TypedDict):
    service_id: _Text
    display_name: NotRequired[_Text]
    service_type: NotRequired[_Text]
    error_budget: Annotated[int, Field(strict=True, ge=1, le=50)]
    weight: Annotated[int, Field(strict=True, ge=1, le=10)]
    final_score: _Percent | None
    final_status: Literal[AVAILABILITY_SUMMARY_STATUSES]  # type: ignore[valid-type]
    total_failures: _Count
    detailed_metrics: list[_AvailabilityPoint]


def _complete_service(service: dict[str, Any]) -> dict[str, Any]:
    """Fill what the older tool did not write, in the new layout's key order."""
    if (service["final_status"] == NO_DATA) != (service["final_score"] is None):
        raise PydanticCustomError(
            "no_data_score", "final_score must be null exactly when final_status is NO_DATA"
        )
    return {
        "service_id": service["service_id"],
        "display_name": service.get("display_name", service["service_id"]),
        "service_type": service.get("service_type", "unknown"),
        **{key: value for key, value in service.items() if key not in _SERVICE_LABELS},
    }


_SERVICE_LABELS = frozenset({"service_id", "display_name", "service_type"})


class _AvailabilityConfiguration(TypedDict):
    service_error_budgets: dict[str, Annotated[int, Field(strict=True)]]
    service_weights: dict[str, Annotated[int, Field(strict=True)]]


class _AvailabilitySummary(TypedDict):
    aggregated_score: _Percent | None
    total_services: _Count
    services_by_status: Annotated[
        dict[Literal[AVAILABILITY_SUMMARY_STATUSES], _Count],  # type: ignore[valid-type]
        _fill_statuses(AVAILABILITY_SUMMARY_STATUSES),
    ]


class _AvailabilityReport(TypedDict):
    schema_version: Literal[0, 1]
    analysis_type: Literal["availability"]
    analysis_timestamp: UtcTimestampText
    analysis_dates: Annotated[list[DateText], Field(min_length=1)]
    window: Annotated[_Window, AfterValidator(_check_window)]
    summary: _AvailabilitySummary
    configuration: _AvailabilityConfiguration
    services: dict[str, Annotated[_AvailabilityService, AfterValidator(_complete_service)]]
    aggregated_timeline: list[_TimelinePoint]


class _ResiliencePoint(TypedDict):
    timestamp: UtcTimestampText
    actual_rpo_hours: _Hours | None
    rpo_compliance: _Fraction
    success_rate: _Fraction
    score: _Fraction
    status: Literal[RESILIENCE_STATUSES]  # type: ignore[valid-type]


class _ResilienceTarget(TypedDict):
    target_id: _Text
    display_name: _Text
    target_type: _Text
    target_rpo_hours: _Hours
    weight: Annotated[int, Field(strict=True, ge=1, le=10)]
    final_score: _Percent
    final_status: Literal[RESILIENCE_STATUSES]  # type: ignore[valid-type]
    final_rpo_compliance: _Fraction
    final_success_rate: _Fraction
    actual_rpo_hours: _Hours | None
    last_successful_backup: UtcTimestampText | None
    total_backups: _Count
    successful_backups: _Count
    timeline: list[_ResiliencePoint]


def _check_weights(weights: dict[str, float]) -> dict[str, float]:
    total = weights["rpo"] + weights["success"]
    if abs(total - 1.0) > 1e-9:
        raise PydanticCustomError(
            "weights_sum", "rpo + success = {total}, must be 1", {"total": total}
        )
    return weights


class _Weights(TypedDict):
    rpo: _Fraction
    success: _Fraction


class _ResilienceConfiguration(TypedDict):
    target_rpo_hours: dict[str, _Hours]
    target_weights: dict[str, Annotated[int, Field(strict=True)]]
    weights: Annotated[_Weights, AfterValidator(_check_weights)]


class _ResilienceSummary(TypedDict):
    aggregated_score: _Percent | None
    total_targets: _Count
    targets_by_status: Annotated[
        dict[Literal[RESILIENCE_STATUSES], _Count],  # type: ignore[valid-type]
        _fill_statuses(RESILIENCE_STATUSES),
    ]


class _ResilienceReport(TypedDict):
    schema_version: Literal[1]
    analysis_type: Literal["resilience"]
    analysis_timestamp: UtcTimestampText
    window: Annotated[_ResilienceWindow, AfterValidator(_check_window)]
    summary: _ResilienceSummary
    configuration: _ResilienceConfiguration
    targets: dict[str, _ResilienceTarget]
    aggregated_timeline: list[_TimelinePoint]


_REPORT_ADAPTERS: dict[ReportKind, TypeAdapter[Any]] = {
    "availability": TypeAdapter(_AvailabilityReport),
    "resilience": TypeAdapter(_ResilienceReport),
}


def load_report(data: bytes | str) -> dict[str, Any]:
    """Validate a report (new layout or the older tool's) and return it in the new layout.

    The result is plain JSON data with the keys of ``docs/report-format.md`` in order; unknown
    keys are dropped. Older-tool files get ``schema_version`` 0, ``analysis_type``
    "availability", ``display_name`` = ``service_id``, ``service_type`` "unknown", a ``window``
    spanning their ``analysis_dates``, an empty ``aggregated_timeline`` and a zero count for
    every status they did not list; their ``services`` keys are kept as written. Timestamps
    must be ISO-8601 UTC ending in ``Z`` (both tools write them so). Raises
    :class:`ReportError` with a one-line message for anything else.
    """
    with _gc_paused():
        document = _parse_json(data)
        kind = _kind_of(document)
        if kind == "availability" and "schema_version" not in document:
            document = _upgrade_older_tool_report(document)
        try:
            return _REPORT_ADAPTERS[kind].validate_python(document)
        except ValidationError as error:
            detail = describe_validation_error(error, limit=3, pattern_names=_PATTERN_NAMES)
            raise ReportError(f"not a valid {kind} report: {detail}") from None


@dataclass(frozen=True)
class ReportSummary:
    """What a list of reports shows, read without validating every timeline point."""

    kind: ReportKind
    schema_version: int
    analysis_timestamp: datetime
    window_start: datetime
    window_end: datetime
    aggregated_score: float | None  # percent
    status_counts: dict[str, int]


class _SummaryHead(TypedDict):
    aggregated_score: _Percent | None
    services_by_status: NotRequired[dict[str, _Count]]
    targets_by_status: NotRequired[dict[str, _Count]]


class _Head(TypedDict):
    schema_version: NotRequired[Literal[0, 1]]
    analysis_type: NotRequired[Literal["availability", "resilience"]]
    analysis_timestamp: UtcTimestampText
    analysis_dates: NotRequired[Annotated[list[DateText], Field(min_length=1)]]
    window: NotRequired[Annotated[_Window, AfterValidator(_check_window)]]
    summary: _SummaryHead


_HEAD_ADAPTER = TypeAdapter(_Head)
_HEAD_FIELDS = frozenset(_Head.__annotations__)
# Fields that come after the header in this program's reports and may be large.
_BULK_FIELDS = frozenset({"configuration", "services", "targets", "aggregated_timeline"})
_JSON_DECODER = json.JSONDecoder()
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def summarize_report(data: bytes | str, *, partial: bool = False) -> ReportSummary | None:
    """The header figures of a report (see :class:`ReportSummary`); ReportError if unreadable.

    Only top-level fields are read, and the timelines are not validated (:func:`load_report`
    does that), so that listing many large reports stays cheap. With ``partial=True``, ``data``
    may be just the beginning of a file: this program writes the header before the services,
    so a few kilobytes suffice; None means the header is not all there (or the beginning is
    not even readable): call again with the whole file.
    """
    if partial:
        head = _scan_head(data)
        if head is None:
            return None
    else:
        with _gc_paused():
            document = _parse_json(data)
        head = {key: value for key, value in document.items() if key in _HEAD_FIELDS}
    try:
        checked = _HEAD_ADAPTER.validate_python(head)
    except ValidationError as error:
        detail = describe_validation_error(error, limit=3, pattern_names=_PATTERN_NAMES)
        raise ReportError(f"not a report: {detail}") from None
    version = checked.get("schema_version")
    kind: ReportKind | None = checked.get("analysis_type")
    if version is None and kind in (None, "availability"):
        kind = "availability"
    elif version is None or kind is None:
        raise ReportError('not a report: "schema_version" or "analysis_type" is missing')
    window = checked.get("window")
    if window is None:
        dates = checked.get("analysis_dates")
        if not dates:
            raise ReportError('not a report: missing field "window" (or "analysis_dates")')
        window = _window_of_dates(dates)
    levels = AVAILABILITY_SUMMARY_STATUSES if kind == "availability" else RESILIENCE_STATUSES
    summary = checked["summary"]
    by_status = summary.get("services_by_status") or summary.get("targets_by_status") or {}
    return ReportSummary(
        kind=kind,
        schema_version=version or 0,
        analysis_timestamp=_datetime(checked["analysis_timestamp"]),
        window_start=_datetime(window["start"]),
        window_end=_datetime(window["end"]),
        aggregated_score=summary["aggregated_score"],
        status_counts={level: by_status.get(level, 0) for level in levels},
    )


def report_kind(name_or_report: str | Mapping[str, Any]) -> ReportKind | None:
    """The kind of a report file name (by its pattern) or of a loaded report; None if neither."""
    if isinstance(name_or_report, str):
        for kind, pattern in REPORT_NAME_PATTERNS.items():
            if pattern.fullmatch(name_or_report):
                return kind
        return None
    kind = name_or_report.get("analysis_type")
    return kind if kind in REPORT_KINDS else None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large tree of fresh dicts.

    Parsing a million-point report creates millions of containers; without this, the
    collector rescans them over and over and parsing takes several times longer. JSON data
    has no reference cycles, so nothing is lost by collecting afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse_json(data: bytes | str) -> dict[str, Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ReportError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ReportError(
            f"not a report: the JSON document is {_type_name(document)}, not an object"
        )
    return document


def _scan_head(data: bytes | str) -> dict[str, Any] | None:
    """The header fields at the start of a (possibly cut) JSON object, read one value at a time.

    Stops before the first bulky field once a complete header of this program's layout has
    been read, so the services are never parsed. None if the data ends (or breaks) first.
    """
    text = _decode_prefix(data) if isinstance(data, bytes) else data
    if text is None:
        return None
    position = _JSON_SPACE.match(text).end()
    if not text.startswith("{", position):
        return None
    position += 1
    head: dict[str, Any] = {}
    try:
        while True:
            position = _JSON_SPACE.match(text, position).end()
            if text.startswith("}", position):
                return head
            key, position = _JSON_DECODER.raw_decode(text, position)
            position = _JSON_SPACE.match(text, position).end()
            if not isinstance(key, str) or not text.startswith(":", position):
                return None
            if key in _BULK_FIELDS and _is_complete_head(head):
                return head
            value, position = _JSON_DECODER.raw_decode(
                text, _JSON_SPACE.match(text, position + 1).end()
            )
            if key in _HEAD_FIELDS:
                head[key] = value
            position = _JSON_SPACE.match(text, position).end()
            if text.startswith(",", position):
                position += 1
            elif not text.startswith("}", position):
                return None
    except (json.JSONDecodeError, RecursionError):
        return None


def _is_complete_head(head: Mapping[str, Any]) -> bool:
    return {"schema_version", "analysis_type", "analysis_timestamp", "window", "summary"} <= set(
        head
    )


def _decode_prefix(data: bytes) -> str | None:
    """UTF-8 text of ``data``, leaving out a character cut in two at its end."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":
            return data[: error.start].decode("utf-8", errors="strict")
        return None


def _kind_of(document: Mapping[str, Any]) -> ReportKind:
    version = document.get("schema_version")
    kind = document.get("analysis_type")
    if "schema_version" not in document:
        if kind not in (None, "availability") or "services" not in document:
            raise ReportError(
                'not a report: no "schema_version", and not an older-tool availability report '
                '(those have "services")'
            )
        return "availability"
    if isinstance(version, bool) or version not in (0, REPORT_SCHEMA_VERSION):
        raise ReportError(
            f"unsupported schema_version {version!r} (this program reads {REPORT_SCHEMA_VERSION}, "
            "and the older tool's files, which have none)"
        )
    if kind is None:
        raise ReportError('not a report: missing key "analysis_type"')
    if kind not in REPORT_KINDS or (version == 0 and kind != "availability"):
        raise ReportError(
            f'analysis_type: {kind!r} is not allowed (allowed: "availability", "resilience")'
        )
    return kind


def _upgrade_older_tool_report(document: Mapping[str, Any]) -> dict[str, Any]:
    """The older tool's availability layout with the fields it lacked filled in."""
    upgraded = {"schema_version": 0, "analysis_type": "availability", **document}
    upgraded.setdefault("aggregated_timeline", [])
    dates = document.get("analysis_dates")
    if "window" not in document and isinstance(dates, list) and dates:
        # On a bad date no window is added: validation then reports the date with its path.
        with suppress(ReportError):
            upgraded["window"] = _window_of_dates(dates)
    return upgraded


def _window_of_dates(dates: Sequence[str]) -> dict[str, str]:
    """The window covering whole UTC days: from the first date's 00:00 to the day after the
    last one."""
    try:
        days = sorted(date.fromisoformat(day) for day in dates)
        start = datetime.combine(days[0], time(0), tzinfo=UTC)
        end = datetime.combine(days[-1], time(0), tzinfo=UTC) + timedelta(days=1)
    except (TypeError, ValueError, OverflowError):
        raise ReportError(f"analysis_dates: {list(dates)!r} are not valid dates") from None
    return {"start": iso_utc(start), "end": iso_utc(end)}


def _datetime(text: str) -> datetime:
    try:
        return pd.Timestamp(text).to_pydatetime(warn=False)
    except (ValueError, OverflowError):  # pandas holds 1677 to 2262 at nanosecond precision
        raise ReportError(f"timestamp {text!r} is outside the supported range") from None


# --- CSV exports -------------------------------------------------------------------------

_SUMMARY_COLUMNS: dict[ReportKind, tuple[str, ...]] = {
    "availability": (
        "service_id",
        "display_name",
        "service_type",
        "error_budget",
        "weight",
        "final_score",
        "final_status",
        "total_failures",
    ),
    "resilience": (
        "target_id",
        "display_name",
        "target_type",
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
    ),
}
# Per kind: where the entries are, their id field, their timeline, its status field, the
# status levels, and the numeric point fields in column order.
_TIMELINES: dict[ReportKind, tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "availability": (
        "services",
        "service_id",
        "detailed_metrics",
        "status_type",
        AVAILABILITY_STATUSES,
        ("cumulative_failures", "score"),
    ),
    "resilience": (
        "targets",
        "target_id",
        "timeline",
        "status",
        RESILIENCE_STATUSES,
        ("actual_rpo_hours", "rpo_compliance", "success_rate", "score"),
    ),
}
_INTEGER_FIELDS = frozenset({"cumulative_failures"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CRLF = b"\r\n"


def summary_csv(report: Mapping[str, Any]) -> bytes:
    """One row per service (or target) with every final figure, from a :func:`load_report` dict.

    ``final_score`` is in percent, as in the JSON report. UTF-8, header row, RFC 4180 quoting
    and CRLF line ends; text that a spreadsheet would run as a formula is neutralised.
    """
    kind = _require_kind(report)
    entries_key = _TIMELINES[kind][0]
    columns = _SUMMARY_COLUMNS[kind]
    lines = [_csv_line(columns)]
    for entry in report[entries_key].values():
        lines.append(_csv_line([entry.get(column) for column in columns]))
    return b"".join(lines)


def timeline_csv(report: Mapping[str, Any]) -> bytes:
    """Every timeline point in long format: the id, the timestamp and the point's other fields,
    one row per point (same encoding rules as :func:`summary_csv`)."""
    kind = _require_kind(report)
    entries_key, id_field, points_key, status_field, levels, numeric = _TIMELINES[kind]
    entries = list(report[entries_key].values())
    counts = [len(entry[points_key]) for entry in entries]
    with _gc_paused():
        points = [point for entry in entries for point in entry[points_key]]
        try:
            timestamps = np.array([point["timestamp"] for point in points], dtype="S")
        except UnicodeEncodeError:
            raise ReportError("timeline timestamps must be ISO-8601 UTC text") from None
        numbers = {
            field: np.array(
                [point[field] for point in points],
                dtype=np.int64 if field in _INTEGER_FIELDS else np.float64,
            )
            for field in numeric
        }
        status_codes = _positions_in(pd.Series([point[status_field] for point in points]), levels)
    if (status_codes < 0).any():
        raise ReportError(f"timeline {status_field} outside {levels}")
    pieces: list[Any] = [
        LookupColumn(
            np.repeat(np.arange(len(entries)), counts), [_csv_text(e[id_field]) for e in entries]
        ),
        b",",
        BytesColumn(timestamps),
    ]
    for field in numeric:
        pieces += [b",", NumberColumn(numbers[field], null_text=b"")]
    pieces += [b",", LookupColumn(status_codes, [_csv_text(level) for level in levels])]
    header = _csv_line((id_field, "timestamp", *numeric, status_field))
    text, _ = render_rows(RowTable(pieces, np.array([0, len(points)]), separator=_CRLF))
    return header + text.tobytes()


def _require_kind(report: Mapping[str, Any]) -> ReportKind:
    kind = report_kind(report)
    if kind is None:
        raise ReportError("not a loaded report: analysis_type is missing or unknown")
    return kind


def _csv_line(values: Sequence[Any]) -> bytes:
    return b",".join(_csv_value(value) for value in values) + _CRLF


def _csv_value(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, int | float):
        return orjson.dumps(value) if np.isfinite(value) else b""
    return _csv_text(str(value))


def _csv_text(text: str) -> bytes:
    """A text cell: neutralised if a spreadsheet would run it as a formula, quoted per RFC 4180.

    The leading single quote makes spreadsheets show the text as is instead of evaluating it.
    Zero bytes, which have no place in a name, are dropped.
    """
    text = text.replace("\0", "")
    if text.startswith(_FORMULA_STARTS):
        text = "'" + text
    if any(special in text for special in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text.encode("utf-8")


# --- helpers -----------------------------------------------------------------------------


def _window(
    start: pd.Timestamp | datetime, end: pd.Timestamp | datetime
) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"report window: end {end} must be after start {start}")
    return start, end


def _utc(value: pd.Timestamp | datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _labels(params: pd.DataFrame, index: pd.Index, columns: tuple[str, ...]) -> dict[str, list]:
    missing = index.difference(params.index)
    if len(missing):
        raise ValueError(f"params lack the ids {list(missing[:5])} that the result has")
    rows = params.loc[index, list(columns)]
    return {column: rows[column].astype(str).tolist() for column in columns}


def _group_bounds(ids_column: pd.Series, ids: list[str]) -> np.ndarray:
    """Row offsets delimiting each id's rows in a timeline that lists ids in ``ids`` order."""
    codes = _positions_in(ids_column, ids)
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


def _positions_in(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
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
    codes = _positions_in(column, levels)
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


def _type_name(value: Any) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else type(value).__name__)
