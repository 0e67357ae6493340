"""The program's one rule for instants: inside, everything is UTC; a naive value means UTC.

Every place that takes an instant from outside (configuration, command line, data files,
database bounds, report file names) goes through :func:`as_utc`, so the rule is written once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd


def as_utc(value: pd.Timestamp | datetime | np.datetime64 | str | Any) -> pd.Timestamp:
    """``value`` as a UTC :class:`pandas.Timestamp`: naive values are taken as UTC, aware ones
    are converted to UTC; NaT (or None) stays NaT.

    Accepts what :class:`pandas.Timestamp` accepts (datetimes, ISO-8601 text, numpy
    datetimes); raises what it raises for anything else (ValueError, OutOfBoundsDatetime).
    """
    stamp = pd.Timestamp(value)
    if stamp is pd.NaT:
        return stamp
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
