"""Error budgets: hand-computed budget, burn-rate, alert and exhaustion tables, boundaries
included, and budgets from objectives. The window is 30 days unless said otherwise, so the
default lookbacks are 5m, 30m, 1h, 2h, 6h, 1d and 3d."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.availability import score_availability
from analytics.config import ConfigError, validate_model
from analytics.error_budget import (
    DEFAULT_BURN_ALERTS,
    BudgetPolicy,
    BurnAlertRule,
    BurnSettings,
    analyze_error_budgets,
    burn_rate_column,
    lookback_start,
    objective_budget,
    resolve_error_budgets,
    resolve_lookback,
    series_instants,
)
from tests.analytics import metrics_frame

START = pd.Timestamp("2026-01-01T00:00:00Z")
END = START + pd.Timedelta(days=30)
HOUR = pd.Timedelta(hours=1)


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


def params(budgets: dict[str, int], types: dict[str, str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"error_budget": list(budgets.values())}, index=pd.Index(list(budgets), name="service_id")
    )
    if types is not None:
        frame["service_type"] = [types[key] for key in budgets]
    return frame


def analyze(rows: list[tuple[str, pd.Timestamp, int]], budgets: dict[str, int], **settings):
    metrics = metrics_frame(rows, list(dict.fromkeys([*budgets, *(row[0] for row in rows)])))
    return analyze_error_budgets(
        metrics, params(budgets), start=START, end=END, settings=BurnSettings(**settings)
    )


# Service a (E_b 5): a failure an hour before the window, 2 at 10:30, 1 at 11:00, 1 at hour 700.
EXAMPLE = [
    ("a", at(-1), 1),
    ("a", at(10), 0),
    ("a", at(10.5), 2),
    ("a", at(11), 1),
    ("a", at(700), 1),
    ("b", at(5), 0),
    ("zz", at(11), 9),  # not analysed
]


def test_figures_at_the_end_of_the_window() -> None:
    result = analyze(EXAMPLE, {"a": 5, "b": 3})
    a, b = result.services.loc["a"], result.services.loc["b"]
    assert a["window_failures"] == 4  # the failure before the window is not in P_f
    assert a["budget_consumed"] == pytest.approx(0.8)
    assert a["budget_remaining"] == pytest.approx(0.2)
    # Only the failure at hour 700 is in the last day: 1 / (5 x 1 d / 30 d) = 6.
    assert a["burn_rate_1d"] == pytest.approx(6.0)
    assert a["burn_rate_3d"] == pytest.approx(2.0)
    for short in ("5m", "30m", "1h", "2h", "6h"):
        assert a[f"burn_rate_{short}"] == 0.0
    assert (a["max_burn_rate"], a["max_burn_lookback"]) == (
        pytest.approx(6.0),
        pd.Timedelta(days=1),
    )
    # lambda = 1 failure / 72 h; r = 1: exhaustion 72 h after the end, not within the window.
    assert a["forecast_failures_per_hour"] == pytest.approx(1 / 72)
    assert a["hours_to_exhaustion"] == pytest.approx(72.0)
    assert a["exhaustion_at"] == END + pd.Timedelta(hours=72)
    assert not a["exhausted"] and not a["exhausts_in_window"]
    assert (a["page_alerts"], a["ticket_alerts"], a["alert_at_end"]) == (5, 6, "")
    # b: no failure, no rate, no forecast.
    assert (b["window_failures"], b["budget_remaining"], b["max_burn_rate"]) == (0, 1.0, 0.0)
    assert b["hours_to_exhaustion"] == math.inf and pd.isna(b["exhaustion_at"])
    assert result.lookbacks == tuple(
        pd.Timedelta(value) for value in ("5min", "30min", "1h", "2h", "6h", "1D", "3D")
    )
    assert result.forecast_lookback == pd.Timedelta(days=3)


def test_alert_intervals_are_exact() -> None:
    alerts = analyze(EXAMPLE, {"a": 5, "b": 3}).alerts
    rows = [
        (row.rule, row.severity, row.start, row.end, row.ongoing)
        for row in alerts.itertuples(index=False)
    ]
    assert rows == [
        # The failure before the window keeps the 1d/2h and 3d/6h conditions at start, until
        # it leaves the short lookback (2 h, 6 h after it).
        (2, "ticket", at(0), at(1), False),
        (3, "ticket", at(0), at(5), False),
        # 10:30: 2 failures; the 1h/5m condition holds for 5 min, then again at 11:00.
        (0, "page", at(10.5), at(10.5 + 5 / 60), False),
        (1, "page", at(10.5), at(11.5), False),  # 11:00 keeps the 30 min lookback burning
        (2, "ticket", at(10.5), at(13), False),
        (3, "ticket", at(10.5), at(17), False),
        (0, "page", at(11), at(11 + 5 / 60), False),
        (0, "page", at(700), at(700 + 5 / 60), False),
        (1, "page", at(700), at(700.5), False),
        (2, "ticket", at(700), at(702), False),
        (3, "ticket", at(700), at(706), False),
    ]
    assert alerts["service_id"].tolist() == ["a"] * 11
    assert alerts.loc[0, "long"] == pd.Timedelta(days=1)
    assert alerts.loc[0, "short"] == pd.Timedelta(hours=2)
    assert alerts.loc[0, "threshold"] == 3.0


@pytest.mark.parametrize(("budget", "pages"), [(50, 1), (51, 0)])
def test_a_burn_rate_equal_to_the_threshold_alerts(budget: int, pages: int) -> None:
    # 1 failure in the last hour against 50: 1 / (50 x 1 h / 720 h) = 14.4, the threshold.
    result = analyze([("a", at(100), 1)], {"a": budget})
    fast_pages = result.alerts[(result.alerts["rule"] == 0)]
    assert len(fast_pages) == pages


def test_an_alert_holding_at_the_end_is_ongoing() -> None:
    result = analyze([("a", END - pd.Timedelta(minutes=2), 1)], {"a": 5})
    page = result.alerts[result.alerts["rule"] == 0].iloc[0]
    assert (page["start"], page["end"], page["ongoing"]) == (
        END - pd.Timedelta(minutes=2),
        END,
        True,
    )
    assert result.services.loc["a", "alert_at_end"] == "page"


def test_lookbacks_are_half_open() -> None:
    # At t = hour 720 (the end), F(t - 1 d, t] leaves out a failure exactly at t - 1 d.
    result = analyze([("a", at(696), 1), ("a", at(696) + pd.Timedelta(1, "ns"), 1)], {"a": 5})
    assert result.services.loc["a", "burn_rate_1d"] == pytest.approx(1 * 30 / 5)
    series = result.series(pd.DatetimeIndex([at(696)]))
    assert series["burn_rate_5m"].tolist() == [pytest.approx(1 * 8640 / 5)]  # t itself counts


def test_series_at_given_instants() -> None:
    result = analyze(EXAMPLE, {"a": 5, "b": 3})
    series = result.series(pd.DatetimeIndex([at(-0.5), START, at(11)]))
    a = series[series["service_id"] == "a"]
    assert a["timestamp"].tolist() == [at(-0.5), START, at(11)]
    assert a["window_failures"].tolist() == [0, 0, 3]  # a failure exactly at start would count
    assert a["budget_remaining"].tolist() == pytest.approx([1.0, 1.0, 0.4])
    # At start: the failure an hour before is in the 2 h lookback: 1 / (5 x 2 h / 720 h) = 72.
    assert a["burn_rate_2h"].tolist() == pytest.approx([72.0, 72.0, 3 * 360 / 5])
    assert a["burn_rate_1h"].tolist()[2] == pytest.approx(3 * 720 / 5)
    assert a["burn_rate_5m"].tolist()[2] == pytest.approx(1 * 8640 / 5)
    assert series["service_id"].tolist() == ["a"] * 3 + ["b"] * 3

    chosen = pd.DataFrame({"service_id": ["b", "a"], "timestamp": [at(1), at(11)]})
    picked = result.series(chosen)
    assert picked["service_id"].tolist() == ["b", "a"]
    assert picked["window_failures"].tolist() == [0, 3]
    with pytest.raises(ValueError, match="instants name services that are not analysed"):
        result.series(pd.DataFrame({"service_id": ["zz"], "timestamp": [at(1)]}))


def test_a_failure_exactly_at_the_start_counts() -> None:
    result = analyze([("a", START, 2)], {"a": 5})
    assert result.services.loc["a", "window_failures"] == 2


@pytest.mark.parametrize(
    ("budget", "exhausted_at"),
    [(3, at(2)), (4, at(2)), (5, at(5)), (6, None)],
)
def test_exhaustion_is_the_failure_that_used_the_last_unit(
    budget: int, exhausted_at: pd.Timestamp | None
) -> None:
    # Cumulative window failures: 1 at 01:00, 4 at 02:00 (3 at once), 5 at 05:00.
    rows = [("a", at(-2), 4), ("a", at(1), 1), ("a", at(2), 3), ("a", at(5), 1)]
    figures = analyze(rows, {"a": budget}).services.loc["a"]
    if exhausted_at is None:
        assert not figures["exhausted"]
        return
    assert figures["exhausted"] and figures["exhausts_in_window"]
    assert figures["exhaustion_at"] == exhausted_at
    assert figures["hours_to_exhaustion"] == 0.0
    assert figures["budget_remaining"] == 0.0
    assert figures["budget_consumed"] == pytest.approx(5 / budget)


def test_a_forecast_before_the_end_is_flagged() -> None:
    # At hour 24: 2 failures in the last 3 days, lambda = 2 / 72 h; r = 10 - 2 = 8, so the
    # budget runs out 8 / (2 / 72) = 288 h later, at hour 312, within the window.
    result = analyze([("a", at(12), 1), ("a", at(18), 1)], {"a": 10})
    row = result.series(pd.DatetimeIndex([at(24)])).iloc[0]
    assert row["hours_to_exhaustion"] == pytest.approx(288.0)
    assert row["exhaustion_at"] == at(312)
    assert row["exhausts_in_window"] and not row["exhausted"]


def test_alert_rules_by_service_type() -> None:
    metrics = metrics_frame([("a", at(100), 1), ("b", at(100), 1)], ["a", "b"])
    batch_rule = BurnAlertRule(long="PT12H", short="PT1H", threshold=0.5, severity="ticket")
    result = analyze_error_budgets(
        metrics,
        params({"a": 50, "b": 50}, {"a": "web", "b": "batch"}),
        start=START,
        end=END,
        settings=BurnSettings(alert_rules_by_type={"batch": [batch_rule]}),
    )
    b_alerts = result.alerts[result.alerts["service_id"] == "b"]
    # 1 / (50 x 1 h / 720 h) = 14.4 >= 0.5 for an hour (the short lookback).
    assert list(zip(b_alerts["rule"], b_alerts["start"], b_alerts["end"], strict=True)) == [
        (0, at(100), at(101))
    ]
    # Under the default rules only the fastest pair (1 h / 5 min at 14.4) fires for a.
    assert result.alerts.loc[result.alerts["service_id"] == "a", "rule"].tolist() == [0]
    with pytest.raises(ValueError, match="params lack the column 'service_type'"):
        analyze_error_budgets(
            metrics,
            params({"a": 5, "b": 5}),
            start=START,
            end=END,
            settings=BurnSettings(alert_rules_by_type={"batch": [batch_rule]}),
        )


def test_explicit_lookbacks_name_the_columns() -> None:
    result = analyze(EXAMPLE, {"a": 5}, lookbacks=["PT12H", "T/30", timedelta(hours=12)])
    assert result.lookbacks == (pd.Timedelta(hours=12), pd.Timedelta(days=1))
    assert [column for column in result.services if column.startswith("burn_rate_")] == [
        "burn_rate_12h",
        "burn_rate_1d",
    ]
    assert burn_rate_column(pd.Timedelta(minutes=5)) == "burn_rate_5m"


def test_budgets_above_fifty_are_scored() -> None:
    result = analyze([("a", at(1), 100)], {"a": 500})
    assert result.services.loc["a", "budget_consumed"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="error_budget of 'a' is 0"):
        analyze([("a", at(1), 1)], {"a": 0})


def test_inputs_are_not_modified() -> None:
    metrics = metrics_frame(EXAMPLE, ["a", "b", "zz"])
    before = metrics.copy()
    analyze_error_budgets(metrics, params({"a": 5, "b": 3}), start=START, end=END)
    pd.testing.assert_frame_equal(metrics, before)


def test_unsorted_rows_give_the_same_figures() -> None:
    metrics = metrics_frame(EXAMPLE, ["a", "b", "zz"])
    shuffled = metrics.sample(frac=1, random_state=7).reset_index(drop=True)
    left = analyze_error_budgets(metrics, params({"a": 5, "b": 3}), start=START, end=END)
    right = analyze_error_budgets(shuffled, params({"a": 5, "b": 3}), start=START, end=END)
    pd.testing.assert_frame_equal(left.services, right.services)
    pd.testing.assert_frame_equal(left.alerts, right.alerts)


# --- lookbacks and rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "length", "lookback"),
    [
        ("T/720", pd.Timedelta(days=30), pd.Timedelta(hours=1)),
        ("T/8640", pd.Timedelta(days=7), pd.Timedelta(seconds=70)),
        # 23 h / 8640 = 9.5833... s, rounded to the nanosecond.
        ("T/8640", pd.Timedelta(hours=23), pd.Timedelta(9_583_333_333, unit="ns")),
        ("T/2.5", pd.Timedelta(days=1), pd.Timedelta(hours=9.6)),
        ("PT1H", pd.Timedelta(days=7), pd.Timedelta(hours=1)),
        (timedelta(hours=2), pd.Timedelta(days=1), pd.Timedelta(hours=2)),
    ],
)
def test_lookbacks_resolve_against_the_window(
    spec: str | timedelta, length: pd.Timedelta, lookback: pd.Timedelta
) -> None:
    assert resolve_lookback(spec, length) == lookback


@pytest.mark.parametrize("spec", ["T/0", "T/-3", "1h", "PT0S", "P", "T/", 5])
def test_bad_lookbacks_are_refused(spec: object) -> None:
    document = {"long": spec, "short": "T/8640", "threshold": 14.4, "severity": "page"}
    with pytest.raises(ConfigError, match=r"long: .* is not a (positive )?lookback"):
        validate_model(BurnAlertRule, document)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("threshold", 0, "threshold: 0 is not a positive number"),
        ("threshold", float("inf"), "threshold: inf is not a positive number"),
        ("severity", "email", 'severity: "email" is not allowed'),
    ],
)
def test_bad_alert_rules_are_refused(field: str, value: object, message: str) -> None:
    document = {"long": "T/720", "short": "T/8640", "threshold": 14.4, "severity": "page"}
    with pytest.raises(ConfigError, match=message):
        validate_model(BurnAlertRule, document | {field: value})


def test_the_default_rules_are_the_workbook_set_scaled_to_the_window() -> None:
    resolved = [
        (resolve_lookback(rule.long, END - START), resolve_lookback(rule.short, END - START))
        for rule in DEFAULT_BURN_ALERTS
    ]
    assert resolved == [
        (pd.Timedelta(hours=1), pd.Timedelta(minutes=5)),
        (pd.Timedelta(hours=6), pd.Timedelta(minutes=30)),
        (pd.Timedelta(days=1), pd.Timedelta(hours=2)),
        (pd.Timedelta(days=3), pd.Timedelta(hours=6)),
    ]
    assert [(rule.threshold, rule.severity) for rule in DEFAULT_BURN_ALERTS] == [
        (14.4, "page"),
        (6, "page"),
        (3, "ticket"),
        (1, "ticket"),
    ]


def test_lookback_start_is_the_window_start_minus_the_longest_lookback() -> None:
    assert lookback_start(START, END) == START - pd.Timedelta(days=3)
    assert lookback_start(START, END, BurnSettings(lookbacks=["P5D"])) == START - pd.Timedelta(
        days=5
    )
    by_type = BurnSettings(
        alert_rules_by_type={
            "batch": [BurnAlertRule(long="T/5", short="T/60", threshold=1, severity="ticket")]
        }
    )
    assert lookback_start(START, END, by_type) == START - pd.Timedelta(days=6)
    assert lookback_start(START, START + pd.Timedelta(days=7)) == START - pd.Timedelta(hours=16.8)


def test_series_instants_end_at_the_window_end() -> None:
    instants = series_instants(START, START + pd.Timedelta(hours=1), points=4)
    assert instants.tolist() == [at(0.25), at(0.5), at(0.75), at(1)]
    with pytest.raises(ValueError, match="points must be at least 1"):
        series_instants(START, END, points=0)


# --- budgets from objectives ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("objective", "checks", "budget"),
    [
        (0.995, 2400, 12),
        (0.9, 20, 2),  # floor(0.1 x 20) = 2 exactly (in binary floating point it is 1.99...)
        (0.9, 9, 1),  # floor(0.9) = 0, raised to 1
        (0.99, 0, 1),
        (0.999, 100_000, 100),  # above the 50 a count may give
        (0.5, 7, 3),
    ],
)
def test_objective_budgets(objective: float, checks: int, budget: int) -> None:
    assert objective_budget(objective, [checks]).tolist() == [budget]


def test_budgets_resolve_from_the_most_specific_setting() -> None:
    services = pd.DataFrame(
        {"service_type": ["database", "database", "web", "mail", "web"]},
        index=pd.Index(["s1", "s2", "s3", "s4", "s5"], name="service_id"),
    )
    policy = BudgetPolicy(
        default_error_budget=5,
        error_budget_by_service_type={"database": 3},
        objective_by_service_type={"web": 0.99},
        service_error_budgets={"s2": 7},
        service_objectives={"s5": 0.95},
    )
    resolved = resolve_error_budgets(services, [100, 100, 250, 10, 40], policy)
    assert resolved["error_budget"].tolist() == [3, 7, 2, 5, 2]
    assert resolved["budget_origin"].tolist() == ["type", "override", "type", "default", "override"]
    assert resolved["budget_basis"].tolist() == [
        "count",
        "count",
        "objective",
        "count",
        "objective",
    ]
    assert resolved["objective"].tolist()[2:] == [0.99, pytest.approx(np.nan, nan_ok=True), 0.95]
    assert resolved["checks"].tolist() == [100, 100, 250, 10, 40]
    with pytest.raises(ValueError, match=r"checks must hold one count per service \(5\)"):
        resolve_error_budgets(services, [1, 2], policy)


def test_an_objective_budget_above_fifty_is_scored() -> None:
    services = pd.DataFrame({"service_type": ["web"]}, index=pd.Index(["a"], name="service_id"))
    policy = BudgetPolicy(default_error_budget=5, objective_by_service_type={"web": 0.99})
    budgets = resolve_error_budgets(services, [10_000], policy)
    assert budgets.loc["a", "error_budget"] == 100
    metrics = metrics_frame([("a", at(1), 150)], ["a"])
    result = score_availability(metrics, budgets.assign(weight=1), start=START, end=END)
    assert result.services.loc["a", "final_score"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {
                "default_error_budget": 5,
                "service_error_budgets": {"a": 3},
                "service_objectives": {"a": 0.99},
            },
            "service_objectives: 'a' also have a count in service_error_budgets; give one or the other",
        ),
        (
            {
                "default_error_budget": 5,
                "error_budget_by_service_type": {"web": 3},
                "objective_by_service_type": {"web": 0.9},
            },
            "objective_by_service_type: 'web' also have a count in error_budget_by_service_type",
        ),
        (
            {"default_error_budget": 5, "service_objectives": {"a": 1.0}},
            "service_objectives.a: 1 is not an objective",
        ),
        (
            {"default_error_budget": 5, "service_objectives": {"a": 0}},
            "service_objectives.a: 0 is not an objective",
        ),
        (
            {"default_error_budget": 51},
            "default_error_budget: 51 is out of range (allowed 1 to 50)",
        ),
    ],
)
def test_bad_budget_policies_are_refused(document: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_model(BudgetPolicy, document)
    assert message in str(raised.value)


def test_burn_settings_round_trip_through_json_and_name_bad_fields() -> None:
    settings = BurnSettings(
        lookbacks=["T/720", timedelta(hours=6)],
        alert_rules_by_type={
            "batch": [{"long": "PT12H", "short": "PT1H", "threshold": 2, "severity": "ticket"}]
        },
        forecast_lookback="P1D",
    )
    assert BurnSettings.model_validate_json(settings.model_dump_json()) == settings
    assert settings.shown_lookbacks(END - START) == (pd.Timedelta(hours=1), pd.Timedelta(hours=6))
    with pytest.raises(ConfigError, match=r"alert_rules_by_type\.batch\.0\.threshold: -1 is not"):
        validate_model(
            BurnSettings,
            {
                "alert_rules_by_type": {
                    "batch": [
                        {"long": "T/10", "short": "T/120", "threshold": -1, "severity": "page"}
                    ]
                }
            },
        )
    with pytest.raises(ConfigError, match="forecast_lookback: 'T/x' is not a positive lookback"):
        validate_model(BurnSettings, {"forecast_lookback": "T/x"})


def test_without_alert_rules_there_are_no_alerts() -> None:
    result = analyze(EXAMPLE, {"a": 5}, alert_rules=[], lookbacks=["PT1H"])
    assert result.alerts.empty
    assert list(result.alerts.columns) == [
        "service_id",
        "rule",
        "severity",
        "long",
        "short",
        "threshold",
        "start",
        "end",
        "ongoing",
    ]
    assert result.services.loc["a", "page_alerts"] == 0
