"""Window presets: rolling windows anchored on the newest data, calendar windows in a zone."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.config import ConfigError
from analytics.windows import (
    ROLLING_PRESETS,
    check_data_covers,
    duration_label,
    is_rolling,
    parse_window,
    window_bounds,
)

NEWEST = pd.Timestamp("2026-12-01T23:59:59Z")  # issue 14's example


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


@pytest.mark.parametrize(
    ("spec", "tz", "newest", "start", "end"),
    [
        # The newest day is included: last-7d ends with 2026-12-01, not 2026-11-30.
        ("last-7d", "UTC", NEWEST, "2026-11-25T00:00Z", "2026-12-02T00:00Z"),
        ("last-24h", "UTC", NEWEST, "2026-12-01T00:00Z", "2026-12-02T00:00Z"),
        ("last-28d", "UTC", NEWEST, "2026-11-04T00:00Z", "2026-12-02T00:00Z"),
        ("last-30d", "UTC", NEWEST, "2026-11-02T00:00Z", "2026-12-02T00:00Z"),
        # A point exactly at midnight belongs to the day it opens.
        ("last-24h", "UTC", "2026-12-02T00:00:00Z", "2026-12-02T00:00Z", "2026-12-03T00:00Z"),
        # In Rome the newest point (00:59:59 local on 12-02) is on 2026-12-02.
        ("last-7d", "Europe/Rome", NEWEST, "2026-11-25T23:00Z", "2026-12-02T23:00Z"),
        # The 25-hour day of 2026-10-25 in Rome: last-1d is that day, last-24h its last 24 h.
        ("last-1d", "Europe/Rome", "2026-10-25T12:00Z", "2026-10-24T22:00Z", "2026-10-25T23:00Z"),
        ("last-24h", "Europe/Rome", "2026-10-25T12:00Z", "2026-10-24T23:00Z", "2026-10-25T23:00Z"),
        ("last-2d", "Europe/Rome", "2026-03-29T12:00Z", "2026-03-27T23:00Z", "2026-03-29T22:00Z"),
        ("day:2026-11-30", "UTC", None, "2026-11-30T00:00Z", "2026-12-01T00:00Z"),
        ("day:2026-03-29", "Europe/Rome", None, "2026-03-28T23:00Z", "2026-03-29T22:00Z"),
        ("day:2026-10-25", "Europe/Rome", None, "2026-10-24T22:00Z", "2026-10-25T23:00Z"),
        # Sao Paulo skipped midnight on 2018-11-04: the day starts at 01:00 local (03:00 UTC).
        ("day:2018-11-04", "America/Sao_Paulo", None, "2018-11-04T03:00Z", "2018-11-05T02:00Z"),
        ("week:2026-W48", "UTC", None, "2026-11-23T00:00Z", "2026-11-30T00:00Z"),
        ("week:2026-W01", "UTC", None, "2025-12-29T00:00Z", "2026-01-05T00:00Z"),
        ("week:2026-W53", "UTC", None, "2026-12-28T00:00Z", "2027-01-04T00:00Z"),
        ("month:2026-11", "Europe/Rome", None, "2026-10-31T23:00Z", "2026-11-30T23:00Z"),
        ("month:2026-12", "UTC", None, "2026-12-01T00:00Z", "2027-01-01T00:00Z"),
        ("month:2024-02", "UTC", None, "2024-02-01T00:00Z", "2024-03-01T00:00Z"),
        ("quarter:2026-Q4", "UTC", None, "2026-10-01T00:00Z", "2027-01-01T00:00Z"),
        ("quarter:2026-Q1", "Europe/Rome", None, "2025-12-31T23:00Z", "2026-03-31T22:00Z"),
    ],
)
def test_presets_give_these_utc_windows(
    spec: str, tz: str, newest: str | pd.Timestamp | None, start: str, end: str
) -> None:
    data_last = None if newest is None else pd.Timestamp(newest)
    window = parse_window(spec, tz=tz, data_last=data_last)
    assert (window.start, window.end) == (utc(start), utc(end))
    assert window.tz == tz
    assert window.rolling == spec.startswith("last-")


def test_dst_days_are_23_and_25_hours_long() -> None:
    spring = parse_window("day:2026-03-29", tz="Europe/Rome")
    autumn = parse_window("day:2026-10-25", tz="Europe/Rome")
    assert spring.length == pd.Timedelta(hours=23)
    assert autumn.length == pd.Timedelta(hours=25)


def test_calendar_presets_ignore_the_data_and_rolling_ones_follow_it() -> None:
    assert parse_window("day:2026-11-30", data_last=NEWEST) == parse_window("day:2026-11-30")
    later = parse_window("last-7d", data_last=NEWEST + pd.Timedelta(days=1))
    assert later.end == utc("2026-12-03T00:00Z")


def test_the_offered_rolling_presets_parse() -> None:
    lengths = [parse_window(spec, data_last=NEWEST).length for spec in ROLLING_PRESETS]
    assert lengths == [pd.Timedelta(days=days) for days in (1, 7, 28, 30)]
    assert all(is_rolling(spec) for spec in ROLLING_PRESETS)
    assert not is_rolling("day:2026-11-30")


@pytest.mark.parametrize(
    ("spec", "tz", "newest", "message"),
    [
        ("yesterday", "UTC", NEWEST, "window: 'yesterday' is not a window preset (allowed: last-"),
        (
            "last-0d",
            "UTC",
            NEWEST,
            "window: 'last-0d' is out of range (allowed last-1d to last-366d)",
        ),
        ("last-367d", "UTC", NEWEST, "out of range"),
        ("last-8785h", "UTC", NEWEST, "allowed last-1h to last-8784h"),
        ("last-7d", "UTC", None, "window: 'last-7d' counts back from the newest data, but there"),
        ("day:2026-02-30", "UTC", None, "window: 'day:2026-02-30' is not a valid day (day is out"),
        ("day:2026-2-3", "UTC", None, "is not a valid day (write it as day:2026-11-30)"),
        ("week:2025-W53", "UTC", None, "window: 'week:2025-W53' is not a valid week"),
        ("month:2026-13", "UTC", None, "'month:2026-13' is not a valid month"),
        ("quarter:2026-Q5", "UTC", None, "is not a valid quarter (write it as quarter:2026-Q4)"),
        ("day:2026-11-30", "Europe/Rom", None, "tz: unknown time zone 'Europe/Rom' (an IANA name"),
        ("day:2026-11-30", "../../etc/passwd", None, "tz: unknown time zone"),
        ("day:2026-11-30", "", None, "tz: '' is not a time zone name"),
    ],
)
def test_bad_specs_are_refused_naming_the_field(
    spec: str, tz: str, newest: pd.Timestamp | None, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_window(spec, tz=tz, data_last=newest)
    assert message in str(raised.value)


def test_a_lookback_longer_than_the_data_is_refused() -> None:
    window = parse_window("last-30d", data_last=NEWEST)
    check_data_covers(window.start, data_first=utc("2026-11-02T00:00Z"))  # exactly enough
    with pytest.raises(ConfigError) as raised:
        check_data_covers(window.start, data_first=utc("2026-11-22T08:00Z"))
    assert str(raised.value) == (
        "window: needs data from 2026-11-02 00:00:00 UTC, but the data start at "
        "2026-11-22 08:00:00 UTC (20d8h later); choose a shorter window"
    )
    with pytest.raises(ConfigError, match=r"burn_lookback: needs data from .* there is no data"):
        check_data_covers(window.start, data_first=None, field="burn_lookback")


@pytest.mark.parametrize(
    ("duration", "label"),
    [
        (pd.Timedelta(minutes=5), "5m"),
        (pd.Timedelta(hours=1), "1h"),
        (pd.Timedelta(hours=2, minutes=24), "2h24m"),
        (pd.Timedelta(days=3), "3d"),
        (pd.Timedelta(seconds=70), "1m10s"),
        (pd.Timedelta(0), "0s"),
        (pd.Timedelta(-3, unit="h"), "-3h"),
        (pd.Timedelta(9_583_333_333, unit="ns"), "9.583333333s"),  # 23 h / 8640
        (pd.Timedelta(1, unit="ns"), "0.000000001s"),
    ],
)
def test_duration_labels_are_short_and_exact(duration: pd.Timedelta, label: str) -> None:
    assert duration_label(duration) == label


def test_window_bounds_refuse_an_empty_window() -> None:
    assert window_bounds("2026-01-01", "2026-01-02") == (
        utc("2026-01-01T00:00Z"),
        utc("2026-01-02T00:00Z"),
    )
    with pytest.raises(ValueError, match="the window is empty"):
        window_bounds("2026-01-02", "2026-01-02")
