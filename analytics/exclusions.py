"""Exclusion windows (planned maintenance): model, validation, expansion and application.

An exclusion has a scope (``all``; a ``service_type`` or ``target_type``; one ``service`` or
``target``, named by ``value``), a ``start``, a ``duration``, an optional RFC 5545 recurrence
rule (``rrule``, e.g. ``FREQ=WEEKLY;BYDAY=SU`` for every Sunday), the IANA time zone ``tz``
its start and recurrence are read in, and a ``reason``.

* ``start`` is a wall time in ``tz`` (an ISO date-time without offset; one with an offset is
  converted to ``tz`` first). Occurrences follow the rule in the zone's wall time (dateutil's
  ``rrule`` on a zone-aware start), so "every Sunday 02:00 Europe/Rome" is 01:00 UTC in
  winter and 00:00 UTC in summer. A wall time skipped by a DST change (02:30 on the
  spring-forward night) is read with the offset before the change (``fold=0``), i.e. an hour
  later on the new clock; a repeated one means its first occurrence. Each occurrence covers
  ``[occurrence, occurrence + duration)`` of elapsed time (``PT2H`` is two real hours, also
  across a DST change).
* Rules are ``HOURLY`` or coarser (a maintenance window recurring every few minutes is a
  mistake), occur at least once, and their occurrences must not overlap one another
  (duration longer than the gap between two occurrences; checked on the first
  :data:`RECURRENCE_CHECK_OCCURRENCES`).
* Within a window, occurrences are clipped to ``[start, end)``, and the intervals of one item
  (service or target) coming from several exclusions are merged: a check or instant is
  excluded once however many exclusions cover it. Two exclusions of the *same scope* that
  overlap are nevertheless refused by :func:`parse_exclusions` (checked over
  :data:`OVERLAP_HORIZON` from the later start), because an entry typed twice is the likely
  cause; exclusions of different scopes (``all`` and ``service_type``) may overlap.
* Availability: checks inside an exclusion of their service, its type or ``all`` are dropped
  before scoring, neither failures nor data (:func:`exclude_checks`, which also says per
  service how many checks and hours of the window were removed). An exclusion covering the
  whole window leaves the service without data: ``NO_DATA``.
* Resilience: :func:`resilience_exclusion_mask` marks the hourly evaluation instants inside an
  exclusion of the target, its type or ``all``.

Intervals are half-open: a check at an occurrence's start is excluded, one at its end is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations, islice
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from dateutil.rrule import rrule, rrulestr
from pydantic import Field, field_validator, model_validator

from analytics.availability import (
    category_positions,
    timestamp_nanoseconds,
    utc_datetime_array,
    utc_timestamp,
)
from analytics.config import EARLIEST, LATEST, ConfigError, StrictModel, validate_model
from analytics.segments import OwnerTimes, merge_intervals
from analytics.windows import duration_label, lookup_time_zone, window_bounds

Scope = Literal["all", "service_type", "service", "target_type", "target"]
AVAILABILITY_SCOPES = ("all", "service_type", "service")
RESILIENCE_SCOPES = ("all", "target_type", "target")
ALLOWED_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
RECURRENCE_CHECK_OCCURRENCES = 366
OVERLAP_HORIZON = timedelta(days=366)
DEFAULT_PREVIEW_COUNT = 5
MAX_RULE_LENGTH = 500
MAX_DURATION = timedelta(days=366)
NS_PER_HOUR = 3_600_000_000_000
_FREQUENCY = re.compile(r"(?:^|;)FREQ=([A-Z]+)(?:;|$)")


class ExclusionWindow(StrictModel):
    """One exclusion window (see the module docstring for the exact semantics)."""

    scope: Scope
    value: str | None = None
    start: datetime
    duration: timedelta
    rrule: str | None = None
    tz: str = "UTC"
    reason: str = Field(min_length=1)

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return lookup_time_zone(name).key

    @field_validator("duration")
    @classmethod
    def _positive(cls, duration: timedelta) -> timedelta:
        if not timedelta(0) < duration <= MAX_DURATION:
            raise ValueError(
                f"{duration_label(duration)} is out of range: a positive duration up to 366 days "
                "(e.g. PT2H for two hours)"
            )
        return duration

    @field_validator("reason")
    @classmethod
    def _said(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("must say why (e.g. 'weekly database maintenance')")
        return reason.strip()

    @field_validator("rrule")
    @classmethod
    def _rule_text(cls, text: str | None) -> str | None:
        if text is None:
            return None
        rule = text.strip().removeprefix("RRULE:").strip()
        if not rule or len(rule) > MAX_RULE_LENGTH or "\n" in rule or "DTSTART" in rule.upper():
            raise ValueError(
                f"{text!r} is not one RFC 5545 RRULE line such as FREQ=WEEKLY;BYDAY=SU "
                "(the start is the start field)"
            )
        frequency = _FREQUENCY.search(rule.upper())
        if frequency is None or frequency[1] not in ALLOWED_FREQUENCIES:
            raise ValueError(
                f"{text!r} needs FREQ= one of {', '.join(ALLOWED_FREQUENCIES)} "
                "(e.g. FREQ=WEEKLY;BYDAY=SU)"
            )
        return rule

    @model_validator(mode="after")
    def _coherent(self) -> ExclusionWindow:
        if self.scope == "all" and self.value is not None:
            raise ValueError(f"value: {self.value!r} must be left out when scope is 'all'")
        if self.scope != "all" and not (self.value or "").strip():
            raise ValueError(
                f"value: missing; scope {self.scope!r} needs the {self.scope} it names"
            )
        first = self.local_start
        if not EARLIEST <= first <= LATEST - self.duration:
            raise ValueError(
                f"start: {self.start} is out of range (allowed 1677-09-22 to 2262-04-11)"
            )
        if self.rrule is not None:
            self._check_recurrence(first)
        return self

    def _check_recurrence(self, first: datetime) -> None:
        try:
            rule = self._rule(first)
            occurrences = list(islice(rule, RECURRENCE_CHECK_OCCURRENCES))
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise ValueError(f"rrule: {self.rrule!r} is not a valid RRULE: {error}") from None
        if not occurrences:
            raise ValueError(f"rrule: {self.rrule!r} never occurs from {self.start}")
        instants = pd.DatetimeIndex([pd.Timestamp(each) for each in occurrences]).as_unit("ns")
        gaps = np.diff(instants.asi8)
        too_close = np.flatnonzero(gaps < pd.Timedelta(self.duration).value)
        if len(too_close):
            at = int(too_close[0])
            raise ValueError(
                f"duration: {duration_label(self.duration)} is longer than the "
                f"{duration_label(pd.Timedelta(int(gaps[at])))} "
                f"between occurrences {occurrences[at]:%Y-%m-%d %H:%M} and "
                f"{occurrences[at + 1]:%Y-%m-%d %H:%M} ({self.tz}); occurrences must not overlap"
            )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def local_start(self) -> datetime:
        """The start as an aware datetime in ``tz``."""
        if self.start.tzinfo is None:
            return self.start.replace(tzinfo=self.zone)
        return self.start.astimezone(self.zone)

    def _rule(self, first: datetime) -> rrule:
        rule = rrulestr(self.rrule, dtstart=first)
        if not isinstance(rule, rrule):
            raise ValueError("only a single RRULE is allowed")
        return rule

    def occurrences(self, start: pd.Timestamp, end: pd.Timestamp) -> npt.NDArray[np.int64]:
        """The starts (UTC ns, ascending) of the occurrences that intersect ``[start, end)``,
        not clipped (one may begin before ``start``)."""
        duration = pd.Timedelta(self.duration)
        first = self.local_start
        if self.rrule is None:
            candidates = [first]
        else:
            # Occurrences are whole microseconds (datetime): flooring the bounds loses none.
            earliest = (start - duration).floor("us").to_pydatetime()
            latest = end.floor("us").to_pydatetime()
            candidates = self._rule(first).between(earliest, latest, inc=True)
        starts = np.array([_nanoseconds(each) for each in candidates], dtype=np.int64)
        return starts[(starts < end.value) & (starts + duration.value > start.value)]

    def applies_to(self, kind: Literal["availability", "resilience"]) -> bool:
        """Whether the scope concerns services (availability) or targets (resilience)."""
        return self.scope in (AVAILABILITY_SCOPES if kind == "availability" else RESILIENCE_SCOPES)


class _ExclusionList(StrictModel):
    exclusions: list[ExclusionWindow]


def parse_exclusions(documents: Any, *, field: str = "exclusions") -> tuple[ExclusionWindow, ...]:
    """Validate a list of exclusion mappings (e.g. from a JSON file or a form).

    Raises ConfigError naming the entry and field (``exclusions.2.tz: unknown time zone ...``),
    also when two exclusions of the same scope overlap (see :func:`find_overlaps`).
    """
    if isinstance(documents, _ExclusionList):
        exclusions = tuple(documents.exclusions)
    else:
        model = validate_model(_ExclusionList, {"exclusions": documents})
        exclusions = tuple(model.exclusions)
    overlaps = find_overlaps(exclusions)
    if overlaps:
        first, second, at = overlaps[0]
        scope = exclusions[first].scope
        value = exclusions[first].value
        named = scope if value is None else f"{scope} {value!r}"
        more = f" (and {len(overlaps) - 1} more overlapping pairs)" if len(overlaps) > 1 else ""
        raise ConfigError(
            f"{field}.{first} and {field}.{second} (both {named}) overlap at "
            f"{at:%Y-%m-%d %H:%M} UTC{more}; merge them into one or move one"
        )
    return exclusions


def find_overlaps(
    exclusions: Sequence[ExclusionWindow],
) -> list[tuple[int, int, pd.Timestamp]]:
    """Pairs ``(i, j, instant)`` of exclusions with the same scope and value whose occurrences
    overlap, with the first instant both cover, within :data:`OVERLAP_HORIZON` from the later
    start of the two."""
    overlaps = []
    for first, second in combinations(range(len(exclusions)), 2):
        one, other = exclusions[first], exclusions[second]
        if (one.scope, one.value) != (other.scope, other.value):
            continue
        since = pd.Timestamp(max(one.local_start, other.local_start)).tz_convert(UTC)
        until = since + OVERLAP_HORIZON
        one_starts, other_starts = one.occurrences(since, until), other.occurrences(since, until)
        shared = _first_shared_instant(
            one_starts,
            one_starts + pd.Timedelta(one.duration).value,
            other_starts,
            other_starts + pd.Timedelta(other.duration).value,
        )
        if shared is not None:
            overlaps.append((first, second, pd.Timestamp(shared, tz=UTC)))
    return overlaps


def _first_shared_instant(
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    other_starts: npt.NDArray[np.int64],
    other_ends: npt.NDArray[np.int64],
) -> int | None:
    """The earliest instant inside an interval of both lists, or ``None``.

    The intervals of one list do not overlap one another, so in the two lists sorted together
    an interval starting before the furthest end so far overlaps one of the other list.
    """
    all_starts = np.concatenate((starts, other_starts))
    order = np.argsort(all_starts, kind="stable")
    sorted_starts = all_starts[order]
    reach = np.maximum.accumulate(np.concatenate((ends, other_ends))[order])
    overlapping = np.flatnonzero(sorted_starts[1:] < reach[:-1])
    return int(sorted_starts[1 + overlapping[0]]) if len(overlapping) else None


def next_occurrences(
    exclusion: ExclusionWindow, *, after: pd.Timestamp, count: int = DEFAULT_PREVIEW_COUNT
) -> pd.DataFrame:
    """A preview for the configuration page: the first ``count`` occurrences not over by
    ``after`` (one under way at ``after`` is included), as ``start`` and ``end`` (UTC) and
    ``local_start`` and ``local_end`` (in the exclusion's zone)."""
    after_ts = utc_timestamp(after, "after")
    duration = pd.Timedelta(exclusion.duration)
    first = exclusion.local_start
    if exclusion.rrule is None:
        candidates = [first] if _nanoseconds(first) + duration.value > after_ts.value else []
    else:
        rule = exclusion._rule(first)
        since = (after_ts - duration).floor("us").to_pydatetime()
        candidates = [
            each
            for each in rule.xafter(since, count=count + 1)
            if _nanoseconds(each) > (after_ts - duration).value
        ][:count]
    starts = pd.DatetimeIndex(
        utc_datetime_array(np.array([_nanoseconds(each) for each in candidates], np.int64))
    )
    ends = starts + duration
    return pd.DataFrame(
        {
            "start": starts,
            "end": ends,
            "local_start": starts.tz_convert(exclusion.tz),
            "local_end": ends.tz_convert(exclusion.tz),
        }
    )


def expand_exclusions(
    exclusions: Sequence[ExclusionWindow], *, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Every occurrence within ``[start, end)``, clipped to it, one row each, ordered by
    exclusion then time: ``exclusion`` (its position in ``exclusions``), ``scope``, ``value``,
    ``start``, ``end`` (UTC), ``reason``. For reports and the bands drawn on charts."""
    start_ts, end_ts = window_bounds(start, end)
    rows: dict[str, list[Any]] = {key: [] for key in ("exclusion", "scope", "value", "reason")}
    starts, ends = [], []
    for number, exclusion in enumerate(exclusions):
        occurrence_starts = exclusion.occurrences(start_ts, end_ts)
        starts.append(np.maximum(occurrence_starts, start_ts.value))
        ends.append(
            np.minimum(occurrence_starts + pd.Timedelta(exclusion.duration).value, end_ts.value)
        )
        for key, value in (
            ("exclusion", number),
            ("scope", exclusion.scope),
            ("value", exclusion.value),
            ("reason", exclusion.reason),
        ):
            rows[key].extend([value] * len(occurrence_starts))
    return pd.DataFrame(
        {
            "exclusion": np.array(rows["exclusion"], dtype=np.int64),
            "scope": pd.Series(rows["scope"], dtype=object),
            "value": pd.Series(rows["value"], dtype=object),
            "start": utc_datetime_array(np.concatenate([np.empty(0, np.int64), *starts])),
            "end": utc_datetime_array(np.concatenate([np.empty(0, np.int64), *ends])),
            "reason": pd.Series(rows["reason"], dtype=object),
        }
    )


# --- application -------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemIntervals:
    """Merged excluded intervals per item (service or target position), disjoint and sorted by
    (position, start), in UTC nanoseconds, with the exclusions that concern no item."""

    positions: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    unmatched: tuple[int, ...]

    def rows_inside(
        self,
        codes: npt.NDArray[np.integer],
        position_of_code: npt.NDArray[np.integer],
        times: npt.NDArray[np.int64],
        items: int,
    ) -> npt.NDArray[np.intp]:
        """The rows (ascending) whose time falls in an interval of their item; ``codes`` map to
        items through ``position_of_code`` (-1: an unknown item, never inside).

        Rows sorted by (code, time), as the data layer returns them, are found per interval:
        a binary search of its bounds within its item's rows, for all intervals at once, so
        the cost grows with the intervals and the rows removed. Other rows are each looked up
        among the intervals of their item.
        """
        if not len(self.starts) or not len(times):
            return np.empty(0, dtype=np.intp)
        if _sorted_by_code_and_time(codes, times):
            return self._sorted_rows_inside(codes, position_of_code, times)
        rows = np.flatnonzero((times >= self.starts.min()) & (times < self.ends.max()))
        positions = position_of_code.take(codes[rows]).astype(np.int64)
        known = positions >= 0
        rows, positions = rows[known], positions[known]
        row_times = times[rows]
        index = OwnerTimes.build(self.positions, self.starts, items)
        counted = index.count_upto(positions, row_times, inclusive=True)
        last = np.maximum(index.bounds[positions] + counted - 1, 0)
        return rows[(counted > 0) & (row_times < self.ends[last])]

    def _sorted_rows_inside(
        self,
        codes: npt.NDArray[np.integer],
        position_of_code: npt.NDArray[np.integer],
        times: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.intp]:
        code_of_position = np.full(int(self.positions.max()) + 1, -1, dtype=np.int64)
        known_codes = np.flatnonzero(position_of_code[:-1] >= 0)
        known_positions = position_of_code[known_codes].astype(np.int64)
        selected = known_positions < len(code_of_position)
        code_of_position[known_positions[selected]] = known_codes[selected]
        interval_codes = code_of_position[self.positions]
        present = interval_codes >= 0  # items with no category in the frame have no rows
        interval_codes = interval_codes[present].astype(codes.dtype)
        first = np.searchsorted(codes, interval_codes, side="left")
        last = np.searchsorted(codes, interval_codes, side="right")
        begin = _search_within(times, first, last, self.starts[present])
        stop = _search_within(times, first, last, self.ends[present])
        lengths = stop - begin
        # Disjoint intervals of one item, so the row ranges are disjoint and ascending.
        offsets = np.repeat(begin - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return np.arange(int(lengths.sum()), dtype=np.intp) + offsets

    def hours(self, items: int) -> npt.NDArray[np.float64]:
        """Excluded hours per item."""
        return (
            np.bincount(self.positions, weights=self.ends - self.starts, minlength=items)
            / NS_PER_HOUR
        )


def item_intervals(
    exclusions: Sequence[ExclusionWindow],
    items: pd.DataFrame,
    *,
    kind: Literal["availability", "resilience"],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> ItemIntervals:
    """The excluded intervals of each item of ``items`` within ``[start, end)``.

    ``items`` is indexed by id (``service_id`` or ``target_id``) with a ``service_type`` or
    ``target_type`` column. Exclusions of the other module's scopes are ignored; those whose
    scope names no item of ``items`` are listed in ``unmatched`` (their occurrences may still
    fall outside the window).
    """
    start_ts, end_ts = window_bounds(start, end)
    type_column = "service_type" if kind == "availability" else "target_type"
    types = items[type_column].to_numpy(dtype=object) if len(items) else np.empty(0, object)
    owners, starts, ends, unmatched = [], [], [], []
    for number, exclusion in enumerate(exclusions):
        if not exclusion.applies_to(kind):
            continue
        if exclusion.scope == "all":
            matched = np.arange(len(items))
        elif exclusion.scope.endswith("_type"):
            matched = np.flatnonzero(types == exclusion.value)
        else:
            matched = np.flatnonzero(items.index == exclusion.value)
        if not len(matched):
            unmatched.append(number)
            continue
        occurrence_starts = exclusion.occurrences(start_ts, end_ts)
        occurrence_ends = occurrence_starts + pd.Timedelta(exclusion.duration).value
        owners.append(np.repeat(matched, len(occurrence_starts)))
        starts.append(np.tile(np.maximum(occurrence_starts, start_ts.value), len(matched)))
        ends.append(np.tile(np.minimum(occurrence_ends, end_ts.value), len(matched)))
    merged = merge_intervals(*(_joined(parts) for parts in (owners, starts, ends)))
    return ItemIntervals(*merged, unmatched=tuple(unmatched))


@dataclass(frozen=True)
class ExcludedChecks:
    """Outcome of :func:`exclude_checks`.

    metrics: the rows kept, canonical columns (the input frame itself when nothing was removed).
    services: per service of ``services`` (same order), ``excluded_checks`` (int: distinct
        instants removed within the window), ``excluded_failures`` (int: failures they held),
        ``excluded_hours`` (float: hours of the window under an exclusion).
    intervals: the merged excluded intervals within the window, per service: ``service_id``
        (category of the services), ``start``, ``end`` (UTC); for chart bands and data gaps.
    unmatched: positions in the exclusions list of those naming no service of ``services``.
    """

    metrics: pd.DataFrame
    services: pd.DataFrame
    intervals: pd.DataFrame
    unmatched: tuple[int, ...]


def exclude_checks(
    metrics: pd.DataFrame,
    services: pd.DataFrame,
    exclusions: Sequence[ExclusionWindow],
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    data_start: pd.Timestamp | None = None,
) -> ExcludedChecks:
    """Drop the checks that fall inside an exclusion of their service, its type or ``all``.

    metrics: canonical frame (``service_id``, ``timestamp``, ``failures``); rows of services
        absent from ``services`` are kept untouched.
    services: indexed by ``service_id`` with a ``service_type`` column (the parameters frame).
    start, end: the analysis window; the counts and intervals returned cover it.
    data_start: where the metrics begin when they reach before the window (burn-rate
        lookbacks); exclusions apply from there too. Defaults to ``start``.

    Vectorised: the excluded intervals are merged per service, then every row is looked up
    with two ``searchsorted`` calls (see :mod:`analytics.segments`). Inputs are not modified.
    """
    start_ts, end_ts = window_bounds(start, end)
    from_ts = (
        start_ts if data_start is None else min(utc_timestamp(data_start, "data_start"), start_ts)
    )
    count = len(services)
    applied = item_intervals(exclusions, services, kind="availability", start=from_ts, end=end_ts)
    codes, position_of_code = category_positions(metrics["service_id"], services.index)
    timestamps = timestamp_nanoseconds(metrics["timestamp"], "timestamp")
    removed_rows = applied.rows_inside(codes, position_of_code, timestamps, count)
    kept = metrics
    if len(removed_rows):
        keep = np.ones(len(metrics), dtype=bool)
        keep[removed_rows] = False
        kept = metrics[keep].reset_index(drop=True)

    removed_times = timestamps[removed_rows]
    in_window = removed_rows[(removed_times >= start_ts.value) & (removed_times < end_ts.value)]
    window_positions = position_of_code.take(codes[in_window]).astype(np.int64)
    failures = metrics["failures"].to_numpy()[in_window].astype(np.int64)
    instants = _distinct_instants(window_positions, timestamps[in_window])
    window_intervals = _clipped(applied, start_ts.value, end_ts.value)
    summary = pd.DataFrame(
        {
            "excluded_checks": np.bincount(window_positions[instants], minlength=count),
            "excluded_failures": np.bincount(
                window_positions, weights=failures, minlength=count
            ).astype(np.int64),
            "excluded_hours": window_intervals.hours(count),
        },
        index=pd.Index(services.index, name="service_id"),
    )
    intervals = pd.DataFrame(
        {
            "service_id": pd.Categorical.from_codes(
                window_intervals.positions, categories=pd.Index(services.index), validate=False
            ),
            "start": utc_datetime_array(window_intervals.starts),
            "end": utc_datetime_array(window_intervals.ends),
        }
    )
    return ExcludedChecks(kept, summary, intervals, applied.unmatched)


def resilience_exclusion_mask(
    exclusions: Sequence[ExclusionWindow],
    targets: pd.DataFrame,
    *,
    start: pd.Timestamp,
    hours: int,
) -> npt.NDArray[np.bool_]:
    """Which evaluation instants are excluded, per target: shape ``(len(targets), hours)``,
    column ``k - 1`` for the instant ``start + k h`` (k = 1 .. hours, the instants of
    :func:`analytics.resilience.score_resilience`).

    ``targets`` is indexed by ``target_id`` with a ``target_type`` column. Each merged interval
    ``[a, b)`` marks the instants ``k`` with ``a <= start + k h < b`` through a difference
    array and one ``cumsum`` along the hours.
    """
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise ValueError(f"hours must be a whole number of at least 1, got {hours!r}")
    start_ts = utc_timestamp(start, "start")
    applied = item_intervals(
        exclusions,
        targets,
        kind="resilience",
        start=start_ts,
        end=start_ts + pd.Timedelta(hours=hours, nanoseconds=1),
    )
    # First instant at or after each bound: k = ceil((bound - start) / 1 h), within 1 .. hours + 1.
    first_in = np.clip(-((start_ts.value - applied.starts) // NS_PER_HOUR), 1, hours + 1)
    first_after = np.clip(-((start_ts.value - applied.ends) // NS_PER_HOUR), 1, hours + 1)
    steps = np.zeros((len(targets), hours + 1), dtype=np.int8)
    np.add.at(steps, (applied.positions, first_in - 1), 1)
    np.add.at(steps, (applied.positions, first_after - 1), -1)
    return np.cumsum(steps, axis=1, dtype=np.int8)[:, :hours] > 0


def _distinct_instants(
    positions: npt.NDArray[np.int64], times: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """Indices of one row per distinct (position, time) pair."""
    if not len(positions):
        return np.empty(0, dtype=np.intp)
    ordered = np.all(
        (positions[1:] > positions[:-1])
        | ((positions[1:] == positions[:-1]) & (times[1:] >= times[:-1]))
    )
    order = np.arange(len(positions)) if ordered else np.lexsort((times, positions))
    positions, times = positions[order], times[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (positions[1:] != positions[:-1]) | (times[1:] != times[:-1])
    return order[first]


def _sorted_by_code_and_time(codes: npt.NDArray[np.integer], times: npt.NDArray[np.int64]) -> bool:
    """Whether rows are sorted by code, then by time within a code."""
    code_steps = np.diff(codes)
    if code_steps.min(initial=0) < 0:
        return False
    return bool(np.all((np.diff(times) >= 0) | (code_steps != 0)))


def _search_within(
    times: npt.NDArray[np.int64],
    first: npt.NDArray[np.intp],
    last: npt.NDArray[np.intp],
    values: npt.NDArray[np.int64],
) -> npt.NDArray[np.intp]:
    """Per query, the first row in ``[first, last)`` whose time is at least ``value`` (``last``
    when none), ``times`` being sorted within each range: a binary search of all queries at
    once, one step per halving of the longest range."""
    low, high = first.astype(np.intp), last.astype(np.intp)
    while True:
        open_ = low < high
        if not open_.any():
            return low
        middle = (low + high) // 2
        before = open_ & (times[np.minimum(middle, len(times) - 1)] < values)
        low = np.where(before, middle + 1, low)
        high = np.where(open_ & ~before, middle, high)


def _clipped(intervals: ItemIntervals, start_ns: int, end_ns: int) -> ItemIntervals:
    starts = np.maximum(intervals.starts, start_ns)
    ends = np.minimum(intervals.ends, end_ns)
    keep = ends > starts
    return ItemIntervals(intervals.positions[keep], starts[keep], ends[keep], intervals.unmatched)


def _joined(parts: list[npt.NDArray]) -> npt.NDArray[np.int64]:
    return np.concatenate([np.empty(0, dtype=np.int64), *parts]).astype(np.int64, copy=False)


def _nanoseconds(instant: datetime) -> int:
    return pd.Timestamp(instant).as_unit("ns").value


def exclusions_document(exclusions: Sequence[ExclusionWindow]) -> list[dict[str, Any]]:
    """The exclusions as JSON-ready mappings (for configurations and reports); parsing them
    with :func:`parse_exclusions` gives them back."""
    return [exclusion.model_dump(mode="json", exclude_none=True) for exclusion in exclusions]
