"""What identifies a report: its schema version, its kind, its file name, and its errors.

Shared by the builder, the loader, the header scan, the CSV export and the report store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args

import pandas as pd

from analytics.fastjson import iso_utc
from analytics.results import AVAILABILITY_STATUSES, NO_DATA

REPORT_SCHEMA_VERSION = 2
# 0: the older tool's files (upgraded when loaded); 1: before classification and data_quality.
READABLE_SCHEMA_VERSIONS = (0, 1, 2)
DEFAULT_TIMELINE_POINT_LIMIT = 1000
ReportKind = Literal["availability", "resilience"]
REPORT_KINDS: tuple[ReportKind, ...] = get_args(ReportKind)
AVAILABILITY_SUMMARY_STATUSES = (*AVAILABILITY_STATUSES, NO_DATA)
REPORT_NAME_PREFIXES: dict[ReportKind, str] = {
    "availability": "cumulative_availability_analysis",
    "resilience": "resilience_analysis",
}
# Uploaded reports are stored under their kind's name with this in front, so that nothing takes
# them for an analysis of this program (the latest report, /metrics, live mode).
UPLOADED_PREFIX = "uploaded_"
# [uploaded_]<prefix>_YYYYMMDD_HHMMSS[_<8 hex>].json; the short id is absent in the older tool's
# names.
REPORT_NAME_PATTERNS: dict[ReportKind, re.Pattern[str]] = {
    kind: re.compile(
        rf"(?P<uploaded>{UPLOADED_PREFIX})?{prefix}_(?P<date>[0-9]{{8}})_(?P<time>[0-9]{{6}})"
        rf"(?:_(?P<short_id>[0-9a-f]{{8}}))?\.json"
    )
    for kind, prefix in REPORT_NAME_PREFIXES.items()
}


def is_uploaded_name(name: str) -> bool:
    """Whether a report file name is that of an uploaded report."""
    return report_kind(name) is not None and name.startswith(UPLOADED_PREFIX)


class ReportError(ValueError):
    """Bytes that are not a loadable report; the one-line message says why."""


def report_kind(name_or_report: str | Mapping[str, Any]) -> ReportKind | None:
    """The kind of a report file name (by its pattern) or of a loaded report; None if neither."""
    if isinstance(name_or_report, str):
        for kind, pattern in REPORT_NAME_PATTERNS.items():
            if pattern.fullmatch(name_or_report):
                return kind
        return None
    kind = name_or_report.get("analysis_type")
    return kind if kind in REPORT_KINDS else None


def window_of_dates(dates: Sequence[str]) -> dict[str, str]:
    """The window covering whole UTC days: from the first date's 00:00 to the day after the
    last one."""
    try:
        days = sorted(date.fromisoformat(day) for day in dates)
        start = datetime.combine(days[0], time(0), tzinfo=UTC)
        end = datetime.combine(days[-1], time(0), tzinfo=UTC) + timedelta(days=1)
    except (TypeError, ValueError, OverflowError):
        raise ReportError(f"analysis_dates: {list(dates)!r} are not valid dates") from None
    return {"start": iso_utc(start), "end": iso_utc(end)}


def parse_timestamp(text: str) -> datetime:
    """A report timestamp (already checked to be ISO-8601 UTC text) as an aware datetime."""
    try:
        return pd.Timestamp(text).to_pydatetime(warn=False)
    except (ValueError, OverflowError):  # pandas holds 1677 to 2262 at nanosecond precision
        raise ReportError(f"timestamp {text!r} is outside the supported range") from None
