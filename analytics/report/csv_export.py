"""CSV exports of a loaded report: the summary (one row per service or target) and the
timeline (long format, one row per point); see ``docs/report-format.md``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
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
    rows = [columns]
    rows += [
        [_csv_cell(entry.get(column)) for column in columns]
        for entry in report[entries_key].values()
    ]
    return _csv_rows(rows)


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
            np.repeat(np.arange(len(entries)), counts),
            _csv_texts([_csv_cell(entry[id_field]) for entry in entries]),
        ),
        b",",
        BytesColumn(timestamps),
    ]
    for field in numeric:
        pieces += [b",", NumberColumn(numbers[field], null_text=b"")]
    pieces += [b",", LookupColumn(status_codes, _csv_texts(levels))]
    header = _csv_rows([(id_field, "timestamp", *numeric, status_field)])
    text, _ = render_rows(RowTable(pieces, np.array([0, len(points)]), separator=_CRLF))
    return header + text.tobytes()


def _require_kind(report: Mapping[str, Any]) -> ReportKind:
    kind = report_kind(report)
    if kind is None:
        raise ReportError("not a loaded report: analysis_type is missing or unknown")
    return kind


def _csv_rows(rows: Iterable[Sequence[str]]) -> bytes:
    """Rows of cell texts as CSV: the csv module quotes per RFC 4180 (a cell with a comma, a
    quote or a line break is quoted, quotes doubled), CRLF line ends, UTF-8."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def _csv_texts(cells: Sequence[str]) -> list[bytes]:
    """Each cell text alone, quoted as in a row (for the lookup tables of the timeline rows)."""
    return [row.removesuffix(_CRLF) for row in _csv_rows([cell] for cell in cells).split(_CRLF)][
        : len(cells)
    ]


def _csv_cell(value: Any) -> str:
    """The text of one cell: numbers at full precision (JSON's shortest form, e.g. ``1e-7``),
    missing and non-finite numbers empty, and text neutralised where a spreadsheet would run
    it as a formula: a leading single quote makes spreadsheets show it as is. Zero bytes,
    which have no place in a name, are dropped."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return orjson.dumps(value).decode() if np.isfinite(value) else ""
    text = str(value).replace("\0", "")
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
