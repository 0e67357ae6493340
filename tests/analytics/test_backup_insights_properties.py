"""Property tests of the no-run-yet rule, the exclusion mask and the backup insights: the engine
equals the per-row reference with both, and the invariants of their definitions hold."""

from __future__ import annotations

import statistics
from itertools import pairwise
from unittest import mock

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from analytics import resilience
from analytics.backup_insights import backup_insights, schedule_check
from analytics.coverage import PROTECTION_STATUSES, protection_coverage, validate_inventory
from analytics.resilience import NS_PER_HOUR, score_resilience, target_runs
from benchmarks.baselines import resilience_per_row
from tests.analytics.test_engine_properties import (
    IDS,
    PROPERTY_SETTINGS,
    UNKNOWN_ID,
    assert_same_resilience_results,
    resilience_cases,
)

VALUE_COLUMNS = ("actual_rpo_hours", "rpo_compliance", "success_rate", "score", "no_run_yet")


@st.composite
def masked_cases(draw: st.DrawFn) -> dict:
    case = draw(resilience_cases())
    shape = (len(case["params"]), case["arguments"]["hours"])
    cells = shape[0] * shape[1]
    mask = np.array(draw(st.lists(st.booleans(), min_size=cells, max_size=cells)), dtype=bool)
    case["mask"] = mask.reshape(shape)
    case["rule"] = draw(st.booleans())
    return case


def runs_by_target(case: dict) -> dict[str, list[tuple[int, bool]]]:
    """Each selected target's runs at or before the last instant, as (ns, succeeded), in time
    order (ties in input order)."""
    backups = case["backups"]
    arguments = case["arguments"]
    last = arguments["start"].value + arguments["hours"] * NS_PER_HOUR
    runs: dict[str, list[tuple[int, bool]]] = {target: [] for target in case["params"].index}
    for target, timestamp, ok in zip(
        backups["target_id"].astype(object),
        backups["timestamp"].array.asi8,
        backups["succeeded"],
        strict=True,
    ):
        if target in runs and timestamp <= last:
            runs[target].append((int(timestamp), bool(ok)))
    for target in runs:
        runs[target].sort(key=lambda run: run[0])
    return runs


@PROPERTY_SETTINGS
@given(masked_cases())
def test_rule_and_mask_equal_the_per_row_reference(case: dict) -> None:
    options = {"excluded": case["mask"], "no_run_yet_rule": case["rule"]}
    with mock.patch.object(resilience, "BLOCK_CELLS", case["block_cells"]):
        result = score_resilience(case["backups"], case["params"], **case["arguments"], **options)
    expected = resilience_per_row(case["backups"], case["params"], **case["arguments"], **options)
    assert_same_resilience_results(result, expected)


@PROPERTY_SETTINGS
@given(masked_cases())
def test_invariants_of_the_rule_and_the_mask(case: dict) -> None:
    backups, params, arguments = case["backups"], case["params"], case["arguments"]
    start_ns, hours = arguments["start"].value, arguments["hours"]
    plain = score_resilience(backups, params, **arguments, no_run_yet_rule=case["rule"])
    timeline = plain.timeline
    instants = start_ns + NS_PER_HOUR * np.arange(1, hours + 1)

    # No-run-yet instants are exactly those before the first run of the window.
    for position, runs in enumerate(runs_by_target(case).values()):
        in_window = [timestamp for timestamp, _ in runs if timestamp >= start_ns]
        first = in_window[0] if in_window else np.iinfo(np.int64).max
        flags = timeline["no_run_yet"].to_numpy()[position * hours : (position + 1) * hours]
        np.testing.assert_array_equal(flags, instants < first)
    if case["rule"]:
        assert (timeline["success_rate"].isna() == timeline["no_run_yet"]).all()
        no_run = timeline["no_run_yet"]
        np.testing.assert_array_equal(timeline["score"][no_run], timeline["rpo_compliance"][no_run])
    assert timeline["rpo_compliance"].between(0.0, 1.0).all()
    assert timeline["score"].between(0.0, 1.0).all()
    assert timeline["success_rate"].dropna().between(0.0, 1.0).all()

    # Excluded instants equal the values of the latest non-excluded instant (none: missing).
    masked = score_resilience(
        backups, params, **arguments, excluded=case["mask"], no_run_yet_rule=case["rule"]
    ).timeline
    shape = case["mask"].shape
    columns = np.arange(shape[1])
    source = np.maximum.accumulate(np.where(case["mask"], -1, columns), axis=1)
    rows = np.repeat(np.arange(shape[0]), shape[1])
    flat_source = rows * shape[1] + np.maximum(source.ravel(), 0)
    nothing = source.ravel() < 0
    assert masked["excluded"].tolist() == case["mask"].ravel().tolist()
    for column in VALUE_COLUMNS:
        carried = timeline[column].to_numpy()[flat_source]
        got = masked[column].to_numpy()
        np.testing.assert_array_equal(got[~nothing], carried[~nothing], err_msg=column)
        if column == "no_run_yet":
            assert not got[nothing].any()
        else:
            assert np.isnan(got[nothing]).all(), column
    assert masked["status"][nothing].isna().all()
    np.testing.assert_array_equal(
        masked["status"].cat.codes.to_numpy()[~nothing],
        timeline["status"].cat.codes.to_numpy()[flat_source][~nothing],
    )


@PROPERTY_SETTINGS
@given(masked_cases())
def test_invariants_of_the_insights(case: dict) -> None:
    backups, params, arguments = case["backups"], case["params"], case["arguments"]
    start, hours = arguments["start"], arguments["hours"]
    start_ns = start.value
    result = score_resilience(
        backups, params, **arguments, excluded=case["mask"], no_run_yet_rule=case["rule"]
    )
    insights = backup_insights(backups, params, result, start=start, hours=hours)
    targets = insights.targets
    assert targets["restore_point_compliance"].between(0.0, 1.0).all()
    instants = start_ns + NS_PER_HOUR * np.arange(1, hours + 1)
    runs_of = runs_by_target(case)
    for position, (target, runs) in enumerate(runs_of.items()):
        remaining = insights.hours_to_rpo_breach[position]
        successes = np.array([timestamp for timestamp, ok in runs if ok], dtype=np.int64)
        # Between successes the time to breach falls by exactly 1 h per instant; a success
        # in between resets it to R - (age of that success).
        for k in range(hours - 1):
            new = successes[(successes > instants[k]) & (successes <= instants[k + 1])]
            if len(new):
                age = (instants[k + 1] - new.max()) / NS_PER_HOUR
                assert abs(remaining[k + 1] - (params.at[target, "target_rpo_hours"] - age)) < 1e-9
            elif np.isnan(remaining[k]):
                assert np.isnan(remaining[k + 1])
            else:
                assert abs(remaining[k] - remaining[k + 1] - 1.0) < 1e-9
        assert targets.at[target, "within_rpo"] == (remaining[-1] >= 0)

        # Consecutive failures and the schedule against plain Python.
        outcomes = [ok for timestamp, ok in runs if timestamp >= start_ns]
        longest = current = 0
        for ok in outcomes:
            current = 0 if ok else current + 1
            longest = max(longest, current)
        assert targets.at[target, "longest_failure_streak"] == longest
        assert targets.at[target, "current_failure_streak"] == current
        times = [timestamp for timestamp, _ in runs]
        if len(times) >= 3:
            gaps = [later - earlier for earlier, later in pairwise(times)]
            expected = statistics.median(gaps) / NS_PER_HOUR
            assert abs(targets.at[target, "typical_interval_hours"] - expected) < 1e-9
        else:
            assert targets.at[target, "schedule"] == "UNKNOWN"


@PROPERTY_SETTINGS
@given(resilience_cases())
def test_the_schedule_does_not_depend_on_input_order(case: dict) -> None:
    arguments = {key: case["arguments"][key] for key in ("start", "hours")}
    backups, index = case["backups"], case["params"].index
    rpo = case["params"]["target_rpo_hours"].to_numpy()
    reversed_backups = backups.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        schedule_check(target_runs(backups, index, **arguments), rpo),
        schedule_check(target_runs(reversed_backups, index, **arguments), rpo),
    )


@st.composite
def inventories(draw: st.DrawFn) -> pd.DataFrame:
    """Assets linked to any subset of the ids (selected or not) and the unknown one."""
    assets = draw(st.integers(0, 8))
    return pd.DataFrame(
        {
            "asset_id": [f"asset-{number}" for number in range(assets)],
            "requires_backup": draw(st.lists(st.booleans(), min_size=assets, max_size=assets)),
            "target_ids": [
                draw(st.lists(st.sampled_from([*IDS, UNKNOWN_ID]), max_size=4))
                for _ in range(assets)
            ],
        }
    )


@PROPERTY_SETTINGS
@given(masked_cases(), inventories())
def test_coverage_equals_a_plain_python_reading_of_its_definition(
    case: dict, inventory_frame: pd.DataFrame
) -> None:
    backups, params, arguments = case["backups"], case["params"], case["arguments"]
    window = {"start": arguments["start"], "hours": arguments["hours"]}
    result = score_resilience(backups, params, **arguments, excluded=case["mask"])
    insights = backup_insights(backups, params, result, **window)
    coverage = protection_coverage(validate_inventory(inventory_frame, IDS), insights)

    analysed = list(params.index)
    for instant in range(arguments["hours"]):
        within = {
            target: insights.hours_to_rpo_breach[position, instant] >= 0
            for position, target in enumerate(analysed)
        }
        counts = dict.fromkeys(PROTECTION_STATUSES, 0)
        for asset, requires, links in zip(
            inventory_frame["asset_id"],
            inventory_frame["requires_backup"],
            inventory_frame["target_ids"],
            strict=True,
        ):
            known = set(links) - {UNKNOWN_ID}
            if not known:
                status = "UNPROTECTED"
            elif any(within.get(target, False) for target in known):
                status = "PROTECTED"
            elif known <= set(analysed):
                status = "STALE"
            else:
                status = "NOT_EVALUATED"
            if instant == arguments["hours"] - 1:
                assert coverage.assets.loc[asset, "status"] == status
            counts[status] += requires
        row = coverage.timeline.iloc[instant]
        assert [row[name.lower()] for name in PROTECTION_STATUSES] == list(counts.values())
        judged = counts["PROTECTED"] + counts["STALE"] + counts["UNPROTECTED"]
        if judged:
            assert row["coverage"] == counts["PROTECTED"] / judged
        else:
            assert np.isnan(row["coverage"])
    assert coverage.counts == counts
    assert coverage.state == ("measured" if judged else "nothing_to_cover")
