"""Status classification of scores, shared by both engines, the reports and the UI.

Statuses are returned as small integer codes indexing the name tuples of
:mod:`analytics.results` (``AVAILABILITY_STATUSES``, ``RESILIENCE_STATUSES``), with ``-1`` for a
missing score (NaN, shown as ``NO_DATA``): millions of timeline points then cost one byte each and
become a ``pd.Categorical`` without building a string per point.

Boundaries are decided as the specification writes them (``0.8`` is ``ATTENZIONE``, ``0.75`` is
``GOOD``). A score that is exactly on a boundary in rational arithmetic can land one rounding step
either side of it in floating point (``0.6 * 0.5 + 0.4 * 0.75`` evaluates to
``0.6000000000000001``), so a score within :data:`BOUNDARY_TOLERANCE` of a threshold is treated as
equal to it. Real scores are rationals with small denominators (failures over twice an error
budget, successful over all runs) whose distance to a threshold written with a few decimals is
either zero or far larger than the tolerance; the tests check this exhaustively against
``fractions.Fraction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from itertools import pairwise
from numbers import Real
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.results import AVAILABILITY_STATUSES, NO_DATA, RESILIENCE_STATUSES

BOUNDARY_TOLERANCE = 1e-12
MISSING_CODE = -1


def _threshold_values_from_mapping(cls: type, mapping: Mapping[str, Any]) -> dict[str, float]:
    """The keyword arguments for a thresholds dataclass, with unknown keys and non-numbers refused.

    Keys missing from ``mapping`` keep their defaults, so a configuration may override one bound.
    """
    allowed = [field.name for field in fields(cls)]
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown status threshold(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    values = {}
    for key, value in mapping.items():
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"status threshold {key} must be a number, got {value!r}")
        values[key] = float(value)
    return values


def _require_ordered(bounds: Mapping[str, float]) -> None:
    """Refuse thresholds outside [0, 1] or out of order (each bound <= the next one)."""
    names = list(bounds)
    for name, value in bounds.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"status threshold {name} = {value!r} is outside [0, 1]")
    for lower, upper in pairwise(names):
        if bounds[lower] > bounds[upper]:
            raise ValueError(
                f"status thresholds out of order: {lower} = {bounds[lower]!r} "
                f"must not exceed {upper} = {bounds[upper]!r}"
            )


@dataclass(frozen=True)
class AvailabilityThresholds:
    """CRITICAL if S < critical_below; ATTENZIONE if critical_below <= S <= good_above; else GOOD.

    Field names are the keys of ``availability.status_thresholds`` in ``configs/defaults.json``.
    """

    critical_below: float = 0.5
    good_above: float = 0.8

    def __post_init__(self) -> None:
        _require_ordered({"critical_below": self.critical_below, "good_above": self.good_above})

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Self:
        """Build from a configuration mapping; raises ValueError naming a bad key or value."""
        return cls(**_threshold_values_from_mapping(cls, mapping))


@dataclass(frozen=True)
class ResilienceThresholds:
    """EXCELLENT if score > excellent_above; GOOD if good_from <= score <= excellent_above;
    ACCEPTABLE from acceptable_from; CRITICAL from critical_from; SEVERE below critical_from.

    Field names are the keys of ``resilience.status_thresholds`` in ``configs/defaults.json``.
    """

    excellent_above: float = 0.9
    good_from: float = 0.75
    acceptable_from: float = 0.6
    critical_from: float = 0.4

    def __post_init__(self) -> None:
        _require_ordered(
            {
                "critical_from": self.critical_from,
                "acceptable_from": self.acceptable_from,
                "good_from": self.good_from,
                "excellent_above": self.excellent_above,
            }
        )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Self:
        """Build from a configuration mapping; raises ValueError naming a bad key or value."""
        return cls(**_threshold_values_from_mapping(cls, mapping))


DEFAULT_AVAILABILITY_THRESHOLDS = AvailabilityThresholds()
DEFAULT_RESILIENCE_THRESHOLDS = ResilienceThresholds()


def classify_availability(
    scores: npt.ArrayLike,
    thresholds: AvailabilityThresholds = DEFAULT_AVAILABILITY_THRESHOLDS,
) -> npt.NDArray[np.int8]:
    """int8 codes into ``AVAILABILITY_STATUSES`` (GOOD 0, ATTENZIONE 1, CRITICAL 2), -1 for NaN."""
    values = np.asarray(scores, dtype=np.float64)
    # Each comparison that holds moves the status one step down from GOOD.
    codes = (values <= thresholds.good_above + BOUNDARY_TOLERANCE).astype(np.int8)
    codes += values < thresholds.critical_below - BOUNDARY_TOLERANCE
    codes[np.isnan(values)] = MISSING_CODE
    return codes


def classify_resilience(
    scores: npt.ArrayLike,
    thresholds: ResilienceThresholds = DEFAULT_RESILIENCE_THRESHOLDS,
) -> npt.NDArray[np.int8]:
    """int8 codes into ``RESILIENCE_STATUSES`` (EXCELLENT 0 ... SEVERE 4), -1 for NaN."""
    values = np.asarray(scores, dtype=np.float64)
    codes = (values <= thresholds.excellent_above + BOUNDARY_TOLERANCE).astype(np.int8)
    codes += values < thresholds.good_from - BOUNDARY_TOLERANCE
    codes += values < thresholds.acceptable_from - BOUNDARY_TOLERANCE
    codes += values < thresholds.critical_from - BOUNDARY_TOLERANCE
    codes[np.isnan(values)] = MISSING_CODE
    return codes


def status_categorical(codes: npt.NDArray[np.integer], statuses: tuple[str, ...]) -> pd.Categorical:
    """Codes from the classifiers as a categorical of ``statuses`` (missing stays NaN), no copy."""
    return pd.Categorical.from_codes(codes, categories=list(statuses), validate=False)


def status_names(codes: npt.NDArray[np.integer], statuses: tuple[str, ...]) -> npt.NDArray:
    """Codes from the classifiers as an object array of names, ``NO_DATA`` for missing scores.

    Meant for short arrays (one entry per service or target): it builds one string per entry.
    """
    names = np.array([*statuses, NO_DATA], dtype=object)
    return names[np.asarray(codes)]


def availability_status(
    score: float, thresholds: AvailabilityThresholds = DEFAULT_AVAILABILITY_THRESHOLDS
) -> str:
    """The availability status name of one score (``NO_DATA`` for NaN), e.g. for a summary card."""
    return str(status_names(classify_availability([score], thresholds), AVAILABILITY_STATUSES)[0])


def resilience_status(
    score: float, thresholds: ResilienceThresholds = DEFAULT_RESILIENCE_THRESHOLDS
) -> str:
    """The resilience status name of one score (``NO_DATA`` for NaN)."""
    return str(status_names(classify_resilience([score], thresholds), RESILIENCE_STATUSES)[0])
