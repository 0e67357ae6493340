"""Property tests of the error-budget engine, exclusions and completeness (hypothesis):
invariants of issue 11 and agreement with direct per-element computations."""

from __future__ import annotations

from itertools import pairwise
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import availability
from analytics.availability import availability_score, score_availability
from analytics.completeness import assess_completeness
from analytics.error_budget import (
    BurnAlertRule,
    BurnSettings,
    analyze_error_budgets,
    resolve_lookback,
)
from analytics.exclusions import (
    ExclusionWindow,
    exclude_checks,
    expand_exclusions,
    resilience_exclusion_mask,
)
from analytics.results import NO_DATA
from analytics.segments import OwnerTimes, merge_intervals
from tests.analytics import availability_params, metrics_frame

START = pd.Timestamp("2026-01-01T00:00:00Z")
NS_PER_SECOND = 1_000_000_000
IDS = ("a", "b", "c")
PROPERTIES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def seconds(value: int) -> pd.Timedelta:
    return pd.Timedelta(seconds=value)


@st.composite
def failure_rows(draw: st.DrawFn, *, span_seconds: int = 3_600, before: int = 600) -> list:
    """Rows of services a..c at whole or fractional seconds from START - before to the span."""
    offsets = st.one_of(
        st.integers(-before, span_seconds).map(lambda value: value * NS_PER_SECOND),
        st.integers(-before * NS_PER_SECOND, span_seconds * NS_PER_SECOND),
    )
    rows = draw(st.lists(st.tuples(st.sampled_from(IDS), offsets, st.integers(0, 3)), max_size=40))
    return [(service, START + pd.Timedelta(offset, "ns"), count) for service, offset, count in rows]


# --- burn rates and budgets ----------------------------------------------------------------


@PROPERTIES
@given(
    period=st.integers(1, 3_600),
    multiple=st.integers(1, 40),
    windows=st.integers(2, 400),
    budget=st.integers(1, 1_000_000),
    where=st.floats(0, 1, exclude_max=True),
)
def test_a_constant_failure_stream_burns_at_its_rate_ratio(
    period: int, multiple: int, windows: int, budget: int, where: float
) -> None:
    """One failure every period: over a lookback of whole periods, B = T / (period x E_b)."""
    lookback = seconds(period * multiple)
    length = lookback * windows / multiple * 4
    length = seconds(max(period * 2, int(length.total_seconds())))
    end = START + length
    count = int((length + lookback).total_seconds()) // period + 2
    times = START - lookback - seconds(period) + seconds(period) * np.arange(count)
    rows = [("a", time, 1) for time in times if time < end]
    result = analyze_error_budgets(
        metrics_frame(rows, ["a"]),
        pd.DataFrame({"error_budget": [budget]}, index=pd.Index(["a"], name="service_id")),
        start=START,
        end=end,
        settings=BurnSettings(lookbacks=[lookback]),
    )
    instant = START + (length * where).floor("s")
    burn = result.series(pd.DatetimeIndex([instant]))[f"burn_rate_{_label(lookback)}"].iloc[0]
    assert burn == pytest.approx(length / seconds(period) / budget, rel=1e-12)


def _label(duration: pd.Timedelta) -> str:
    from analytics.windows import duration_label

    return duration_label(duration)


@PROPERTIES
@given(
    rows=failure_rows(),
    budget=st.integers(1, 20),
    instants=st.lists(st.integers(-900, 3_700), max_size=30),
)
def test_budget_remaining_never_rises_within_a_window(
    rows: list, budget: int, instants: list
) -> None:
    end = START + seconds(3_600)
    result = analyze_error_budgets(
        metrics_frame(rows, list(IDS)),
        pd.DataFrame({"error_budget": [budget] * 3}, index=pd.Index(IDS, name="service_id")),
        start=START,
        end=end,
    )
    series = result.series(pd.DatetimeIndex(sorted(START + seconds(value) for value in instants)))
    for _, one in series.groupby("service_id", observed=True):
        remaining = one["budget_remaining"].to_numpy()
        assert np.all(np.diff(remaining) <= 0)
        assert np.all((remaining >= 0) & (remaining <= 1))
    ends = result.services
    for service in IDS:
        in_window = sum(
            count for name, time, count in rows if name == service and START <= time < end
        )
        assert ends.loc[service, "window_failures"] == in_window


@PROPERTIES
@given(rows=failure_rows(), budget=st.integers(1, 10), threshold=st.sampled_from([0.5, 1, 3, 14.4]))
def test_alert_intervals_hold_exactly_where_the_condition_holds(
    rows: list, budget: int, threshold: float
) -> None:
    end = START + seconds(3_600)
    rule = BurnAlertRule(long="PT600S", short="PT60S", threshold=threshold, severity="page")
    result = analyze_error_budgets(
        metrics_frame(rows, list(IDS)),
        pd.DataFrame({"error_budget": [budget] * 3}, index=pd.Index(IDS, name="service_id")),
        start=START,
        end=end,
        settings=BurnSettings(alert_rules=[rule]),
    )
    length = (end - START).value
    # Probe every instant where the condition may change, and a nanosecond either side.
    probes = {START, end - pd.Timedelta(1, "ns")}
    for _, time, _ in rows:
        for shift in (pd.Timedelta(0), seconds(60), seconds(600)):
            for nudge in (-1, 0, 1):
                probe = time + shift + pd.Timedelta(nudge, "ns")
                if START <= probe < end:
                    probes.add(probe)
    for service in IDS:
        intervals = result.alerts[result.alerts["service_id"] == service]
        for probe in probes:

            def failures_within(lookback: pd.Timedelta, service: str = service, probe=probe) -> int:
                return sum(
                    count
                    for name, time, count in rows
                    if name == service and probe - lookback < time <= probe
                )

            def burn(lookback: pd.Timedelta) -> float:
                return failures_within(lookback) * (length / lookback.value) / budget

            holds = burn(seconds(600)) >= threshold * (1 - 1e-12) and burn(
                seconds(60)
            ) >= threshold * (1 - 1e-12)
            inside = ((intervals["start"] <= probe) & (probe < intervals["end"])).any()
            assert holds == inside, (service, probe)


# --- exclusions ----------------------------------------------------------------------------

RULES = [
    None,
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=SU",
    "FREQ=WEEKLY;BYDAY=SA,SU",
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=MONTHLY;BYMONTHDAY=31",
]
ZONES = ["UTC", "Europe/Rome", "America/Sao_Paulo", "Australia/Lord_Howe", "Asia/Kathmandu"]


@st.composite
def exclusions(
    draw: st.DrawFn, *, scopes: tuple[str, ...] = ("all", "service_type", "service")
) -> list:
    found = []
    for _ in range(draw(st.integers(0, 4))):
        rule = draw(st.sampled_from(RULES))
        scope = draw(st.sampled_from(scopes))
        value = (
            None if scope == "all" else draw(st.sampled_from(["a", "b", "db", "web", "t1", "vm"]))
        )
        hours = draw(
            st.integers(1, 3 if rule and "HOURLY" in rule else 20)
        )  # under the 4 h an hour-long DST jump leaves between 5-hourly ones
        found.append(
            ExclusionWindow(
                scope=scope,
                value=value,
                start=pd.Timestamp("2026-01-01")
                + pd.Timedelta(minutes=draw(st.integers(-5_000, 60_000))),
                duration=pd.Timedelta(hours=hours, seconds=draw(st.integers(0, 59))),
                rrule=rule,
                tz=draw(st.sampled_from(ZONES)),
                reason="maintenance",
            )
        )
    return found


@PROPERTIES
@given(found=exclusions(), offset=st.integers(-3_000, 80_000), minutes=st.integers(1, 60_000))
def test_expansion_stays_inside_the_window(found: list, offset: int, minutes: int) -> None:
    start = START + pd.Timedelta(minutes=offset)
    end = start + pd.Timedelta(minutes=minutes)
    expanded = expand_exclusions(found, start=start, end=end)
    assert (expanded["start"] >= start).all() and (expanded["end"] <= end).all()
    assert (expanded["start"] < expanded["end"]).all()
    for number, exclusion in enumerate(found):
        # Each occurrence, clipped, is there: compare with a direct walk of the rule.
        occurrences = exclusion.occurrences(start, end)
        assert (expanded["exclusion"] == number).sum() == len(occurrences)


SERVICES = pd.DataFrame(
    {"service_type": ["db", "web", "db"]}, index=pd.Index(IDS, name="service_id")
)


@PROPERTIES
@given(
    rows=failure_rows(span_seconds=200_000, before=20_000),
    found=exclusions(),
    in_order=st.booleans(),
)
def test_exclusion_drops_exactly_the_rows_inside_their_intervals(
    rows: list, found: list, in_order: bool
) -> None:
    if in_order:  # as the data layer returns them: the binary-search path
        rows = sorted(rows, key=lambda row: (IDS.index(row[0]), row[1]))
    end = START + seconds(200_000)
    data_start = START - seconds(10_000)
    metrics = metrics_frame(rows, [*IDS, "zz"])
    result = exclude_checks(metrics, SERVICES, found, start=START, end=end, data_start=data_start)
    expanded = expand_exclusions(found, start=data_start, end=end)

    def excluded(service: str, time: pd.Timestamp) -> bool:
        service_type = SERVICES.loc[service, "service_type"]
        for row in expanded.itertuples(index=False):
            applies = (
                row.scope == "all"
                or (row.scope == "service_type" and row.value == service_type)
                or (row.scope == "service" and row.value == service)
            )
            if applies and row.start <= time < row.end:
                return True
        return False

    expected = [(name, time, count) for name, time, count in rows if not excluded(name, time)]
    kept = list(
        zip(
            result.metrics["service_id"],
            result.metrics["timestamp"],
            result.metrics["failures"],
            strict=True,
        )
    )
    assert kept == expected
    for service in IDS:
        removed_in_window = {
            time
            for name, time, _ in rows
            if name == service and START <= time < end and excluded(name, time)
        }
        assert result.services.loc[service, "excluded_checks"] == len(removed_in_window)


@PROPERTIES
@given(
    rows=failure_rows(),
    before=st.integers(0, 10_000),
    after=st.integers(0, 10_000),
    tz=st.sampled_from(ZONES),
)
def test_an_exclusion_over_the_whole_window_gives_no_data(
    rows: list, before: int, after: int, tz: str
) -> None:
    end = START + seconds(3_600)
    local_start = (START - seconds(before)).tz_convert(tz).tz_localize(None)
    covering = ExclusionWindow(
        scope="all",
        start=local_start,
        duration=end + seconds(after) - (START - seconds(before)),
        tz=tz,
        reason="everything",
    )
    kept = exclude_checks(
        metrics_frame(rows, [*IDS, "zz"]), SERVICES, [covering], start=START, end=end
    ).metrics
    scored = score_availability(
        kept,
        availability_params(dict.fromkeys(IDS, 5), dict.fromkeys(IDS, 1)),
        start=START,
        end=end,
    )
    assert (scored.services["final_status"] == NO_DATA).all()
    assert np.isnan(scored.aggregated_score)


@PROPERTIES
@given(
    found=exclusions(scopes=("all", "target_type", "target", "service")), hours=st.integers(1, 72)
)
def test_the_resilience_mask_matches_the_intervals(found: list, hours: int) -> None:
    targets = pd.DataFrame(
        {"target_type": ["vm", "nas"]}, index=pd.Index(["t1", "t2"], name="target_id")
    )
    mask = resilience_exclusion_mask(found, targets, start=START, hours=hours)
    instants = [START + pd.Timedelta(hours=k) for k in range(1, hours + 1)]
    expanded = expand_exclusions(found, start=START, end=instants[-1] + pd.Timedelta(1, "ns"))
    for row_number, (target, target_type) in enumerate(
        zip(targets.index, targets["target_type"], strict=True)
    ):
        for column, instant in enumerate(instants):
            expected = any(
                (
                    row.scope == "all"
                    or (row.scope == "target_type" and row.value == target_type)
                    or (row.scope == "target" and row.value == target)
                )
                and row.start <= instant < row.end
                for row in expanded.itertuples(index=False)
            )
            assert mask[row_number, column] == expected


# --- completeness --------------------------------------------------------------------------


@PROPERTIES
@given(
    rows=failure_rows(),
    factor=st.floats(0.5, 10),
    intervals=st.dictionaries(st.sampled_from(IDS), st.integers(1, 4_000), max_size=2),
)
def test_completeness_is_a_fraction_and_gaps_lie_in_the_window(
    rows: list, factor: float, intervals: dict
) -> None:
    end = START + seconds(3_600)
    result = assess_completeness(
        metrics_frame(rows, [*IDS, "zz"]),
        pd.Index(IDS),
        start=START,
        end=end,
        gap_factor=factor,
        expected_intervals={key: seconds(value) for key, value in intervals.items()},
    )
    completeness = result.services["completeness"].dropna()
    assert ((completeness >= 0) & (completeness <= 1)).all()
    gaps = result.gaps
    assert ((gaps["start"] >= START) & (gaps["end"] <= end) & (gaps["start"] < gaps["end"])).all()
    for service in IDS:
        times = sorted({time for name, time, _ in rows if name == service and START <= time < end})
        # No check falls strictly inside a gap.
        for gap in gaps[gaps["service_id"] == service].itertuples(index=False):
            assert not any(gap.start < time < gap.end for time in times)


# --- budgets above 50 ----------------------------------------------------------------------


@PROPERTIES
@given(
    counts=st.lists(st.integers(0, 400), min_size=1, max_size=30),
    budgets=st.lists(
        st.one_of(st.integers(1, 50), st.integers(51, 2_000_000)), min_size=3, max_size=3
    ),
    tiny_table=st.booleans(),
)
def test_large_budgets_score_as_the_formula_says(
    counts: list, budgets: list, tiny_table: bool
) -> None:
    rows = [
        (IDS[number % 3], START + seconds(number), count) for number, count in enumerate(counts)
    ]
    rows.sort(key=lambda row: (IDS.index(row[0]), row[1]))
    params = availability_params(dict(zip(IDS, budgets, strict=True)), dict.fromkeys(IDS, 1))
    with mock.patch.object(availability, "MAX_SCORE_TABLE_CELLS", 0 if tiny_table else 1 << 16):
        result = score_availability(
            metrics_frame(rows, list(IDS)), params, start=START, end=START + seconds(60)
        )
    timeline = result.timeline
    budget_of = dict(zip(IDS, budgets, strict=True))
    expected = availability_score(
        timeline["cumulative_failures"].to_numpy(),
        np.array([budget_of[service] for service in timeline["service_id"]]),
    )
    assert timeline["score"].to_numpy().tolist() == expected.tolist()


# --- the segment index ---------------------------------------------------------------------


@PROPERTIES
@given(
    elements=st.lists(st.tuples(st.integers(0, 3), st.integers(-(2**62), 2**62)), max_size=30),
    queries=st.lists(st.tuples(st.integers(0, 3), st.integers(-(2**62), 2**62)), max_size=30),
    coarse=st.booleans(),
)
def test_owner_times_count_like_a_direct_count(elements: list, queries: list, coarse: bool) -> None:
    if coarse:  # whole seconds in a short span: the compact key
        elements = [
            (owner, time % 10**12 // NS_PER_SECOND * NS_PER_SECOND) for owner, time in elements
        ]
        queries = [(owner, time % 10**12) for owner, time in queries]
    owners = np.array([owner for owner, _ in elements], dtype=np.int64)
    times = np.array([time for _, time in elements], dtype=np.int64)
    index = OwnerTimes.build(owners, times, 4)
    query_owners = np.array([owner for owner, _ in queries], dtype=np.int64)
    query_times = np.array([time for _, time in queries], dtype=np.int64)
    for inclusive in (True, False):
        counted = index.count_upto(query_owners, query_times, inclusive=inclusive)
        expected = [
            sum(
                1
                for owner, time in elements
                if owner == query_owner and (time <= query_time if inclusive else time < query_time)
            )
            for query_owner, query_time in queries
        ]
        assert counted.tolist() == expected


@PROPERTIES
@given(
    intervals=st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 60), st.integers(-5, 30)), max_size=20
    )
)
def test_merged_intervals_cover_the_same_instants(intervals: list) -> None:
    owners = [owner for owner, _, _ in intervals]
    starts = [start for _, start, _ in intervals]
    ends = [start + length for _, start, length in intervals]
    merged_owners, merged_starts, merged_ends = merge_intervals(owners, starts, ends)
    for owner in range(3):
        covered = {
            t
            for o, s, e in zip(owners, starts, ends, strict=True)
            if o == owner
            for t in range(s, e)
        }
        pieces = [
            (s, e)
            for o, s, e in zip(merged_owners, merged_starts, merged_ends, strict=True)
            if o == owner
        ]
        assert {t for s, e in pieces for t in range(s, e)} == covered
        # Disjoint, sorted and not touching.
        assert all(first[1] < second[0] for first, second in pairwise(pieces))


def test_resolve_lookback_is_exact_for_the_default_fractions() -> None:
    for days in (1, 7, 28, 30, 31, 92):
        length = pd.Timedelta(days=days)
        assert resolve_lookback("T/720", length) * 720 == length
