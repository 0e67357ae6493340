"""The configuration forms' rules, without Dash: which values a column allows, what is wrong
with a row, the selection, per-type bulk edits and UTC date/time fields.

Rows are plain dicts (one per service or backup target, with a unique ``id``) as the pages'
grids hold them; the selection is a collection of row ids.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

ROW_ID = "id"


@dataclass(frozen=True)
class NumberColumn:
    """An editable numeric column with its allowed range (and the configuration key its
    ``{id: value}`` goes to, when it is per item)."""

    column_id: str
    name: str
    low: float
    high: float
    integer: bool = True
    config_key: str | None = None

    @property
    def range_text(self) -> str:
        return f"{number_text(self.low)} to {number_text(self.high)}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed here, or None."""
        if value is None or value == "" or isinstance(value, bool):
            return f"{self.name} is empty (allowed {self.range_text})"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"{self.name} {value!r} is not a number (allowed {self.range_text})"
        if math.isnan(number) or not self.low <= number <= self.high:
            return f"{self.name} {number_text(number)} is out of range (allowed {self.range_text})"
        if self.integer and not number.is_integer():
            return f"{self.name} {number_text(number)} is not a whole number"
        return None

    def coerce(self, value: Any) -> int | float:
        """The value as the configuration wants it (call only on valid values)."""
        number = float(value)
        return int(number) if self.integer else number


def number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def invalid_entries(
    *, rows: Iterable[Mapping[str, Any]], columns: Sequence[NumberColumn], label_column: str
) -> list[str]:
    """One line per invalid cell: ``Main database: Error budget 60 is out of range (...)``."""
    problems = []
    for row in rows:
        for column in columns:
            problem = column.problem(row.get(column.column_id))
            if problem:
                problems.append(f"{row.get(label_column)}: {problem}")
    return problems


def selection_ids(selected_rows: Iterable[Any] | None) -> set[str]:
    """The ids of a grid's selected rows (row dicts, or ids)."""
    return {
        str(row[ROW_ID]) if isinstance(row, Mapping) else str(row) for row in selected_rows or ()
    }


def selected_ids(*, rows: Iterable[Mapping[str, Any]], selected: Collection[str]) -> list[str]:
    """The ids of the selected rows, in table order."""
    return [str(row[ROW_ID]) for row in rows if str(row[ROW_ID]) in selected]


def selected_values(
    *, rows: Iterable[Mapping[str, Any]], selected: Collection[str], column: NumberColumn
) -> dict[str, int | float]:
    """``{id: value}`` of one column over the selected rows (values must be valid)."""
    return {
        str(row[ROW_ID]): column.coerce(row[column.column_id])
        for row in rows
        if str(row[ROW_ID]) in selected
    }


def rows_with_overrides(
    *, rows: Iterable[Mapping[str, Any]], overrides: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows with saved values put back: ``overrides`` maps a column to ``{id: value}``."""
    updated = []
    for row in rows:
        new_row = dict(row)
        for column_id, values in overrides.items():
            if row[ROW_ID] in values:
                new_row[column_id] = values[row[ROW_ID]]
        updated.append(new_row)
    return updated


def selection_for_ids(
    *, rows: Sequence[Mapping[str, Any]], ids: Sequence[str] | None
) -> tuple[list[str], list[str]]:
    """The row ids to select for ``ids`` (every row for None), in table order, and the ids no
    row has."""
    known = [str(row[ROW_ID]) for row in rows]
    if ids is None:
        return known, []
    wanted = set(ids)
    return [i for i in known if i in wanted], [i for i in dict.fromkeys(ids) if i not in known]


def item_rows(
    params: pd.DataFrame,
    *,
    id_column: str,
    text_columns: Sequence[str],
    numbers: Sequence[NumberColumn],
) -> list[dict[str, Any]]:
    """Grid rows of resolved parameters (indexed by item id): the id, the text columns as
    they are and the number columns as the configuration wants them."""
    return [
        {
            ROW_ID: str(item_id),
            id_column: str(item_id),
            **{column: row[column] for column in text_columns},
            **{column.column_id: column.coerce(row[column.column_id]) for column in numbers},
        }
        for item_id, row in zip(params.index, params.to_dict("records"), strict=True)
    ]


def apply_bulk_value(
    *,
    rows: Iterable[Mapping[str, Any]],
    type_column: str,
    item_type: str,
    column: NumberColumn,
    value: Any,
) -> tuple[list[dict[str, Any]], int]:
    """Rows with ``column`` set to ``value`` for every row of ``item_type``, and how many
    changed. ``ValueError`` (with the reason) when the value is not allowed."""
    problem = column.problem(value)
    if problem:
        raise ValueError(problem)
    coerced = column.coerce(value)
    updated, changed = [], 0
    for row in rows:
        new_row = dict(row)
        if row.get(type_column) == item_type:
            new_row[column.column_id] = coerced
            changed += 1
        updated.append(new_row)
    return updated, changed


# --------------------------------------------------------------------------- UTC date and time


def split_utc(value: Any) -> tuple[str | None, str | None]:
    """A timestamp as the (date, time) pair of the date picker and time input, in UTC; the
    time as ``HH:MM``, or ``HH:MM:SS`` when it has seconds (they are kept, never truncated)."""
    if value is None:
        return None, None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d"), stamp.strftime("%H:%M:%S" if stamp.second else "%H:%M")


def combine_utc(date_value: str | None, time_value: str | None) -> datetime:
    """The UTC instant of a date picker value and a ``HH:MM`` or ``HH:MM:SS`` time (midnight
    when empty).

    ``ValueError`` with a message when the date is missing or either part is malformed.
    """
    if not date_value:
        raise ValueError("choose a date")
    try:
        day = datetime.strptime(str(date_value)[:10], "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{date_value!r} is not a date (YYYY-MM-DD)") from None
    clock = datetime.min
    if time_value:
        text = str(time_value)
        try:
            clock = datetime.strptime(text, "%H:%M:%S" if text.count(":") == 2 else "%H:%M")
        except ValueError:
            raise ValueError(f"{time_value!r} is not a time (HH:MM or HH:MM:SS)") from None
    return day.replace(hour=clock.hour, minute=clock.minute, second=clock.second, tzinfo=UTC)
