"""CSV exports of a loaded report: the summary (one row per service or target) and the
timeline (long format, one row per point); see ``docs/report-format.md``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from analytics.fastjson import BytesColumn, LookupColumn, NumberColumn, RowTable, render_rows
from analytics.report.build import positions_in
from analytics.report.format import ReportError, ReportKind, report_kind
from analytics.results import AVAILABILITY_STATUSES, RESILIENCE_STATUSES

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
    status_codes = positions_in(pd.Series([point[status_field] for point in points]), levels)
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
