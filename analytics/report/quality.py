"""The data-quality section of a report: what the data source dropped or could not classify.

Nothing a source drops or cannot classify may be lost silently: it is counted here during one
analysis run and stored with that run's report (``data_quality``), where the dashboards and the
command line show it. The list of messages is bounded, so a run over a large, messy data set
cannot grow it without limit; every count stays exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

MAX_WARNINGS = 20
# Distinct unknown status words kept by name (those with the most rows); all rows are counted.
MAX_UNKNOWN_WORDS = 50
# A status word or reason is shown at most this long (a status column may hold free text).
MAX_WORD_LENGTH = 80


class DataQuality:
    """The findings of one analysis run, filled by the data source, read by the report builder.

    One instance per run, used by that run's thread only. ``warn`` keeps the first
    :data:`MAX_WARNINGS` distinct messages and counts the rest in ``warnings_omitted``.
    """

    def __init__(self) -> None:
        self.unknown_statuses: Counter[str] = Counter()
        self.unknown_status_rows = 0
        self.dropped_rows: Counter[str] = Counter()
        self.warnings: list[str] = []
        self._omitted: set[str] = set()  # a run's distinct messages are few: a set suffices

    @property
    def warnings_omitted(self) -> int:
        return len(self._omitted)

    def warn(self, message: str) -> None:
        if message in self.warnings:
            return
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self._omitted.add(message)

    def add_unknown_statuses(
        self, rows_by_word: Mapping[str, int], *, rows: int | None = None
    ) -> None:
        """Count rows whose status word is in neither status set, by the word as written;
        ``rows`` is their total when ``rows_by_word`` names only some of the words."""
        for word, count in rows_by_word.items():
            if count:
                self.unknown_statuses[shortened(word)] += int(count)
        self.unknown_status_rows += sum(rows_by_word.values()) if rows is None else int(rows)

    def add_dropped_rows(self, reason: str, rows: int) -> None:
        """Count rows left out of the analysis; ``reason`` says which and why, in words."""
        if rows:
            self.dropped_rows[shortened(reason)] += int(rows)

    @property
    def problem_rows(self) -> int:
        """Rows the source could not classify or use."""
        return self.unknown_status_rows + sum(self.dropped_rows.values())

    def section(self) -> dict[str, Any]:
        """The report's ``data_quality`` object (see docs/report-format.md)."""
        kept = dict(self.unknown_statuses.most_common(MAX_UNKNOWN_WORDS))
        return {
            "unknown_statuses": kept,
            "unknown_status_rows": self.unknown_status_rows,
            "dropped_rows": dict(self.dropped_rows),
            "warnings": list(self.warnings),
            "warnings_omitted": self.warnings_omitted,
        }


def empty_data_quality() -> dict[str, Any]:
    """The ``data_quality`` object of a run that found nothing (and of reports without one)."""
    return DataQuality().section()


def report_data_quality(report: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data_quality`` of a loaded report; an empty but valid one for reports written before
    schema version 2, which did not record it."""
    section = report.get("data_quality")
    return dict(section) if isinstance(section, Mapping) else empty_data_quality()


def data_quality_problems(section: Mapping[str, Any]) -> int:
    """Rows a ``data_quality`` section says were not classified or not used."""
    return int(section.get("unknown_status_rows", 0)) + sum(
        int(rows) for rows in section.get("dropped_rows", {}).values()
    )


def shortened(text: str) -> str:
    """``text`` cut to :data:`MAX_WORD_LENGTH` characters (with "..." when cut)."""
    return text if len(text) <= MAX_WORD_LENGTH else text[: MAX_WORD_LENGTH - 3] + "..."
