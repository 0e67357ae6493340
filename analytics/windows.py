"""Analysis windows from presets: rolling (anchored on the data) and calendar, in a time zone.

A window is ``[start, end)`` in UTC, end exclusive. Specs, as the command line takes them
(``--window SPEC --tz ZONE``):

* rolling, anchored on the data: ``last-<N>d`` is the N calendar days (in the zone) ending with
  the day that holds the newest data point, so ``last-7d`` with data ending
  2026-12-01 23:59:59 is 2026-11-25 00:00 to 2026-12-02 00:00 and includes the newest day;
  ``last-<N>h`` is the N hours (of elapsed time) ending at the end of that same day. The
  offered presets are :data:`ROLLING_PRESETS` (``last-24h``, ``last-7d``, ``last-28d``,
  ``last-30d``); any N from 1 up to a year is accepted.
* calendar, in the zone: ``day:2026-11-30``, ``week:2026-W48`` (ISO week, Monday to Monday),
  ``month:2026-11``, ``quarter:2026-Q4``.

Days are the zone's days: in Europe/Rome, 2026-03-29 is 23 hours long and 2026-10-25 is 25.
A day starts at its first instant (local midnight, or the end of a DST gap where midnight does
not exist). The default zone is UTC.

Problems raise :class:`analytics.config.ConfigError` whose message names the field (``window``
or ``tz``), the value and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from analytics.availability import utc_timestamp
from analytics.config import ConfigError

ROLLING_PRESETS = ("last-24h", "last-7d", "last-28d", "last-30d")
CALENDAR_KINDS = ("day", "week", "month", "quarter")
DEFAULT_TIME_ZONE = "UTC"
MAX_ROLLING_DAYS = 366
MAX_ROLLING_HOURS = 24 * MAX_ROLLING_DAYS
SPEC_FORMS = "last-<N>h, last-<N>d, day:YYYY-MM-DD, week:YYYY-Www, month:YYYY-MM or quarter:YYYY-Qn"

_ROLLING = re.compile(r"last-(?P<count>[0-9]{1,6})(?P<unit>[hd])")
_CALENDAR = {
    "day": re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"),
    "week": re.compile(r"(?P<year>[0-9]{4})-W(?P<week>[0-9]{2})"),
    "month": re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})"),
    "quarter": re.compile(r"(?P<year>[0-9]{4})-Q(?P<quarter>[1-4])"),
}
_CALENDAR_EXAMPLES = {
    "day": "day:2026-11-30",
    "week": "week:2026-W48",
    "month": "month:2026-11",
    "quarter": "quarter:2026-Q4",
}


@dataclass(frozen=True)
class AnalysisWindow:
    """``[start, end)`` in UTC, from ``spec`` in zone ``tz``."""

    start: pd.Timestamp
    end: pd.Timestamp
    spec: str
    tz: str

    @property
    def length(self) -> pd.Timedelta:
        return self.end - self.start

    @property
    def rolling(self) -> bool:
        """Whether the window moves with the data (``last-...``) rather than the calendar."""
        return is_rolling(self.spec)


def lookup_time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``Europe/Rome``, ``UTC``); ValueError saying what is wrong."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{name!r} is not a time zone name (e.g. Europe/Rome or UTC)")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: a malformed key such as "../etc/passwd" or an absolute path.
        raise ValueError(
            f"unknown time zone {name!r} (an IANA name such as Europe/Rome or UTC)"
        ) from None


def time_zone(name: str, *, field: str = "tz") -> ZoneInfo:
    """:func:`lookup_time_zone`, its error a ConfigError naming ``field``."""
    try:
        return lookup_time_zone(name)
    except ValueError as error:
        raise ConfigError(f"{field}: {error}") from None


def is_rolling(spec: str) -> bool:
    """Whether ``spec`` is a rolling (``last-...``) window, anchored on the newest data."""
    return bool(_ROLLING.fullmatch(spec.strip()))


def parse_window(
    spec: str, *, tz: str = DEFAULT_TIME_ZONE, data_last: pd.Timestamp | None = None
) -> AnalysisWindow:
    """The UTC window ``[start, end)`` of a preset ``spec`` in zone ``tz``.

    ``data_last`` is the newest data point (inclusive); rolling specs need it and end at the
    end of the zone's day that holds it. Calendar specs ignore it.
    """
    zone = time_zone(tz)
    text = spec.strip() if isinstance(spec, str) else ""
    rolling = _ROLLING.fullmatch(text)
    if rolling:
        start, end = _rolling_bounds(text, int(rolling["count"]), rolling["unit"], zone, data_last)
    else:
        kind, _, value = text.partition(":")
        if kind not in _CALENDAR:
            raise ConfigError(f"window: {spec!r} is not a window preset (allowed: {SPEC_FORMS})")
        match = _CALENDAR[kind].fullmatch(value)
        if not match:
            raise ConfigError(
                f"window: {spec!r} is not a valid {kind} (write it as {_CALENDAR_EXAMPLES[kind]})"
            )
        first_day, next_first_day = _calendar_days(kind, match, spec)
        start, end = _day_start(first_day, zone), _day_start(next_first_day, zone)
    return AnalysisWindow(start=start, end=end, spec=text, tz=zone.key)


def window_bounds(start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``start`` and ``end`` as UTC timestamps (naive means UTC); ValueError unless start < end."""
    start_ts, end_ts = utc_timestamp(start, "start"), utc_timestamp(end, "end")
    if not start_ts < end_ts:
        raise ValueError(f"the window is empty: start {start_ts} is not before end {end_ts}")
    return start_ts, end_ts


def check_data_covers(
    start: pd.Timestamp, *, data_first: pd.Timestamp | None, field: str = "window"
) -> None:
    """Refuse a window or lookback reaching back before the first data point.

    ``start`` is where the analysis needs data from (the window start, or the window start minus
    the longest burn-rate lookback); ``data_first`` is the oldest data point (``None``: no
    data). The message names ``field`` and both instants.
    """
    needed = utc_timestamp(start, field)
    if data_first is None:
        raise ConfigError(f"{field}: needs data from {_show(needed)}, but there is no data")
    first = utc_timestamp(data_first, "data_first")
    if needed < first:
        raise ConfigError(
            f"{field}: needs data from {_show(needed)}, but the data start at {_show(first)} "
            f"({duration_label(first - needed)} later); choose a shorter window"
        )


def _rolling_bounds(
    spec: str, count: int, unit: str, zone: ZoneInfo, data_last: pd.Timestamp | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    limit = MAX_ROLLING_DAYS if unit == "d" else MAX_ROLLING_HOURS
    if not 1 <= count <= limit:
        raise ConfigError(
            f"window: {spec!r} is out of range (allowed last-1{unit} to last-{limit}{unit})"
        )
    if data_last is None:
        raise ConfigError(
            f"window: {spec!r} counts back from the newest data, but there is no data"
        )
    newest = utc_timestamp(data_last, "data_last").to_pydatetime().astimezone(zone)
    last_day = newest.date()
    end = _day_start(last_day + timedelta(days=1), zone)
    if unit == "d":
        return _day_start(last_day - timedelta(days=count - 1), zone), end
    return end - pd.Timedelta(hours=count), end


def _calendar_days(kind: str, match: re.Match[str], spec: str) -> tuple[date, date]:
    """The first day of the period and the first day of the next one."""
    year = int(match["year"])
    try:
        if kind == "day":
            first = date(year, int(match["month"]), int(match["day"]))
            return first, first + timedelta(days=1)
        if kind == "week":
            first = date.fromisocalendar(year, int(match["week"]), 1)
            return first, first + timedelta(weeks=1)
        if kind == "month":
            month = int(match["month"])
            first = date(year, month, 1)
        else:
            month = 3 * int(match["quarter"]) - 2
            first = date(year, month, 1)
        months = 1 if kind == "month" else 3
        following = month - 1 + months
        return first, date(year + following // 12, following % 12 + 1, 1)
    except ValueError as error:
        raise ConfigError(f"window: {spec!r} is not a valid {kind} ({error})") from None


def _day_start(day: date, zone: ZoneInfo) -> pd.Timestamp:
    """The first instant of ``day`` in ``zone``, in UTC.

    Local midnight with ``fold=0``: where a DST change skips midnight, that reading maps to the
    instant the gap ends; where midnight repeats, to its first occurrence.
    """
    local = datetime(day.year, day.month, day.day, tzinfo=zone)
    return pd.Timestamp(local.astimezone(UTC)).as_unit("ns")


def duration_label(duration: pd.Timedelta | timedelta) -> str:
    """A short exact label: ``5m``, ``1h``, ``2h24m``, ``1d``, ``70s``, ``9.583333333s``."""
    nanoseconds = pd.Timedelta(duration).value
    sign, nanoseconds = ("-", -nanoseconds) if nanoseconds < 0 else ("", nanoseconds)
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if seconds or fraction or not parts:
        decimals = f".{fraction:09d}".rstrip("0") if fraction else ""
        parts.append(f"{seconds}{decimals}s")
    return sign + "".join(parts)


def _show(instant: pd.Timestamp) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC")
