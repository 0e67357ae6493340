"""Availability scoring: cumulative failures against an error budget, per service and aggregated.

For each selected service the timeline has one point per distinct timestamp of its metrics in the
half-open window ``[start, end)``; ``P_f(t)`` counts the failure rows at or before ``t`` and the
score is the operators' three-branch formula (see :func:`availability_score`).

The engine is built for tens of millions of rows on a small machine:

* It works on numpy arrays (category codes, int64 nanoseconds), never on pandas objects per row,
  and walks the rows in cache-sized chunks so that temporaries stay small and hot.
* Input from the data layer is sorted by (service code, timestamp); this is checked on the fly,
  and only unsorted input pays for a sort.
* A score depends only on ``(P_f, E_b)``, and ``S = 0`` once ``P_f >= 2 E_b``. The literal
  formula is therefore evaluated once on the grid of the budgets present times every ``P_f`` up
  to twice the largest one, and statuses are classified there, as long as that grid is small
  (configured budgets are at most :data:`MAX_ERROR_BUDGET`). Budgets derived from objectives
  can be in the thousands: the grid would then grow with the square of the budget, so the
  formula is evaluated per run instead. Failures are rare, so points come in long runs with the
  same ``P_f``: each run gets its score and status once, and the timeline columns are spread
  from the runs with ``np.repeat``.
* The aggregated timeline is built without sorting the points by time. The distinct instants
  are marked in a boolean array over the window, one entry per second (or per finer unit when
  some timestamp needs it), while each chunk is in cache. A point changes the weighted sum by
  ``w (S_new - S_previous)``, which is non-zero only at points with failures; these few changes
  are added per instant with ``np.bincount`` and accumulated with ``cumsum``. To make that
  accumulation exact, each score is first rounded to a multiple of ``2**-k`` chosen so that every
  partial sum is an integer below ``2**53``; the result is then exact up to that rounding
  (``2**-k <= 2**-39`` for a thousand services of weight 10), whatever the number of points.
  Windows with too many units per row fall back to sorting the instants.

The module also holds the small frame helpers that :mod:`analytics.resilience` shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.arrays import DatetimeArray

from analytics.classify import (
    DEFAULT_AVAILABILITY_THRESHOLDS,
    MISSING_CODE,
    AvailabilityThresholds,
    classify_availability,
    status_categorical,
    status_names,
)
from analytics.results import AVAILABILITY_STATUSES, AvailabilityResult
from analytics.utc import as_utc

MIN_ERROR_BUDGET = 1
MAX_ERROR_BUDGET = 50  # the largest budget a configuration may give as a count
# The engine scores any budget up to this (objectives derive budgets from check counts).
MAX_ENGINE_ERROR_BUDGET = np.iinfo(np.int32).max
# Score grids larger than this many (budget, P_f) cells are not built: the formula is evaluated
# per run instead (a few thousand cells cost less than the per-run arithmetic they replace).
MAX_SCORE_TABLE_CELLS = 1 << 16
MIN_WEIGHT = 1
MAX_WEIGHT = 10
# 128k rows: every per-chunk temporary (at most 8 bytes a row) fits in a 1 MiB cache.
CHUNK_ROWS = 1 << 17
# Distinct instants are flagged in a boolean array with one entry per unit of the window (in the
# coarsest exact unit); beyond this many units per input row it would cost more than sorting the
# instants, so the engine sorts instead.
MAX_WINDOW_UNITS_PER_ROW = 4
# Sorting C score changes costs about C log C; adding them per unit of the window costs about the
# window's length. Changes are sorted while they are fewer than one per this many units.
SORTED_CHANGES_PER_UNIT = 32
_TIME_UNITS_NS = (1_000_000_000, 1_000_000, 1_000, 1)
_UTC_NS = pd.DatetimeTZDtype(unit="ns", tz="UTC")


# --- frame helpers shared with analytics.resilience -------------------------------------------


def utc_timestamp(value: pd.Timestamp | str, name: str) -> pd.Timestamp:
    """``value`` as a UTC timestamp; a naive one means UTC. ``name`` is used in the error."""
    timestamp = as_utc(value)
    if pd.isna(timestamp):
        raise ValueError(f"{name} must be a timestamp, got {value!r}")
    return timestamp


def timestamp_nanoseconds(column: pd.Series, name: str) -> npt.NDArray[np.int64]:
    """Nanoseconds since the epoch (UTC) of a datetime column, without a copy when it is in ns.

    Naive datetimes mean UTC; NaT becomes the int64 minimum, which both engines ignore.
    """
    if not isinstance(column.dtype, pd.DatetimeTZDtype) and column.dtype.kind != "M":
        raise ValueError(f"{name} must hold datetimes, got dtype {column.dtype}")
    if column.dt.unit != "ns":
        column = column.dt.as_unit("ns")
    return column.array.asi8


def utc_datetime_array(nanoseconds: npt.NDArray[np.int64]) -> DatetimeArray:
    """A ``datetime64[ns, UTC]`` array over int64 nanoseconds, sharing their memory.

    pandas has no public zero-copy constructor for tz-aware arrays (``pd.array``,
    ``DatetimeIndex`` and ``tz_localize`` all copy 8 bytes a row), hence ``_simple_new``.
    """
    return DatetimeArray._simple_new(nanoseconds.view("M8[ns]"), dtype=_UTC_NS)


def code_dtype(categories: int) -> np.dtype:
    """The integer dtype pandas uses for codes of ``categories`` categories (no recast later)."""
    for dtype in (np.int8, np.int16, np.int32):
        if categories < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def category_positions(
    column: pd.Series, index: pd.Index
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.integer]]:
    """Category codes of ``column`` and, per code, the position of its id in ``index``.

    The position array has one extra trailing ``-1`` so that ``positions.take(codes)`` maps a
    missing value (code ``-1``) and ids absent from ``index`` alike to ``-1``. The mapping is
    computed once on the categories, never per row.
    """
    if not isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype("category")
    categories = column.cat.categories
    positions = np.append(index.get_indexer(categories), -1).astype(code_dtype(len(index)))
    return column.array.codes, positions  # a read-only view, where .cat.codes copies


def parameter_column(
    params: pd.DataFrame, column: str, *, low: float, high: float, integer: bool
) -> npt.NDArray:
    """One parameter column as an array, refused unless every value lies in ``[low, high]``
    (and is a whole number when ``integer``); the message names the id, value and range."""
    if params.index.has_duplicates:
        duplicated = params.index[params.index.duplicated()].unique().tolist()
        raise ValueError(f"parameters list these ids more than once: {duplicated}")
    if column not in params.columns:
        raise ValueError(f"parameters lack the column {column!r}")
    values = pd.to_numeric(params[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~((values >= low) & (values <= high))
    if integer:
        bad |= values != np.round(values)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kind, bounds = (
            ("an integer", f"{low:.0f} to {high:.0f}")
            if integer
            else ("a number", f"{low:g} to {high:g}")
        )
        raise ValueError(
            f"{column} of {params.index[first]!r} is {params[column].tolist()[first]!r}: "
            f"it must be {kind} from {bounds}"
        )
    return values.astype(np.int64) if integer else values


# --- the score -------------------------------------------------------------------------------


def availability_score(failures: npt.ArrayLike, error_budget: npt.ArrayLike) -> npt.NDArray:
    """S(P_f, E_b) exactly as the operators specified it (kept in its three-branch form):

    1 if P_f = 0; 1 - (P_f / E_b) x 0.5 if 0 < P_f <= E_b; max(0, 0.5 - ((P_f - E_b) / E_b) x 0.5)
    if P_f > E_b. Arguments broadcast against each other.
    """
    p_f = np.asarray(failures, dtype=np.float64)
    e_b = np.asarray(error_budget, dtype=np.float64)
    return np.select(
        [p_f == 0, p_f <= e_b],
        [1.0, 1 - (p_f / e_b) * 0.5],
        np.maximum(0.0, 0.5 - ((p_f - e_b) / e_b) * 0.5),
    )


@dataclass(frozen=True)
class _ScoreTables:
    """Score, status and rounded score of a service's (E_b, P_f) pairs.

    When small enough, a table holds every pair of the budgets present (one row per distinct
    budget) with ``P_f`` from 0 to ``2 * max_budget``; larger counts are clamped there, where
    every budget's score is already 0. Otherwise (``width`` is 0) the formula is evaluated for
    the pairs asked for: the same function on the same values, hence the same scores.
    """

    budgets: npt.NDArray[np.int64]  # per service position
    thresholds: AvailabilityThresholds
    one: float  # 2**k, the rounded score of a perfect service
    width: int
    row_start: npt.NDArray[np.intp]  # per service position: its table row times the width
    score: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]
    rounded: npt.NDArray[np.float64]  # score * 2**k rounded to an integer (see module docstring)

    @classmethod
    def build(
        cls, budgets: npt.NDArray[np.int64], total_weight: int, thresholds: AvailabilityThresholds
    ) -> _ScoreTables:
        # Every partial sum of weighted rounded scores is bounded by total_weight * 2**k < 2**53.
        one = float(2 ** (53 - int(total_weight).bit_length()))
        distinct, row = np.unique(budgets, return_inverse=True)
        width = 2 * int(distinct.max(initial=MIN_ERROR_BUDGET)) + 1
        if len(distinct) * width > MAX_SCORE_TABLE_CELLS:
            width = 0
            distinct = row = np.empty(0, dtype=np.int64)
        score = availability_score(np.arange(width)[np.newaxis, :], distinct[:, np.newaxis])
        score = score.ravel()
        return cls(
            budgets=budgets,
            thresholds=thresholds,
            one=one,
            width=width,
            row_start=(row * width).astype(np.intp),
            score=score,
            status=classify_availability(score, thresholds),
            rounded=np.rint(score * one),
        )

    def _index(
        self, positions: npt.NDArray[np.integer], cumulative: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.intp]:
        """Where (E_b of the service, P_f) sits in the table, P_f clamped to its last column."""
        return self.row_start.take(positions) + np.minimum(cumulative, self.width - 1)

    def _formula(
        self, positions: npt.NDArray[np.integer], cumulative: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        return availability_score(cumulative, self.budgets.take(positions))

    def score_and_status(
        self, positions: npt.NDArray[np.integer], cumulative: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
        """Score and status code of each (service position, cumulative failures) pair."""
        if self.width:
            index = self._index(positions, cumulative)
            return self.score.take(index), self.status.take(index)
        score = self._formula(positions, cumulative)
        return score, classify_availability(score, self.thresholds)

    def rounded_score(
        self, positions: npt.NDArray[np.integer], cumulative: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Score times 2**k rounded to an integer, per pair."""
        if self.width:
            return self.rounded.take(self._index(positions, cumulative))
        return np.rint(self._formula(positions, cumulative) * self.one)


# --- the engine ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scoring:
    """Per-service parameters, laid out for lookups by service position."""

    start_ns: int
    end_ns: int
    weights: npt.NDArray[np.float64]
    tables: _ScoreTables
    cumulative_dtype: np.dtype


@dataclass
class _Points:
    """The timeline points of the services with data, sorted by service position then time."""

    position: npt.NDArray[np.integer]  # row of the service in the parameters
    timestamp: npt.NDArray[np.int64]
    cumulative_failures: npt.NDArray[np.integer]
    score: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]
    # Instants are numbered (timestamp - start) // time_unit_ns, in the coarsest of s, ms, us, ns
    # in which every such offset is a whole number, so that distinct instants stay distinct.
    time_unit_ns: int
    instants: npt.NDArray[np.int64]  # the distinct instant numbers of all points, ascending
    window_units: int | None  # units in the window, when small enough for arrays over them
    # The points where a score changed: their instant number and w x (S_new - S_previous) in
    # units of 2**-k (see _ScoreTables.rounded). Only points with failures change a score.
    change_instants: npt.NDArray[np.int64]
    change_weights: npt.NDArray[np.float64]


class _PointWriter:
    """Scores chunks of points, carrying from one chunk to the next the service and cumulative
    failures of the last point.

    Between a point with failures and the next one, or the next service, the cumulative count,
    hence the score and status, stays the same. The writer therefore records *runs* of points
    (service, cumulative failures, length), a few per thousand points, and the timeline columns
    are spread from them with one ``np.repeat`` each at the end. Only the timestamps are copied
    per point (into a row-sized buffer: points <= rows).

    The distinct instants are marked in a boolean array over the window, one entry per time
    unit, while the chunk is in cache; when the window has too many units for that, they are
    found at the end by sorting instead.
    """

    def __init__(self, rows: int, position_dtype: np.dtype, scoring: _Scoring) -> None:
        self.rows = rows
        self.position_dtype = position_dtype
        self.scoring = scoring
        self.timestamp = np.empty(rows, dtype=np.int64)
        self.run_positions: list[npt.NDArray[np.integer]] = []
        self.run_failures: list[npt.NDArray[np.int64]] = []
        self.run_lengths: list[npt.NDArray[np.intp]] = []
        self.change_instants: list[npt.NDArray[np.int64]] = []
        self.change_weights: list[npt.NDArray[np.float64]] = []
        self.written = 0
        self.carried_position = -1
        self.carried_failures = 0
        self.time_unit_ns = _TIME_UNITS_NS[0]
        self.present = self._instants_present_so_far()

    def add(
        self,
        positions: npt.NDArray[np.integer],
        times: npt.NDArray[np.int64],
        failures: npt.NDArray[np.integer],
        service_starts: npt.NDArray[np.bool_] | None,
    ) -> None:
        """Append points (one row each, sorted) continuing the previous chunk.

        ``service_starts`` flags the points whose service differs from the point before (the
        first entry is recomputed here against the carried service); ``None`` to compute it.
        """
        points = len(positions)
        if service_starts is None:
            service_starts = np.empty(points, dtype=bool)
            np.not_equal(positions[1:], positions[:-1], out=service_starts[1:])
        service_starts[0] = positions[0] != self.carried_position
        opens_run = failures > 0
        opens_run |= service_starts
        opens_run[0] = True
        run_starts = np.flatnonzero(opens_run)
        run_positions = positions[run_starts]
        run_failures = failures[run_starts]  # 0 for a run opened by a new service only

        cumulative = np.cumsum(run_failures, dtype=np.int64)
        first_runs = np.flatnonzero(service_starts[run_starts])
        counted_before = cumulative[first_runs] - run_failures[first_runs]
        if not service_starts[0]:
            first_runs = np.concatenate(([0], first_runs))
            counted_before = np.concatenate(([-self.carried_failures], counted_before))
        cumulative -= np.repeat(counted_before, np.diff(first_runs, append=len(run_starts)))

        self.run_positions.append(run_positions)
        self.run_failures.append(cumulative)
        self.run_lengths.append(np.diff(run_starts, append=points))
        self.timestamp[self.written : self.written + points] = times
        instants = self._mark_instants(times)
        self._record_changes(run_positions, cumulative, run_failures, instants[run_starts])
        self.written += points
        self.carried_position = positions[-1]
        self.carried_failures = cumulative[-1]

    def _record_changes(
        self,
        positions: npt.NDArray[np.integer],
        cumulative: npt.NDArray[np.int64],
        added: npt.NDArray[np.integer],
        instants: npt.NDArray[np.int64],
    ) -> None:
        """Keep ``w x (S_new - S_previous)`` (rounded units) of the runs opened by failures."""
        changed = np.flatnonzero(added)
        if not len(changed):
            return
        tables = self.scoring.tables
        positions = positions[changed]
        after = cumulative[changed]
        rounded_after = tables.rounded_score(positions, after)
        rounded_before = tables.rounded_score(positions, after - added[changed])
        self.change_instants.append(instants[changed])
        self.change_weights.append(
            (rounded_after - rounded_before) * self.scoring.weights.take(positions)
        )

    def _mark_instants(self, times: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The instant numbers of ``times``, marked present; refines the unit first if needed."""
        offsets = times - self.scoring.start_ns
        while True:
            instants = offsets // self.time_unit_ns
            if self.time_unit_ns == 1 or np.array_equal(instants * self.time_unit_ns, offsets):
                break
            self._refine_time_unit()
        if self.present is not None:
            self.present[instants] = True
        return instants

    def _refine_time_unit(self) -> None:
        """Switch to the next finer unit (s -> ms -> us -> ns), renumbering what is written."""
        self.time_unit_ns //= 1000
        for instants in self.change_instants:
            instants *= 1000
        self.present = self._instants_present_so_far()

    def _instants_present_so_far(self) -> npt.NDArray[np.bool_] | None:
        """Presence flags over the window's units for the points written so far, or ``None``
        when the window holds too many units (more than MAX_WINDOW_UNITS_PER_ROW a row)."""
        window_ns = self.scoring.end_ns - self.scoring.start_ns
        units = -(-window_ns // self.time_unit_ns)
        if units > MAX_WINDOW_UNITS_PER_ROW * self.rows:
            return None
        present = np.zeros(units, dtype=bool)
        present[(self.timestamp[: self.written] - self.scoring.start_ns) // self.time_unit_ns] = (
            True
        )
        return present

    def result(self) -> _Points:
        """The points written so far, their timeline columns spread from the runs.

        Empties the writer's per-chunk lists on the way: with frequent failures the runs are
        nearly as many as the points, and keeping two copies of them would double the peak.
        """
        timestamp = self.timestamp[: self.written]
        if self.written <= self.rows // 2:  # do not hold on to a mostly unused buffer
            timestamp = timestamp.copy()
        lengths = _drained(self.run_lengths, np.intp)
        positions = _drained(self.run_positions, self.position_dtype)
        cumulative = _drained(self.run_failures, np.int64)
        score, status = self.scoring.tables.score_and_status(positions, cumulative)
        if self.present is not None:
            instants = np.flatnonzero(self.present)
            window_units = len(self.present)
        else:
            instants = np.unique((timestamp - self.scoring.start_ns) // self.time_unit_ns)
            window_units = None
        return _Points(
            position=np.repeat(positions, lengths),
            timestamp=timestamp,
            cumulative_failures=np.repeat(
                cumulative.astype(self.scoring.cumulative_dtype), lengths
            ),
            score=np.repeat(score, lengths),
            status=np.repeat(status, lengths),
            time_unit_ns=self.time_unit_ns,
            instants=instants,
            window_units=window_units,
            change_instants=_drained(self.change_instants, np.int64),
            change_weights=_drained(self.change_weights, np.float64),
        )


def _drained(parts: list[npt.NDArray], dtype: npt.DTypeLike) -> npt.NDArray:
    """The parts end to end as ``dtype`` (also when there are none); empties ``parts``."""
    joined = np.concatenate([np.empty(0, dtype=dtype), *parts]).astype(dtype, copy=False)
    parts.clear()
    return joined


def _chunk_end(codes: npt.NDArray, timestamps: npt.NDArray, stop: int) -> int:
    """The first row at or after ``stop`` that does not repeat the (code, timestamp) of the row
    before it, so that a chunk never splits a point (its rows are adjacent in sorted input)."""
    probe = 64
    while stop < len(codes):
        same = (codes[stop : stop + probe] == codes[stop - 1]) & (
            timestamps[stop : stop + probe] == timestamps[stop - 1]
        )
        if not same.all():
            return stop + int(np.argmin(same))
        stop += probe
        probe *= 2
    return len(codes)


def _versus_previous(
    values: npt.NDArray, first: int, stop: int, compare: np.ufunc, *, first_row: bool
) -> npt.NDArray[np.bool_]:
    """``compare(row, previous row)`` for rows ``first:stop``; row 0, which has no previous
    row, gets ``first_row``."""
    result = np.empty(stop - first, dtype=bool)
    if first == 0:
        result[0] = first_row
        compare(values[1:stop], values[: stop - 1], out=result[1:])
    else:
        compare(values[first:stop], values[first - 1 : stop - 1], out=result)
    return result


def _scan_sorted(
    codes: npt.NDArray[np.integer],
    timestamps: npt.NDArray[np.int64],
    failures: npt.NDArray[np.integer],
    position_of_code: npt.NDArray[np.integer],
    scoring: _Scoring,
) -> _Points | None:
    """Reduce rows sorted by (code, timestamp) to scored points; ``None`` if they are unsorted.

    ``position_of_code`` must be increasing on the codes it keeps, so that the points come out
    sorted by service position.
    """
    rows = len(codes)
    identity = np.array_equal(position_of_code[:-1], np.arange(len(position_of_code) - 1))
    writer = _PointWriter(rows, position_of_code.dtype, scoring)
    first = 0
    while first < rows:
        stop = _chunk_end(codes, timestamps, min(first + CHUNK_ROWS, rows))
        chunk_codes = codes[first:stop]
        code_changed = _versus_previous(codes, first, stop, np.not_equal, first_row=True)
        time_changed = _versus_previous(timestamps, first, stop, np.not_equal, first_row=True)
        time_decreased = _versus_previous(timestamps, first, stop, np.less, first_row=False)
        # Codes only go up: each run of equal codes has a higher code than the run before.
        code_runs = np.flatnonzero(code_changed)
        if not code_changed[0]:
            code_runs = np.concatenate(([0], code_runs))
        run_codes = chunk_codes[code_runs]
        if (first and chunk_codes[0] < codes[first - 1]) or np.any(run_codes[1:] <= run_codes[:-1]):
            return None
        # Time may only go back where the code changes.
        if not code_changed[np.flatnonzero(time_decreased)].all():
            return None
        positions = chunk_codes if identity else position_of_code.take(chunk_codes)
        times = timestamps[first:stop]
        chunk_failures = failures[first:stop]
        first = stop
        service_starts: npt.NDArray[np.bool_] | None = code_changed
        if positions.min() < 0 or times.min() < scoring.start_ns or times.max() >= scoring.end_ns:
            # Rows of one point share service and timestamp, hence are all kept or all dropped.
            keep = (positions >= 0) & (times >= scoring.start_ns) & (times < scoring.end_ns)
            if not keep.any():
                continue
            positions, times, chunk_failures = positions[keep], times[keep], chunk_failures[keep]
            code_changed, time_changed = code_changed[keep], time_changed[keep]
            service_starts = None
        if not time_changed.all():
            point_starts = code_changed | time_changed
            if not point_starts.all():
                starts = np.flatnonzero(point_starts)
                chunk_failures = np.add.reduceat(chunk_failures, starts)
                positions, times = positions[starts], times[starts]
                service_starts = None
        writer.add(positions, times, chunk_failures, service_starts)
    return writer.result()


def _aggregate(
    points: _Points, *, start_ns: int, total_weight: int, one: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The distinct instants (ns) and the weighted mean score at each of them.

    The weighted sum starts at ``total_weight`` (every service at 1) and moves by the recorded
    changes. Every partial sum is an integer below 2**53 in units of ``1 / one``, hence exact,
    whatever the order in which the changes are added.
    """
    if not len(points.instants):
        return points.instants, np.empty(0)
    full = total_weight * one
    changes = len(points.change_instants)
    if points.window_units is not None and changes * SORTED_CHANGES_PER_UNIT > points.window_units:
        # Many changes: add them up per unit of the window and accumulate, without sorting.
        per_unit = np.bincount(
            points.change_instants, weights=points.change_weights, minlength=points.window_units
        )
        scores = np.cumsum(per_unit, out=per_unit)[points.instants]
        scores += full
        scores /= full
    else:
        # Few changes: sort them; the mean is computed once per level and spread over the
        # instants until the next change.
        order = np.argsort(points.change_instants)
        slots = np.searchsorted(points.instants, points.change_instants[order])
        running = np.cumsum(points.change_weights[order])
        # The last change at each instant (slots are below len(instants)).
        level_ends = np.diff(slots, append=len(points.instants)) != 0
        levels = np.concatenate(([full], full + running[level_ends])) / full
        level_starts = np.concatenate(([0], slots[level_ends], [len(points.instants)]))
        scores = np.repeat(levels, np.diff(level_starts))
    # In place: millions of instants, and fresh memory costs as much as the arithmetic.
    instants_ns = points.instants
    instants_ns *= points.time_unit_ns
    instants_ns += start_ns
    return instants_ns, scores


def score_availability(
    metrics: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    thresholds: AvailabilityThresholds = DEFAULT_AVAILABILITY_THRESHOLDS,
) -> AvailabilityResult:
    """Score every service of ``params`` over ``[start, end)`` and aggregate them.

    metrics: canonical frame (``service_id`` category, ``timestamp`` datetime64 UTC, ``failures``
        non-negative int: failure rows at that row); rows may repeat a (service, timestamp) and
        rows of services absent from ``params`` are ignored.
    params: indexed by ``service_id`` (output order), with integer columns ``error_budget``
        (at least 1; configurations give at most 50, objectives may give more) and ``weight``
        (1..10); other columns are ignored.

    Raises ValueError for a bad window or parameter (naming the id, value and allowed range).
    Inputs are never modified.
    """
    start_ts, end_ts = utc_timestamp(start, "start"), utc_timestamp(end, "end")
    if not start_ts < end_ts:
        raise ValueError(f"the window is empty: start {start_ts} is not before end {end_ts}")
    budgets = parameter_column(
        params, "error_budget", low=MIN_ERROR_BUDGET, high=MAX_ENGINE_ERROR_BUDGET, integer=True
    )
    weights = parameter_column(params, "weight", low=MIN_WEIGHT, high=MAX_WEIGHT, integer=True)
    codes, position_of_code = category_positions(metrics["service_id"], params.index)
    timestamps = timestamp_nanoseconds(metrics["timestamp"], "timestamp")
    failures = metrics["failures"].to_numpy()
    if failures.dtype.kind in "ub":
        # Signed arithmetic below (cumulative counts minus counts before a segment).
        failures = failures.astype(np.int64)
    if failures.dtype.kind != "i":
        raise ValueError(f"failures must hold integers, got dtype {failures.dtype}")
    if len(failures) and failures.min() < 0:
        raise ValueError("failures must not be negative")
    cumulative_dtype = np.dtype(np.int32 if _total_fits_int32(failures) else np.int64)

    tables = _ScoreTables.build(budgets, total_weight=int(weights.sum()), thresholds=thresholds)
    scoring = _Scoring(
        start_ns=start_ts.value,
        end_ns=end_ts.value,
        weights=weights.astype(np.float64),
        tables=tables,
        cumulative_dtype=cumulative_dtype,
    )
    known = position_of_code[:-1][position_of_code[:-1] >= 0]
    points = None
    if np.all(known[1:] > known[:-1]):
        points = _scan_sorted(codes, timestamps, failures, position_of_code, scoring)
    if points is None:
        points = _scan_sorted(
            *_sorted_by_position(codes, timestamps, failures, position_of_code, scoring),
            np.append(np.arange(len(params)), -1).astype(position_of_code.dtype),
            scoring,
        )
    return _assemble(points, params, budgets, weights, start_ns=start_ts.value, one=tables.one)


def _total_fits_int32(failures: npt.NDArray[np.integer]) -> bool:
    """Whether every cumulative failure count fits in int32 (then the timeline stores int32).

    The bound ``max x rows`` costs a third of an exact sum and settles the usual case.
    """
    limit = np.iinfo(np.int32).max
    if not len(failures) or int(failures.max()) * len(failures) <= limit:
        return True
    return int(failures.sum(dtype=np.int64)) <= limit


def _sorted_by_position(
    codes: npt.NDArray[np.integer],
    timestamps: npt.NDArray[np.int64],
    failures: npt.NDArray[np.integer],
    position_of_code: npt.NDArray[np.integer],
    scoring: _Scoring,
) -> tuple[npt.NDArray, npt.NDArray[np.int64], npt.NDArray]:
    """The rows in the window of selected services, as (position, timestamp, failures) sorted by
    position then timestamp: the slow path for unsorted input or a reordered selection."""
    positions = position_of_code.take(codes)
    keep = (positions >= 0) & (timestamps >= scoring.start_ns) & (timestamps < scoring.end_ns)
    positions, timestamps, failures = positions[keep], timestamps[keep], failures[keep]
    order = np.lexsort((timestamps, positions))
    return positions[order], timestamps[order], failures[order]


def _assemble(
    points: _Points,
    params: pd.DataFrame,
    budgets: npt.NDArray[np.int64],
    weights: npt.NDArray[np.int64],
    *,
    start_ns: int,
    one: float,
) -> AvailabilityResult:
    """Per-service finals, the timeline frame and the aggregates from the scored points."""
    services = len(params)
    bounds = np.searchsorted(points.position, np.arange(services + 1, dtype=points.position.dtype))
    point_counts = np.diff(bounds)
    has_data = point_counts > 0
    last_point = bounds[1:][has_data] - 1
    final_score = np.full(services, np.nan)
    final_score[has_data] = points.score[last_point]
    final_failures = np.zeros(services, dtype=np.int64)
    final_failures[has_data] = points.cumulative_failures[last_point]
    final_status = np.full(services, MISSING_CODE, dtype=np.int8)
    final_status[has_data] = points.status[last_point]

    weight_with_data = int(weights[has_data].sum())
    aggregated_score = (
        float(np.dot(weights[has_data], final_score[has_data]) / weight_with_data)
        if weight_with_data
        else float("nan")
    )
    instants, aggregated = _aggregate(
        points, start_ns=start_ns, total_weight=weight_with_data, one=one
    )
    index = pd.Index(params.index, name="service_id")
    summary = pd.DataFrame(
        {
            "error_budget": budgets,
            "weight": weights,
            "final_score": final_score,
            "final_status": status_names(final_status, AVAILABILITY_STATUSES),
            "total_failures": final_failures,
            "points": point_counts.astype(np.int64),
        },
        index=index,
    )
    timeline = pd.DataFrame(
        {
            "service_id": pd.Categorical.from_codes(
                points.position, categories=pd.Index(params.index), validate=False
            ),
            "timestamp": utc_datetime_array(points.timestamp),
            "cumulative_failures": points.cumulative_failures,
            "score": points.score,
            "status": status_categorical(points.status, AVAILABILITY_STATUSES),
        },
        copy=False,
    )
    aggregated_timeline = pd.DataFrame(
        {"timestamp": utc_datetime_array(instants), "score": aggregated}, copy=False
    )
    return AvailabilityResult(
        services=summary,
        timeline=timeline,
        aggregated_timeline=aggregated_timeline,
        aggregated_score=aggregated_score,
    )
