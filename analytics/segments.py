"""Times grouped by owner (a service or target position), searched and merged without loops.

Failure events, exclusion intervals and data gaps all ask the same question: for owner ``p``
and instant ``t``, how many of ``p``'s times are at or before ``t``? numpy's ``searchsorted``
needs one globally sorted array, and times sorted by (owner, time) are sorted only within each
owner. :class:`OwnerTimes` makes one sorted integer key of both, without overflow, so that one
``searchsorted`` answers every (owner, instant) query at once, exactly. Queries sorted by
(owner, time) are searched fastest (numpy resumes each search where the previous one ended).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_KEY_LIMIT = 1 << 62
_TIME_UNITS_NS = (1_000_000_000, 1_000_000, 1_000, 1)


@dataclass(frozen=True)
class OwnerTimes:
    """Times sorted by (owner, time), with per-owner bounds and searchable keys.

    ``owners`` are positions ``0 .. owner_count - 1``; ``order`` maps the sorted elements back
    to the caller's (``times[i] == input_times[order[i]]``).

    A key is ``owner * span + offset``. The offset is the time after the earliest one, in the
    coarsest unit (s, ms, us or ns) in which every time is whole, so that keys of a thousand
    owners over years fit in 62 bits; where they still would not, the offset is the time's rank
    among the distinct times instead (exact too, at the cost of one more search per query).
    """

    owners: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    order: npt.NDArray[np.intp]
    bounds: npt.NDArray[np.intp]  # owner p's elements are [bounds[p], bounds[p + 1])
    keys: npt.NDArray[np.int64]
    origin: int
    unit: int
    span: int
    distinct_times: npt.NDArray[np.int64] | None  # set when offsets are ranks

    @classmethod
    def build(cls, owners: npt.ArrayLike, times: npt.ArrayLike, owner_count: int) -> OwnerTimes:
        """Sort (a copy of) the elements by owner then time; ties keep their input order."""
        owners = np.asarray(owners, dtype=np.int64)
        times = np.asarray(times, dtype=np.int64)
        order = owner_time_order(owners, times)
        owners, times = owners[order], times[order]
        bounds = np.searchsorted(owners, np.arange(owner_count + 1))
        origin = int(times.min()) if len(times) else 0
        width = int(times.max()) - origin if len(times) else 0
        distinct, offsets, unit, span = None, times, 1, 1
        if width < _KEY_LIMIT:
            offsets = times - origin
            unit = next(size for size in _TIME_UNITS_NS if not np.any(offsets % size))
            offsets //= unit
            span = width // unit + 1
        if width >= _KEY_LIMIT or int(owner_count) * span >= _KEY_LIMIT:
            distinct = np.unique(times)
            offsets, unit, span = np.searchsorted(distinct, times), 1, len(distinct) + 1
        return cls(
            owners, times, order, bounds, owners * span + offsets, origin, unit, span, distinct
        )

    def count_upto(
        self, owners: npt.ArrayLike, instants: npt.ArrayLike, *, inclusive: bool
    ) -> npt.NDArray[np.intp]:
        """Per query, how many of its owner's times are ``<= instant`` (``inclusive``) or
        ``< instant``. Owners and instants broadcast against each other."""
        owners = np.asarray(owners, dtype=np.int64)
        instants = np.asarray(instants, dtype=np.int64)
        if not inclusive:  # t' < t  <=>  t' <= t - 1 ns
            instants = instants - 1
        if self.distinct_times is not None:
            # Distinct times at or before the instant: ranks below this count are counted.
            offsets = np.searchsorted(self.distinct_times, instants, side="right") - 1
        else:
            # Clipped to just before the first and at the last time (the counts do not change),
            # so that far instants cannot overflow; a time is counted iff its whole-unit
            # offset is at most the instant's offset rounded down to the unit.
            clipped = np.clip(instants, self.origin - 1, self.origin + self.span * self.unit)
            offsets = np.minimum((clipped - self.origin) // self.unit, self.span - 1)
        return (
            np.searchsorted(self.keys, owners * self.span + offsets, side="right")
            - (self.bounds[owners])
        )


def owner_time_order(
    owners: npt.NDArray[np.int64], times: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """The stable order by (owner, time), as ``np.lexsort((times, owners))``.

    When ``owner x time span`` fits in 62 bits, one stable argsort of ``owner * span + time``
    does it: a radix-free merge sort that is fast on the presorted runs callers usually pass.
    """
    if not len(owners):
        return np.empty(0, dtype=np.intp)
    earliest = int(times.min())
    span = int(times.max()) - earliest + 1
    if (int(owners.max()) + 1) * span < 1 << 62 and owners.min() >= 0:
        return np.argsort(owners * span + (times - earliest), kind="stable")
    return np.lexsort((times, owners))


def merge_intervals(
    owners: npt.ArrayLike,
    starts: npt.ArrayLike,
    ends: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The union of half-open intervals ``[start, end)`` per owner, as disjoint intervals sorted
    by (owner, start). Overlapping and touching intervals of one owner become one; empty ones
    (``end <= start``) are dropped."""
    owners = np.asarray(owners, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    kept = ends > starts
    owners, starts, ends = owners[kept], starts[kept], ends[kept]
    order = owner_time_order(owners, starts)
    owners, starts, ends = owners[order], starts[order], ends[order]
    if not len(owners):
        return owners, starts, ends
    # The furthest end so far within each owner: a running maximum of a key that orders by
    # owner first, so that it restarts at every owner (ends replaced by their ranks: no overflow).
    distinct_ends = np.unique(ends)
    span = len(distinct_ends) + 1
    reach_key = np.maximum.accumulate(owners * span + np.searchsorted(distinct_ends, ends))
    reach = distinct_ends[reach_key - owners * span]
    opens = np.ones(len(owners), dtype=bool)
    opens[1:] = (owners[1:] != owners[:-1]) | (starts[1:] > reach[:-1])
    first = np.flatnonzero(opens)
    last = np.append(first[1:], len(owners)) - 1
    return owners[first], starts[first], reach[last]
