"""Turning status strings into booleans: "is this check a failure?", "did this backup succeed?".

Statuses compare case-insensitively with surrounding spaces ignored (``" DOWN"`` is ``down``).
The sets themselves come from the caller (``configs/defaults.json``:
``availability.failure_statuses`` and ``resilience.success_statuses``), so nothing here knows
which words mean what.

Status columns hold a handful of distinct strings over millions of rows, so the work is done on
the categories of a categorical (a few strings), then spread to rows with one integer take.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd


def normalise_status(label: str) -> str:
    """The comparable form of one status: surrounding whitespace removed, lower case."""
    return label.strip().lower()


def status_set(labels: Collection[str], *, name: str) -> frozenset[str]:
    """Normalise a configured status set; ``name`` says which one in the error message."""
    if isinstance(labels, str):
        raise ValueError(f"{name} must be a list of status strings, got the string {labels!r}")
    normalised = set()
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{name} must hold non-empty strings, got {label!r}")
        normalised.add(normalise_status(label))
    if not normalised:
        raise ValueError(f"{name} is empty: list at least one status")
    return frozenset(normalised)


@dataclass(frozen=True)
class StatusFlags:
    """Per-row outcome of :func:`classify_statuses`.

    in_set: the row's normalised status is a member of the set.
    blank: the row has no status (missing, empty or only spaces); never ``in_set``.
    """

    in_set: np.ndarray
    blank: np.ndarray


def classify_statuses(statuses: pd.Series | pd.Categorical, members: frozenset[str]) -> StatusFlags:
    """Flag each row whose status is in ``members`` (a set made by :func:`status_set`).

    Categorical input is used as is; anything else is factorised first (still vectorised).
    """
    categorical = pd.Categorical(statuses)
    labels = pd.Index(categorical.categories).astype(str).str.strip().str.lower()
    codes = np.asarray(categorical.codes)
    # Code -1 (a missing value) picks the appended last element: not in the set, blank.
    in_set_by_code = np.append(labels.isin(members), False)
    blank_by_code = np.append(labels == "", True)
    return StatusFlags(in_set=in_set_by_code[codes], blank=blank_by_code[codes])
