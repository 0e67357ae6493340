"""JSON reports: built from engine results, loaded back (older tool's files too), exported as CSV.

The layouts are documented field by field in ``docs/report-format.md``. In short: availability
reports keep the older tool's structure and units (``final_score`` and ``aggregated_score`` in
percent, per-point ``score`` from 0 to 1) and add ``schema_version``, ``analysis_type``,
``window`` and ``aggregated_timeline``; resilience reports follow the same conventions.

Everything here is pure: bytes in, bytes or dicts out. One module per purpose:

- :mod:`~analytics.report.format`: schema version, kinds, file names, :class:`ReportError`;
- :mod:`~analytics.report.build`: a report's JSON bytes from an engine result;
- :mod:`~analytics.report.validation`: :func:`load_report`, the whole report validated;
- :mod:`~analytics.report.header`: :func:`summarize_report`, the header figures only;
- :mod:`~analytics.report.csv_export`: :func:`summary_csv` and :func:`timeline_csv`;
- :mod:`~analytics.report.classification`: how a report was classified
  (:func:`report_thresholds`);
- :mod:`~analytics.report.quality`: what the data source left out (:class:`DataQuality`,
  :func:`report_data_quality`).
"""

from analytics.fastjson import iso_utc
from analytics.report.build import (
    analysis_dates,
    build_availability_report,
    build_resilience_report,
    thinned_positions,
)
from analytics.report.classification import (
    UNKNOWN_STATUS_POLICIES,
    Classification,
    UnknownStatusPolicy,
    report_thresholds,
)
from analytics.report.csv_export import summary_csv, timeline_csv
from analytics.report.format import (
    AVAILABILITY_SUMMARY_STATUSES,
    DEFAULT_TIMELINE_POINT_LIMIT,
    REPORT_KINDS,
    REPORT_NAME_PATTERNS,
    REPORT_NAME_PREFIXES,
    REPORT_SCHEMA_VERSION,
    UPLOADED_PREFIX,
    ReportError,
    ReportKind,
    is_uploaded_name,
    report_kind,
)
from analytics.report.header import ReportSummary, summarize_report
from analytics.report.quality import DataQuality, report_data_quality
from analytics.report.validation import load_report

__all__ = [
    "AVAILABILITY_SUMMARY_STATUSES",
    "DEFAULT_TIMELINE_POINT_LIMIT",
    "REPORT_KINDS",
    "REPORT_NAME_PATTERNS",
    "REPORT_NAME_PREFIXES",
    "REPORT_SCHEMA_VERSION",
    "UNKNOWN_STATUS_POLICIES",
    "UPLOADED_PREFIX",
    "Classification",
    "DataQuality",
    "ReportError",
    "ReportKind",
    "ReportSummary",
    "UnknownStatusPolicy",
    "analysis_dates",
    "build_availability_report",
    "build_resilience_report",
    "is_uploaded_name",
    "iso_utc",
    "load_report",
    "report_data_quality",
    "report_kind",
    "report_thresholds",
    "summarize_report",
    "summary_csv",
    "thinned_positions",
    "timeline_csv",
]
