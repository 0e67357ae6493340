"""Frames shared by the data sources: the raw tables of the files format, and the canonical
events frame built from arrays (see docs/data-model.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.availability import utc_datetime_array


@dataclass(frozen=True)
class RawTables:
    """The four tables as a files source holds them (string statuses, not yet classified);
    what the demo generator makes, the files writer writes and MongoDB loading inserts.

    services: ``service_id``, ``display_name``, ``service_type`` (str).
    metrics: ``service_id`` (category), ``timestamp`` (datetime64[ns, UTC]), ``status`` (category).
    backup_targets: ``target_id``, ``display_name``, ``target_type`` (str).
    backups: ``target_id`` (category), ``timestamp``, ``status`` (category).
    metrics and backups are sorted by id, then time.
    """

    services: pd.DataFrame
    metrics: pd.DataFrame
    backup_targets: pd.DataFrame
    backups: pd.DataFrame


def sorting_order(codes: np.ndarray, timestamps: np.ndarray) -> np.ndarray | None:
    """The permutation that sorts rows by (id code, timestamp), or ``None`` when they already are.

    Exports are usually sorted already, so the O(n) check (two vectorised passes in the common
    case) saves the O(n log n) sort.
    """
    in_order = not np.any(codes[1:] < codes[:-1])
    if in_order:
        # Sorted data goes back in time only where the id changes: a few positions to check.
        going_back = np.flatnonzero(timestamps[1:] < timestamps[:-1])
        in_order = not np.any(codes[going_back] == codes[going_back + 1])
    return None if in_order else np.lexsort((timestamps, codes))


def events_frame(
    codes: np.ndarray,
    timestamps: np.ndarray,
    flags: np.ndarray,
    ids: pd.Series,
    *,
    id_column: str,
    flag_column: str,
    flag_dtype: type,
) -> pd.DataFrame:
    """A canonical metrics or backups frame from arrays: ``codes`` index ``ids`` (all of them
    become the categories), ``timestamps`` are int64 UTC nanoseconds.

    The frame shares the memory of arrays that already have its dtypes (codes in pandas' code
    dtype for ``ids``, see :func:`analytics.availability.code_dtype`); others are converted.
    """
    return pd.DataFrame(
        {
            id_column: pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(pd.Index(ids)), validate=False
            ),
            "timestamp": utc_datetime_array(timestamps),
            flag_column: flags.astype(flag_dtype, copy=False),
        },
        copy=False,
    )
