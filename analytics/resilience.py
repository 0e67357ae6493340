"""Resilience scoring: RPO compliance and backup success rate, per target and hour by hour.

At each evaluation instant ``t_k = start + k h`` (k = 1 .. hours):

* actual RPO = hours from the latest successful run at or before ``t_k`` (looking back before the
  window too) to ``t_k``; never backed up: no actual RPO and compliance 0;
* RPO compliance = max(0, 1 - actual RPO / target RPO);
* success rate = successful / all runs with ``start <= timestamp <= t_k`` (0 when there are none);
* score = w_RPO x compliance + w_Success x success rate.

Vectorised on a (targets x (hours + 1)) grid: a run counts from the first instant at or after it,
column ``ceil((timestamp - start) / 1 h)``; runs before the window land in column 0 (they only
matter for the latest success) and runs after the last instant are dropped. Counts per cell come
from ``np.bincount``, the latest success per cell from ``np.maximum.at``, and running totals
along the hour axis from ``cumsum`` and ``np.maximum.accumulate``: no loop over rows or hours.
The grids are built, accumulated and scored one block of targets at a time, small enough to stay
in cache.
"""

from __future__ import annotations

import math
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
_NEVER = np.iinfo(np.int64).min  # also numpy's NaT, so "never" reads as NaT in the output


def _validated_hours(hours: int) -> int:
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
    first instant is that column, and the latest success at or before it (``_NEVER`` if none)."""
    targets, columns = shape
    cells = positions.astype(np.intp) * columns + first_instant
    window_cells = cells[in_window]
    runs = np.bincount(window_cells, minlength=targets * columns).reshape(shape)
    successes = np.bincount(window_cells[succeeded[in_window]], minlength=targets * columns)
    success_times = timestamps[succeeded]
    if not len(success_times):
        return runs, successes.reshape(shape), np.full(shape, _NEVER, dtype=np.int64)
    # Success rows come in (target, time) order, hence in cell order: the latest success at or
    # before a cell is the last one counted up to that cell in row-major order, provided it
    # belongs to the same target (cumsum and take are much faster than maximum.accumulate).
    counted = np.cumsum(np.bincount(cells[succeeded], minlength=targets * columns))
    counted = counted.reshape(shape)
    counted_in_earlier_targets = np.concatenate(([0], counted[:-1, -1]))
    latest_success = success_times.take(counted - 1, mode="clip")
    latest_success[counted <= counted_in_earlier_targets[:, np.newaxis]] = _NEVER
    return runs, successes.reshape(shape), latest_success


def _score_block(
    runs: npt.NDArray[np.int64],
    successes: npt.NDArray[np.int64],
    latest_success: npt.NDArray[np.int64],
    target_rpo: npt.NDArray[np.float64],
    instants: npt.NDArray[np.int64],
    metric_weights: tuple[float, float],
    *,
    out: tuple[npt.NDArray[np.float64], ...],
) -> None:
    """Accumulate the counts of a block of grid rows along the hours (in place) and score the
    block into ``out`` (actual RPO, compliance, success rate, score)."""
    actual_rpo, compliance, success_rate, score = out
    np.cumsum(runs, axis=1, out=runs)
    np.cumsum(successes, axis=1, out=successes)
    runs, successes, latest_success = runs[:, 1:], successes[:, 1:], latest_success[:, 1:]
    # For "never" cells the int64 subtraction wraps around (numpy does not check integer
    # overflow); those values are replaced by NaN at once.
    np.divide(instants - latest_success, NS_PER_HOUR, out=actual_rpo)
    actual_rpo[latest_success == _NEVER] = np.nan
    np.divide(actual_rpo, target_rpo, out=compliance)
    np.subtract(1.0, compliance, out=compliance)
    np.fmax(compliance, 0.0, out=compliance)  # fmax also turns "never" (NaN) into 0
    np.divide(successes, np.maximum(runs, 1), out=success_rate)  # no runs: 0 / 1
    w_rpo, w_success = metric_weights
    np.multiply(success_rate, w_success, out=score)
    score += w_rpo * compliance


def score_resilience(
    backups: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    hours: int,
    w_rpo: float,
    w_success: float,
    thresholds: ResilienceThresholds = DEFAULT_RESILIENCE_THRESHOLDS,
) -> ResilienceResult:
    """Score every target of ``params`` at ``start + k h`` for k = 1 .. ``hours``.

    backups: canonical frame (``target_id`` category, ``timestamp`` datetime64 UTC, ``succeeded``
        bool); it may hold runs before ``start`` (used for the latest success only) and after the
        last instant (ignored); rows of targets absent from ``params`` are ignored.
    params: indexed by ``target_id`` (output order), columns ``target_rpo_hours`` (1..168) and
        ``weight`` (integer 1..10, weighting the aggregate); other columns are ignored.

    Raises ValueError for a bad parameter (naming it, its value and the allowed range). Inputs
    are never modified.
    """
    start_ns = utc_timestamp(start, "start").value
    hours = _validated_hours(hours)
    w_rpo, w_success = _validated_metric_weights(w_rpo, w_success)
    target_rpo = parameter_column(
        params,
        "target_rpo_hours",
        low=MIN_TARGET_RPO_HOURS,
        high=MAX_TARGET_RPO_HOURS,
        integer=False,
    )
    weights = parameter_column(params, "weight", low=MIN_WEIGHT, high=MAX_WEIGHT, integer=True)
    codes, position_of_code = category_positions(backups["target_id"], params.index)
    timestamps = timestamp_nanoseconds(backups["timestamp"], "timestamp")
    succeeded = backups["succeeded"].to_numpy()
    if succeeded.dtype != np.bool_:
        raise ValueError(f"succeeded must hold booleans, got dtype {succeeded.dtype}")

    targets, columns = len(params), hours + 1
    positions = position_of_code.take(codes)
    relevant = (positions >= 0) & (timestamps != _NEVER)
    relevant &= timestamps <= start_ns + hours * NS_PER_HOUR
    positions, timestamps, succeeded = (
        positions[relevant],
        timestamps[relevant],
        succeeded[relevant],
    )
    position_steps = np.diff(positions)
    if np.any(position_steps < 0) or np.any((position_steps == 0) & (np.diff(timestamps) < 0)):
        # Blocks of targets take contiguous rows, in time order per target (as the data layer
        # returns them): sort other input.
        order = np.lexsort((timestamps, positions))
        positions, timestamps, succeeded = positions[order], timestamps[order], succeeded[order]
    offsets = timestamps - start_ns
    # ceil(offset / 1 h) without floats: the first instant index at which the run counts.
    first_instant = np.maximum(-(-offsets // NS_PER_HOUR), 0)
    in_window = offsets >= 0

    instants = start_ns + NS_PER_HOUR * np.arange(1, columns, dtype=np.int64)
    actual_rpo, compliance, success_rate, score = np.empty((4, targets, hours))
    status = np.empty((targets, hours), dtype=np.int8)
    total_backups, successful_backups, last_success = np.empty((3, targets), dtype=np.int64)
    weighted_sum = np.zeros(hours)
    rows_per_block = max(1, BLOCK_CELLS // columns)
    edges = np.minimum(np.arange(0, targets + rows_per_block, rows_per_block), targets)
    row_edges = np.searchsorted(positions, edges)
    for first, stop, first_row, stop_row in zip(
        edges[:-1], edges[1:], row_edges[:-1], row_edges[1:], strict=True
    ):
        block, rows = slice(first, stop), slice(first_row, stop_row)
        runs, successes, latest_success = _block_grids(
            positions[rows] - first,
            first_instant[rows],
            in_window[rows],
            succeeded[rows],
            timestamps[rows],
            shape=(stop - first, columns),
        )
        _score_block(
            runs,
            successes,
            latest_success,
            target_rpo[block, np.newaxis],
            instants,
            (w_rpo, w_success),
            out=(actual_rpo[block], compliance[block], success_rate[block], score[block]),
        )
        total_backups[block] = runs[:, -1]
        successful_backups[block] = successes[:, -1]
        last_success[block] = latest_success[:, -1]
        status[block] = classify_resilience(score[block], thresholds)
        # einsum's own loop rather than a BLAS product: OpenBLAS threads spin and slow everything
        # down on a busy machine.
        weighted_sum += np.einsum("t,th->h", weights[block].astype(np.float64), score[block])

    index = pd.Index(params.index, name="target_id")
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
        },
        copy=False,
    )
    total_weight = int(weights.sum())
    if total_weight:
        aggregated = weighted_sum / total_weight
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
