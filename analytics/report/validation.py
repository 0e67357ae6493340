"""Loading reports: validation of a whole report (this program's or the older tool's) into the
layout of ``docs/report-format.md``.

Reports hold up to a million points, so validation must not run Python code per point: the
per-point types below use only constraints that pydantic checks in Rust (strict types, bounds,
patterns, literals), TypedDicts produce plain dicts directly, and Python validators run only
per service, target or report. A report of this program's layout is parsed and validated in one
pass by pydantic's JSON parser, which builds only the result's objects; anything else (the older
tool's files, and every invalid document, for its message) goes the way of a parsed document.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Annotated, Any, Literal, NotRequired

import orjson
import pandas as pd
from pydantic import AfterValidator, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from analytics.classify import AvailabilityThresholds, ResilienceThresholds
from analytics.config import describe_validation_error
from analytics.report.classification import UNKNOWN_STATUS_POLICIES
from analytics.report.format import (
    AVAILABILITY_SUMMARY_STATUSES,
    READABLE_SCHEMA_VERSIONS,
    REPORT_KINDS,
    REPORT_SCHEMA_VERSION,
    ReportError,
    ReportKind,
    window_of_dates,
)
from analytics.report.quality import MAX_WARNINGS
from analytics.results import AVAILABILITY_STATUSES, NO_DATA, RESILIENCE_STATUSES

_UTC_TIMESTAMP = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$"
)
_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
PATTERN_NAMES = {
    _UTC_TIMESTAMP: "an ISO-8601 UTC timestamp ending in Z (e.g. 2025-09-01T08:00:00Z)",
    _DATE: "a date YYYY-MM-DD",
}
# Scores computed with weights that sum to 1 within 1e-9 may exceed 1 by as much: tolerated.
_SCORE_SLACK = 1e-6

UtcTimestampText = Annotated[str, Field(strict=True, pattern=_UTC_TIMESTAMP)]
DateText = Annotated[str, Field(strict=True, pattern=_DATE)]
_Fraction = Annotated[float, Field(strict=True, ge=0, le=1 + _SCORE_SLACK, allow_inf_nan=False)]
Percent = Annotated[
    float, Field(strict=True, ge=0, le=100 * (1 + _SCORE_SLACK), allow_inf_nan=False)
]
Count = Annotated[int, Field(strict=True, ge=0)]
_Hours = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
_Text = Annotated[str, Field(strict=True)]


def _fill_statuses(levels: tuple[str, ...]) -> AfterValidator:
    def fill(counts: dict[str, int]) -> dict[str, int]:
        return {level: counts.get(level, 0) for level in levels}

    return AfterValidator(fill)


def check_window(window: dict[str, Any]) -> dict[str, Any]:
    start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    if end <= start:
        raise PydanticCustomError("empty_window", "end must be after start")
    hours = window.get("hours")
    if hours is not None and end - start != pd.Timedelta(hours=hours):
        raise PydanticCustomError("window_hours", "end must be start + hours")
    return window


class Window(TypedDict):
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
    cumulative_failures: Count
    score: _Fraction
    status_type: Literal[AVAILABILITY_STATUSES]  # type: ignore[valid-type]


class _AvailabilityService(TypedDict):
    service_id: _Text
    display_name: NotRequired[_Text]
    service_type: NotRequired[_Text]
    error_budget: Annotated[int, Field(strict=True, ge=1, le=50)]
    weight: Annotated[int, Field(strict=True, ge=1, le=10)]
    final_score: Percent | None
    final_status: Literal[AVAILABILITY_SUMMARY_STATUSES]  # type: ignore[valid-type]
    total_failures: Count
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
    aggregated_score: Percent | None
    total_services: Count
    services_by_status: Annotated[
        dict[Literal[AVAILABILITY_SUMMARY_STATUSES], Count],  # type: ignore[valid-type]
        _fill_statuses(AVAILABILITY_SUMMARY_STATUSES),
    ]


def _ordered_thresholds(kind: type) -> AfterValidator:
    def check(values: dict[str, float]) -> dict[str, float]:
        try:
            kind(**values)
        except ValueError as error:
            raise PydanticCustomError("thresholds_order", str(error)) from None
        return values

    return AfterValidator(check)


class _AvailabilityThresholds(TypedDict):
    critical_below: _Fraction
    good_above: _Fraction


class _ResilienceThresholds(TypedDict):
    excellent_above: _Fraction
    good_from: _Fraction
    acceptable_from: _Fraction
    critical_from: _Fraction


class _AvailabilityClassification(TypedDict):
    status_thresholds: Annotated[
        _AvailabilityThresholds, _ordered_thresholds(AvailabilityThresholds)
    ]
    failure_statuses: list[_Text]
    success_statuses: list[_Text]
    unknown_status_policy: Literal[UNKNOWN_STATUS_POLICIES]  # type: ignore[valid-type]


class _ResilienceClassification(TypedDict):
    status_thresholds: Annotated[_ResilienceThresholds, _ordered_thresholds(ResilienceThresholds)]
    failure_statuses: list[_Text]
    success_statuses: list[_Text]
    unknown_status_policy: Literal[UNKNOWN_STATUS_POLICIES]  # type: ignore[valid-type]


class _DataQuality(TypedDict):
    unknown_statuses: dict[str, Count]
    unknown_status_rows: Count
    dropped_rows: dict[str, Count]
    warnings: Annotated[list[_Text], Field(max_length=MAX_WARNINGS)]
    warnings_omitted: Count


class _AvailabilityReport(TypedDict):
    # A strict int, not a Literal: a Literal would also take `true` and `1.0` for 1.
    schema_version: Annotated[int, Field(strict=True, ge=0, le=REPORT_SCHEMA_VERSION)]
    analysis_type: Literal["availability"]
    analysis_timestamp: UtcTimestampText
    analysis_dates: Annotated[list[DateText], Field(min_length=1)]
    window: Annotated[Window, AfterValidator(check_window)]
    summary: _AvailabilitySummary
    # Written by this program since schema version 2; optional when read (see
    # analytics.report.report_thresholds and report_data_quality for what stands in for them).
    classification: NotRequired[_AvailabilityClassification]
    data_quality: NotRequired[_DataQuality]
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
    final_score: Percent
    final_status: Literal[RESILIENCE_STATUSES]  # type: ignore[valid-type]
    final_rpo_compliance: _Fraction
    final_success_rate: _Fraction
    actual_rpo_hours: _Hours | None
    last_successful_backup: UtcTimestampText | None
    total_backups: Count
    successful_backups: Count
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
    aggregated_score: Percent | None
    total_targets: Count
    targets_by_status: Annotated[
        dict[Literal[RESILIENCE_STATUSES], Count],  # type: ignore[valid-type]
        _fill_statuses(RESILIENCE_STATUSES),
    ]


class _ResilienceReport(TypedDict):
    schema_version: Annotated[int, Field(strict=True, ge=1, le=REPORT_SCHEMA_VERSION)]
    analysis_type: Literal["resilience"]
    analysis_timestamp: UtcTimestampText
    window: Annotated[_ResilienceWindow, AfterValidator(check_window)]
    summary: _ResilienceSummary
    classification: NotRequired[_ResilienceClassification]
    data_quality: NotRequired[_DataQuality]
    configuration: _ResilienceConfiguration
    targets: dict[str, _ResilienceTarget]
    aggregated_timeline: list[_TimelinePoint]


_REPORT_ADAPTERS: dict[ReportKind, TypeAdapter[Any]] = {
    "availability": TypeAdapter(_AvailabilityReport),
    "resilience": TypeAdapter(_ResilienceReport),
}
_ANY_REPORT_ADAPTER: TypeAdapter[Any] = TypeAdapter(
    Annotated[_AvailabilityReport | _ResilienceReport, Field(discriminator="analysis_type")]
)


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
    with suppress(ValidationError):
        return _ANY_REPORT_ADAPTER.validate_json(data)
    document = parse_json_object(data)
    kind = _kind_of(document)
    if kind == "availability" and "schema_version" not in document:
        document = _upgrade_older_tool_report(document)
    try:
        return _REPORT_ADAPTERS[kind].validate_python(document)
    except ValidationError as error:
        detail = describe_validation_error(error, limit=3, pattern_names=PATTERN_NAMES)
        raise ReportError(f"not a valid {kind} report: {detail}") from None


def parse_json_object(data: bytes | str) -> dict[str, Any]:
    """The JSON object in ``data``; ReportError if it is not JSON or not an object."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise ReportError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ReportError(
            f"not a report: the JSON document is {_type_name(document)}, not an object"
        )
    return document


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
    if isinstance(version, bool) or version not in READABLE_SCHEMA_VERSIONS:
        raise ReportError(
            f"unsupported schema_version {version!r} (this program reads "
            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS[1:]))}, "
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
            upgraded["window"] = window_of_dates(dates)
    return upgraded


def _type_name(value: Any) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else type(value).__name__)
