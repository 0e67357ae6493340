"""Resilience scoring: RPO compliance and backup success rate, per target and hour by hour.

At each evaluation instant ``t_k = start + k h`` (k = 1 .. hours):

* actual RPO = hours from the latest successful run at or before ``t_k`` (looking back before the
  window too) to ``t_k``; never backed up: no actual RPO and compliance 0;
* RPO compliance = max(0, 1 - actual RPO / target RPO);
* success rate = successful / all runs with ``start <= timestamp <= t_k``;
* score = w_RPO x compliance + w_Success x success rate.

**No run yet** (issue 14): an instant with no run yet in the window (no run with
``start <= timestamp <= t_k``) is flagged ``no_run_yet``; these are exactly the instants before
the first instant at or after the window's first run. With ``no_run_yet_rule`` on, the success
rate there is unknown (NaN), not 0 (no run yet is not a failure), and the score is the RPO
compliance alone (the weights renormalised over the one known term: score = compliance, whatever
w_RPO, 0 included). Whenever the window holds a run by ``t_k`` nothing changes. With the rule off
(the default until reports can store an unknown success rate) the success rate there is 0, as the
older tool computed it.

**Excluded instants** (maintenance windows, built by the caller): an optional boolean mask of
(targets x hours), row order of the parameters, column ``k - 1`` for ``t_k``. An excluded instant
carries the values of the target's latest non-excluded instant (actual RPO, compliance, success
rate, score, status and the ``no_run_yet`` flag) and is flagged ``excluded``; before any
non-excluded instant there is nothing to carry: NaN, ``NO_DATA``, ``no_run_yet`` false. Runs during
an exclusion still count as runs. A target's final values are those of its last non-excluded
instant (``final_instant``; NaT, NaN and ``NO_DATA`` when every instant is excluded). The
aggregated score at an instant is the weighted mean of the (carried) scores of the targets that
have one there, NaN when none has.

Vectorised on a (targets x (hours + 1)) grid: a run counts from the first instant at or after it,
column ``ceil((timestamp - start) / 1 h)``; runs before the window land in column 0 (they only
matter for the latest success) and runs after the last instant are dropped. Counts per cell come
from ``np.bincount``, the latest success per cell from a cumulative count of successes, and
running totals along the hour axis from ``cumsum``: no loop over rows or hours. The grids are
built, accumulated and scored one block of targets at a time, small enough to stay in cache;
an excluded instant copies the cell just before its run of consecutive excluded instants.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.availability import (
    category_positions,
    code_dtype,
    parameter_column,
    timestamp_nanoseconds,
    utc_datetime_array,
    utc_timestamp,
)
from analytics.classify import (
    DEFAULT_RESILIENCE_THRESHOLDS,
    ResilienceThresholds,
    classify_resilience,
    status_categorical,
    status_names,
)
from analytics.results import RESILIENCE_STATUSES, ResilienceResult

NS_PER_HOUR = 3_600_000_000_000
MIN_HOURS = 1
MAX_HOURS = 8760
MIN_TARGET_RPO_HOURS = 1
MAX_TARGET_RPO_HOURS = 168
MIN_WEIGHT = 1
MAX_WEIGHT = 10
WEIGHT_SUM_TOLERANCE = 1e-9
# Grid cells per block of targets: enough to amortise the per-block Python calls, few enough for
# the block's dozen arrays (512 KiB each) to stay in cache. Measured best from 2**15 to 2**16.
BLOCK_CELLS = 1 << 16
NEVER = np.iinfo(np.int64).min  # also numpy's NaT, so "never" reads as NaT in the output


def validated_hours(hours: int) -> int:
    """``hours`` as an int, refused unless it is a whole number from MIN_HOURS to MAX_HOURS."""
    if isinstance(hours, bool) or not isinstance(hours, Integral):
        raise ValueError(f"hours must be an integer, got {hours!r}")
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise ValueError(f"hours is {hours}: it must be from {MIN_HOURS} to {MAX_HOURS}")
    return int(hours)


def _validated_metric_weights(w_rpo: float, w_success: float) -> tuple[float, float]:
    for name, value in (("w_rpo", w_rpo), ("w_success", w_success)):
        if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} is {value!r}: it must be a number from 0.0 to 1.0")
    if not math.isclose(w_rpo + w_success, 1.0, rel_tol=0.0, abs_tol=WEIGHT_SUM_TOLERANCE):
        raise ValueError(f"w_rpo + w_success must be 1, got {w_rpo} + {w_success}")
    return float(w_rpo), float(w_success)


def target_rpo_hours(params: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The ``target_rpo_hours`` column of ``params``, refused outside 1..168 hours."""
    return parameter_column(
        params,
        "target_rpo_hours",
        low=MIN_TARGET_RPO_HOURS,
        high=MAX_TARGET_RPO_HOURS,
        integer=False,
    )


@dataclass(frozen=True)
class TargetRuns:
    """The backup runs of the selected targets up to a window's last instant, as arrays sorted by
    (target position, time); ties keep their input order.

    ``position`` indexes ``target_ids``; ``timestamp`` is int64 nanoseconds since the epoch
    (UTC). Runs before ``start`` are kept (the latest success and the schedule look back at
    them); runs after the last instant ``start + hours h``, of other targets or without a time
    are not here.
    """

    target_ids: pd.Index
    start_ns: int
    hours: int
    position: npt.NDArray[np.integer]
    timestamp: npt.NDArray[np.int64]
    succeeded: npt.NDArray[np.bool_]

    @property
    def instants(self) -> npt.NDArray[np.int64]:
        """The evaluation instants ``start + k h`` (k = 1 .. hours) in nanoseconds."""
        return self.start_ns + NS_PER_HOUR * np.arange(1, self.hours + 1, dtype=np.int64)

    @property
    def in_window(self) -> npt.NDArray[np.bool_]:
        """Per run: ``start <= timestamp`` (all runs here are at or before the last instant)."""
        return self.timestamp >= self.start_ns

    @property
    def first_instant(self) -> npt.NDArray[np.int64]:
        """Per run: the grid column from which it counts, ``ceil((timestamp - start) / 1 h)``,
        0 for runs before the window (computed without floats)."""
        return np.maximum(-((self.start_ns - self.timestamp) // NS_PER_HOUR), 0)

    def blocks(self, columns: int) -> Iterator[tuple[slice, slice]]:
        """Consecutive blocks of targets of about BLOCK_CELLS grid cells (``columns`` per
        target), each as (its targets, its runs' rows): small enough for a block's grids to
        stay in cache."""
        targets = len(self.target_ids)
        rows_per_block = max(1, BLOCK_CELLS // columns)
        edges = np.minimum(np.arange(0, targets + rows_per_block, rows_per_block), targets)
        row_edges = np.searchsorted(self.position, edges)
        for first, stop, first_row, stop_row in zip(
            edges[:-1].tolist(),
            edges[1:].tolist(),
            row_edges[:-1].tolist(),
            row_edges[1:].tolist(),
            strict=True,
        ):
            yield slice(first, stop), slice(first_row, stop_row)


def target_runs(
    backups: pd.DataFrame, target_ids: pd.Index, *, start: pd.Timestamp, hours: int
) -> TargetRuns:
    """The runs of ``backups`` (canonical frame: ``target_id`` category, ``timestamp``
    datetime64 UTC, ``succeeded`` bool) that belong to ``target_ids`` and happened at or before
    ``start + hours h``, sorted by (target, time). Sorted input (as the data layer returns it) is
    not sorted again. Raises ValueError for a bad column or argument; ``backups`` is unmodified.
    """
    start_ns = utc_timestamp(start, "start").value
    hours = validated_hours(hours)
    codes, position_of_code = category_positions(backups["target_id"], target_ids)
    timestamps = timestamp_nanoseconds(backups["timestamp"], "timestamp")
    succeeded = backups["succeeded"].to_numpy()
    if succeeded.dtype != np.bool_:
        raise ValueError(f"succeeded must hold booleans, got dtype {succeeded.dtype}")
    positions = position_of_code.take(codes)
    relevant = (positions >= 0) & (timestamps != NEVER)
    relevant &= timestamps <= start_ns + hours * NS_PER_HOUR
    positions, timestamps, succeeded = (
        positions[relevant],
        timestamps[relevant],
        succeeded[relevant],
    )
    position_steps = np.diff(positions)
    if np.any(position_steps < 0) or np.any((position_steps == 0) & (np.diff(timestamps) < 0)):
        order = np.lexsort((timestamps, positions))
        positions, timestamps, succeeded = positions[order], timestamps[order], succeeded[order]
    return TargetRuns(
        target_ids=pd.Index(target_ids, name="target_id"),
        start_ns=start_ns,
        hours=hours,
        position=positions,
        timestamp=timestamps,
        succeeded=succeeded,
    )


def latest_success_grid(
    cells: npt.NDArray[np.intp],
    succeeded: npt.NDArray[np.bool_],
    timestamps: npt.NDArray[np.int64],
    *,
    shape: tuple[int, int],
) -> npt.NDArray[np.int64]:
    """Per (target, column) cell of a grid, the latest successful run counted at or before it
    (``NEVER`` if none), from runs sorted by (target, time) with their row-major ``cells``."""
    targets, columns = shape
    success_times = timestamps[succeeded]
    if not len(success_times):
        return np.full(shape, NEVER, dtype=np.int64)
    # Success rows come in (target, time) order, hence in cell order: the latest success at or
    # before a cell is the last one counted up to that cell in row-major order, provided it
    # belongs to the same target (cumsum and take are much faster than maximum.accumulate).
    counted = np.cumsum(np.bincount(cells[succeeded], minlength=targets * columns))
    counted = counted.reshape(shape)
    counted_in_earlier_targets = np.concatenate(([0], counted[:-1, -1]))
    latest_success = success_times.take(counted - 1, mode="clip")
    latest_success[counted <= counted_in_earlier_targets[:, np.newaxis]] = NEVER
    return latest_success


def _block_grids(
    positions: npt.NDArray[np.integer],
    first_instant: npt.NDArray[np.int64],
    in_window: npt.NDArray[np.bool_],
    succeeded: npt.NDArray[np.bool_],
    timestamps: npt.NDArray[np.int64],
    *,
    shape: tuple[int, int],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For a block of targets, from its rows sorted by (target, time) (``positions`` relative to
    the block's first target), per (target, column) cell: the runs and successful runs whose
    first instant is that column, and the latest success at or before it (``NEVER`` if none)."""
    targets, columns = shape
    cells = positions.astype(np.intp) * columns + first_instant
    window_cells = cells[in_window]
    runs = np.bincount(window_cells, minlength=targets * columns).reshape(shape)
    successes = np.bincount(window_cells[succeeded[in_window]], minlength=targets * columns)
    latest_success = latest_success_grid(cells, succeeded, timestamps, shape=shape)
    return runs, successes.reshape(shape), latest_success


def _score_block(
    runs: npt.NDArray[np.int64],
    successes: npt.NDArray[np.int64],
    latest_success: npt.NDArray[np.int64],
    target_rpo: npt.NDArray[np.float64],
    instants: npt.NDArray[np.int64],
    metric_weights: tuple[float, float],
    *,
    no_run_yet_rule: bool,
    out: tuple[npt.NDArray, ...],
) -> None:
    """Accumulate the counts of a block of grid rows along the hours (in place) and score the
    block into ``out`` (actual RPO, compliance, success rate, score, no run yet)."""
    actual_rpo, compliance, success_rate, score, no_run_yet = out
    np.cumsum(runs, axis=1, out=runs)
    np.cumsum(successes, axis=1, out=successes)
    runs, successes, latest_success = runs[:, 1:], successes[:, 1:], latest_success[:, 1:]
    # For "never" cells the int64 subtraction wraps around (numpy does not check integer
    # overflow); those values are replaced by NaN at once.
    np.divide(instants - latest_success, NS_PER_HOUR, out=actual_rpo)
    actual_rpo[latest_success == NEVER] = np.nan
    np.divide(actual_rpo, target_rpo, out=compliance)
    np.subtract(1.0, compliance, out=compliance)
    np.fmax(compliance, 0.0, out=compliance)  # fmax also turns "never" (NaN) into 0
    np.equal(runs, 0, out=no_run_yet)
    np.divide(successes, np.maximum(runs, 1), out=success_rate)  # no runs: 0 / 1
    if no_run_yet_rule:
        np.copyto(success_rate, np.nan, where=no_run_yet)
    w_rpo, w_success = metric_weights
    np.multiply(success_rate, w_success, out=score)
    score += w_rpo * compliance
    if no_run_yet_rule:
        np.copyto(score, compliance, where=no_run_yet)


def _validated_exclusions(excluded: npt.ArrayLike | None, shape: tuple[int, int]) -> npt.NDArray:
    """The exclusion mask as a C-ordered boolean array of ``shape`` (a copy), or refused."""
    mask = np.array(excluded.to_numpy() if isinstance(excluded, pd.DataFrame) else excluded)
    if mask.dtype != np.bool_:
        raise ValueError(f"excluded must hold booleans, got dtype {mask.dtype}")
    if mask.shape != shape:
        raise ValueError(f"excluded has shape {mask.shape}: it must be (targets, hours) = {shape}")
    return np.ascontiguousarray(mask)


def _carry_over_exclusions(
    excluded: npt.NDArray[np.bool_], columns: tuple[npt.NDArray, ...], fills: tuple
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Give each excluded cell of a block the values of the latest non-excluded cell of its row
    (``fill`` where there is none), in place. Returns, per row, the column its last cell's values
    come from (-1 for none), and the flat indices of the cells that got the fill.

    Works on the excluded cells only (a running maximum over the whole block costs more): the
    cell a run of consecutive excluded cells copies is the one just before the run, unless the
    run starts its row.
    """
    rows, hours = excluded.shape
    cells = np.flatnonzero(excluded)
    column_of = cells % hours
    starts_run = np.ones(len(cells), dtype=np.bool_)
    starts_run[1:] = (np.diff(cells) != 1) | (column_of[1:] == 0)
    run_first = cells[starts_run][np.cumsum(starts_run) - 1]
    nothing_yet = run_first % hours == 0
    from_cells = np.maximum(run_first - 1, 0)
    for column, fill in zip(columns, fills, strict=True):
        flat = column.reshape(-1)  # a view: the block's rows are contiguous
        values = flat[from_cells]
        values[nothing_yet] = fill
        flat[cells] = values
    final_column = np.full(rows, hours - 1, dtype=np.intp)
    at_last_column = column_of == hours - 1
    final_column[cells[at_last_column] // hours] = np.where(
        nothing_yet[at_last_column], -1, from_cells[at_last_column] % hours
    )
    return final_column, cells[nothing_yet]


def score_resilience(
    backups: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    hours: int,
    w_rpo: float,
    w_success: float,
    thresholds: ResilienceThresholds = DEFAULT_RESILIENCE_THRESHOLDS,
    excluded: npt.ArrayLike | None = None,
    no_run_yet_rule: bool = False,
) -> ResilienceResult:
    """Score every target of ``params`` at ``start + k h`` for k = 1 .. ``hours``.

    backups: canonical frame (``target_id`` category, ``timestamp`` datetime64 UTC, ``succeeded``
        bool); it may hold runs before ``start`` (used for the latest success only) and after the
        last instant (ignored); rows of targets absent from ``params`` are ignored.
    params: indexed by ``target_id`` (output order), columns ``target_rpo_hours`` (1..168) and
        ``weight`` (integer 1..10, weighting the aggregate); other columns are ignored.
    excluded: optional boolean (targets x hours) mask of excluded instants, rows in the order of
        ``params``, column ``k - 1`` for ``start + k h`` (see the module docstring).
    no_run_yet_rule: before the window's first run, success rate unknown and score = RPO
        compliance (issue 14); off: success rate 0 there, as the older tool had it.

    Raises ValueError for a bad parameter (naming it, its value and the allowed range). Inputs
    are never modified.
    """
    utc_timestamp(start, "start")
    hours = validated_hours(hours)
    w_rpo, w_success = _validated_metric_weights(w_rpo, w_success)
    target_rpo = target_rpo_hours(params)
    weights = parameter_column(params, "weight", low=MIN_WEIGHT, high=MAX_WEIGHT, integer=True)
    targets, columns = len(params), hours + 1
    mask = None if excluded is None else _validated_exclusions(excluded, (targets, hours))
    runs_of_targets = target_runs(backups, params.index, start=start, hours=hours)
    positions = runs_of_targets.position
    timestamps, succeeded = runs_of_targets.timestamp, runs_of_targets.succeeded
    first_instant = runs_of_targets.first_instant
    in_window = runs_of_targets.in_window
    instants = runs_of_targets.instants

    actual_rpo, compliance, success_rate, score = np.empty((4, targets, hours))
    no_run_yet = np.empty((targets, hours), dtype=np.bool_)
    status = np.empty((targets, hours), dtype=np.int8)
    total_backups, successful_backups, last_success = np.empty((3, targets), dtype=np.int64)
    final_column = np.full(targets, hours - 1, dtype=np.intp)
    weighted_sum, scored_weight = np.zeros(hours), np.zeros(hours)
    for block, rows in runs_of_targets.blocks(columns):
        runs, successes, latest_success = _block_grids(
            positions[rows] - block.start,
            first_instant[rows],
            in_window[rows],
            succeeded[rows],
            timestamps[rows],
            shape=(block.stop - block.start, columns),
        )
        block_out = (
            actual_rpo[block],
            compliance[block],
            success_rate[block],
            score[block],
            no_run_yet[block],
        )
        _score_block(
            runs,
            successes,
            latest_success,
            target_rpo[block, np.newaxis],
            instants,
            (w_rpo, w_success),
            no_run_yet_rule=no_run_yet_rule,
            out=block_out,
        )
        total_backups[block] = runs[:, -1]
        successful_backups[block] = successes[:, -1]
        last_success[block] = latest_success[:, -1]
        block_weights = weights[block].astype(np.float64)
        unscored = np.empty(0, dtype=np.intp)
        if mask is not None and mask[block].any():
            final_column[block], unscored = _carry_over_exclusions(
                mask[block], block_out, (np.nan, np.nan, np.nan, np.nan, False)
            )
        # Instants excluded from the start have no score: they count for nothing in the
        # aggregate (0 while summing, their weight taken off).
        block_score = score[block].reshape(-1)
        block_score[unscored] = 0.0
        # einsum's own loop rather than a BLAS product: OpenBLAS threads spin and slow
        # everything down on a busy machine.
        weighted_sum += np.einsum("t,th->h", block_weights, score[block])
        block_score[unscored] = np.nan
        scored_weight += block_weights.sum()
        scored_weight -= np.bincount(
            unscored % hours, weights=block_weights[unscored // hours], minlength=hours
        )
        status[block] = classify_resilience(score[block], thresholds)

    index = pd.Index(params.index, name="target_id")
    final_instant = np.where(final_column >= 0, instants.take(final_column, mode="clip"), NEVER)
    summary = pd.DataFrame(
        {
            "target_rpo_hours": target_rpo,
            "weight": weights,
            "final_score": score[:, -1],
            "final_status": status_names(status[:, -1], RESILIENCE_STATUSES),
            "final_rpo_compliance": compliance[:, -1],
            "final_success_rate": success_rate[:, -1],
            "actual_rpo_hours": actual_rpo[:, -1],
            "last_successful_backup": utc_datetime_array(last_success),
            "total_backups": total_backups,
            "successful_backups": successful_backups,
            "final_no_run_yet": no_run_yet[:, -1].copy(),
            "final_instant": utc_datetime_array(final_instant),
        },
        index=index,
    )
    target_codes = np.repeat(np.arange(targets, dtype=code_dtype(targets)), hours)
    timeline = pd.DataFrame(
        {
            "target_id": pd.Categorical.from_codes(
                target_codes, categories=pd.Index(params.index), validate=False
            ),
            "timestamp": utc_datetime_array(np.tile(instants, targets)),
            "actual_rpo_hours": actual_rpo.ravel(),
            "rpo_compliance": compliance.ravel(),
            "success_rate": success_rate.ravel(),
            "score": score.ravel(),
            "status": status_categorical(status.ravel(), RESILIENCE_STATUSES),
            "no_run_yet": no_run_yet.ravel(),
            "excluded": (
                np.zeros(targets * hours, dtype=np.bool_) if mask is None else mask.ravel()
            ),
        },
        copy=False,
    )
    if targets:
        with np.errstate(invalid="ignore", divide="ignore"):
            aggregated = np.where(scored_weight > 0, weighted_sum / scored_weight, np.nan)
        aggregated_score = float(aggregated[-1])
    else:
        # Without targets there is nothing to average, not even a timeline.
        instants, aggregated, aggregated_score = instants[:0], np.empty(0), float("nan")
    aggregated_timeline = pd.DataFrame(
        {"timestamp": utc_datetime_array(instants), "score": aggregated}, copy=False
    )
    return ResilienceResult(
        targets=summary,
        timeline=timeline,
        aggregated_timeline=aggregated_timeline,
        aggregated_score=aggregated_score,
    )
