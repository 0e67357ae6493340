"""Report headers: the figures a list of reports shows, read without the timelines.

This program writes a report's header (``schema_version`` ... ``summary``) before its bulky
fields, so a list of large reports reads only the first kilobytes of each file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from analytics.config import describe_validation_error
from analytics.report.format import (
    AVAILABILITY_SUMMARY_STATUSES,
    READABLE_SCHEMA_VERSIONS,
    ReportError,
    ReportKind,
    parse_timestamp,
    window_of_dates,
)
from analytics.report.quality import data_quality_problems
from analytics.report.validation import (
    PATTERN_NAMES,
    Count,
    DateText,
    Percent,
    UtcTimestampText,
    Window,
    check_window,
    parse_json_object,
)
from analytics.results import RESILIENCE_STATUSES


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
    data_quality_problems: int = 0  # rows not classified or not used (schema version 2)


class _SummaryHead(TypedDict):
    aggregated_score: Percent | None
    services_by_status: NotRequired[dict[str, Count]]
    targets_by_status: NotRequired[dict[str, Count]]


class _DataQualityHead(TypedDict):
    unknown_status_rows: Count
    dropped_rows: dict[str, Count]


class _Head(TypedDict):
    schema_version: NotRequired[
        Annotated[int, Field(strict=True, ge=0, le=max(READABLE_SCHEMA_VERSIONS))]
    ]
    analysis_type: NotRequired[Literal["availability", "resilience"]]
    analysis_timestamp: UtcTimestampText
    analysis_dates: NotRequired[Annotated[list[DateText], Field(min_length=1)]]
    window: NotRequired[Annotated[Window, AfterValidator(check_window)]]
    summary: _SummaryHead
    data_quality: NotRequired[_DataQualityHead]


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
        document = parse_json_object(data)
        head = {key: value for key, value in document.items() if key in _HEAD_FIELDS}
    try:
        checked = _HEAD_ADAPTER.validate_python(head)
    except ValidationError as error:
        detail = describe_validation_error(error, limit=3, pattern_names=PATTERN_NAMES)
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
        window = window_of_dates(dates)
    levels = AVAILABILITY_SUMMARY_STATUSES if kind == "availability" else RESILIENCE_STATUSES
    summary = checked["summary"]
    by_status = summary.get("services_by_status") or summary.get("targets_by_status") or {}
    return ReportSummary(
        kind=kind,
        schema_version=version or 0,
        analysis_timestamp=parse_timestamp(checked["analysis_timestamp"]),
        window_start=parse_timestamp(window["start"]),
        window_end=parse_timestamp(window["end"]),
        aggregated_score=summary["aggregated_score"],
        status_counts={level: by_status.get(level, 0) for level in levels},
        data_quality_problems=data_quality_problems(checked.get("data_quality", {})),
    )


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
    needed = {"schema_version", "analysis_type", "analysis_timestamp", "window", "summary"}
    version = head.get("schema_version")
    if isinstance(version, int) and version >= 2:
        needed.add("data_quality")
    return needed <= set(head)


def _decode_prefix(data: bytes) -> str | None:
    """UTF-8 text of ``data``, leaving out a character cut in two at its end."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":
            return data[: error.start].decode("utf-8", errors="strict")
        return None
