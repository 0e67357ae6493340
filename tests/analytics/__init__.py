"""Tests of the scoring core, plus the small frame builders they share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd


def utc_series(timestamps: Sequence[str | pd.Timestamp]) -> pd.Series:
    """Timestamps (ISO strings with any offset) as a datetime64[ns, UTC] series."""
    return pd.Series(pd.to_datetime(list(timestamps), utc=True, format="ISO8601")).dt.as_unit("ns")


def metrics_frame(
    rows: Iterable[tuple[str, str | pd.Timestamp, int]], categories: Sequence[str]
) -> pd.DataFrame:
    """A canonical metrics frame from (service_id, timestamp, failures) rows, in the given order."""
    rows = list(rows)
    services, timestamps, failures = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "service_id": pd.Categorical(list(services), categories=list(categories)),
            "timestamp": utc_series(timestamps),
            "failures": np.array(failures, dtype=np.int32),
        }
    )


def backups_frame(
    rows: Iterable[tuple[str, str | pd.Timestamp, bool]], categories: Sequence[str]
) -> pd.DataFrame:
    """A canonical backups frame from (target_id, timestamp, succeeded) rows, in the given order."""
    rows = list(rows)
    targets, timestamps, succeeded = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "target_id": pd.Categorical(list(targets), categories=list(categories)),
            "timestamp": utc_series(timestamps),
            "succeeded": np.array(succeeded, dtype=bool),
        }
    )


def availability_params(budgets: dict[str, int], weights: dict[str, int]) -> pd.DataFrame:
    """Availability parameters indexed by service_id, in the order of ``budgets``."""
    index = pd.Index(list(budgets), name="service_id")
    return pd.DataFrame(
        {"error_budget": list(budgets.values()), "weight": [weights[key] for key in budgets]},
        index=index,
    )


def resilience_params(rpo_hours: dict[str, float], weights: dict[str, int]) -> pd.DataFrame:
    """Resilience parameters indexed by target_id, in the order of ``rpo_hours``."""
    index = pd.Index(list(rpo_hours), name="target_id")
    return pd.DataFrame(
        {
            "target_rpo_hours": [float(value) for value in rpo_hours.values()],
            "weight": [weights[key] for key in rpo_hours],
        },
        index=index,
    )
