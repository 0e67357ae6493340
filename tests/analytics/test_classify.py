"""Status classification: exact boundaries, threshold configuration, names and categoricals."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.availability import availability_score
from analytics.classify import (
    DEFAULT_AVAILABILITY_THRESHOLDS,
    DEFAULT_RESILIENCE_THRESHOLDS,
    MISSING_CODE,
    AvailabilityThresholds,
    ResilienceThresholds,
    availability_status,
    classify_availability,
    classify_resilience,
    resilience_status,
    status_categorical,
    status_names,
)
from analytics.results import AVAILABILITY_STATUSES, NO_DATA, RESILIENCE_STATUSES

DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "configs" / "defaults.json"


def exact_availability_status(
    failures: int, budget: int, critical_below: Fraction, good_above: Fraction
) -> str:
    """The status decided on rationals, following the specification's three branches."""
    if failures == 0:
        score = Fraction(1)
    elif failures <= budget:
        score = 1 - Fraction(failures, budget) / 2
    else:
        score = max(Fraction(0), Fraction(1, 2) - Fraction(failures - budget, budget) / 2)
    if score < critical_below:
        return "CRITICAL"
    return "ATTENZIONE" if score <= good_above else "GOOD"


@pytest.mark.parametrize(
    ("critical_below", "good_above"),
    [("0.5", "0.8"), ("0.4", "0.9"), ("0.45", "0.75"), ("0.6", "0.95"), ("0.3", "0.7")],
)
def test_availability_status_of_every_budget_and_failure_count_matches_rationals(
    critical_below: str, good_above: str
) -> None:
    thresholds = AvailabilityThresholds(float(critical_below), float(good_above))
    budgets, failures = np.meshgrid(np.arange(1, 51), np.arange(0, 151), indexing="ij")
    codes = classify_availability(availability_score(failures, budgets), thresholds)
    exact = np.array(
        [
            [
                AVAILABILITY_STATUSES.index(
                    exact_availability_status(
                        int(p_f), int(e_b), Fraction(critical_below), Fraction(good_above)
                    )
                )
                for p_f, e_b in zip(row_failures, row_budgets, strict=True)
            ]
            for row_failures, row_budgets in zip(failures, budgets, strict=True)
        ]
    )
    mismatches = np.argwhere(codes != exact)
    assert not len(mismatches), [(budgets[i, j], failures[i, j]) for i, j in mismatches[:5]]


def test_resilience_status_on_rational_scores_matches_exact_comparison() -> None:
    """Scores w_RPO x (1 - a / T) + w_Success x r / n, classified from floats, against integer
    arithmetic on the same rationals scaled by a common denominator (exact)."""
    thresholds_hundredths = (90, 75, 60, 40)  # excellent_above, good_from, acceptable, critical
    mismatches = 0
    cases = 0
    for rpo_tenths in (6, 5, 7, 8, 3, 10, 0):
        runs = np.arange(1, 41)[:, None, None]
        successes = np.arange(0, 41)[None, :, None]
        for target in (1, 2, 3, 4, 6, 8, 12, 24, 48):
            age = np.arange(0, target + 1)[None, None, :]
            valid = np.broadcast_to(successes <= runs, (40, 41, target + 1))
            w_rpo, w_success = rpo_tenths / 10, (10 - rpo_tenths) / 10
            floats = w_rpo * np.maximum(0.0, 1 - age / target) + w_success * (successes / runs)
            codes = classify_resilience(floats)
            # score x 10 x T x n as an integer, compared with threshold/100 x 10 x T x n.
            scaled = rpo_tenths * (target - age) * runs + (10 - rpo_tenths) * successes * target
            denominator = 10 * target * runs
            above = [scaled * 100 > bound * denominator for bound in thresholds_hundredths[:1]]
            at_least = [scaled * 100 >= bound * denominator for bound in thresholds_hundredths[1:]]
            exact = np.select([above[0], at_least[0], at_least[1], at_least[2]], [0, 1, 2, 3], 4)
            mismatches += int(np.count_nonzero((codes != exact) & valid))
            cases += int(np.count_nonzero(valid))
    assert cases > 100_000
    assert mismatches == 0


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (1.0, "GOOD"),
        (0.8000001, "GOOD"),
        (0.8, "ATTENZIONE"),
        (1 - (2 / 5) * 0.5, "ATTENZIONE"),  # P_f = 2, E_b = 5 as the engine computes it
        (0.8 + 1e-13, "ATTENZIONE"),  # within the tolerance: on the boundary
        (0.65, "ATTENZIONE"),
        (0.5, "ATTENZIONE"),
        (0.5 - 1e-13, "ATTENZIONE"),
        (0.4999999, "CRITICAL"),
        (0.0, "CRITICAL"),
        (float("nan"), NO_DATA),
    ],
)
def test_availability_status_boundaries(score: float, expected: str) -> None:
    assert availability_status(score) == expected


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (1.0, "EXCELLENT"),
        (0.9000001, "EXCELLENT"),
        (0.9, "GOOD"),
        (0.6 + 0.4 * 0.75, "GOOD"),  # evaluates to 0.8999999999999999
        (0.75, "GOOD"),
        (0.7499999999999999, "GOOD"),  # a rounding step below 0.75
        (0.7499999, "ACCEPTABLE"),
        (0.6 * 0.5 + 0.4 * 0.75, "ACCEPTABLE"),  # evaluates to 0.6000000000000001
        (0.6, "ACCEPTABLE"),
        (0.5999999, "CRITICAL"),
        (0.4, "CRITICAL"),
        (0.3999999, "SEVERE"),
        (0.0, "SEVERE"),
        (float("nan"), NO_DATA),
    ],
)
def test_resilience_status_boundaries(score: float, expected: str) -> None:
    assert resilience_status(score) == expected


def test_classifiers_return_int8_codes_with_missing_for_nan() -> None:
    availability = classify_availability([0.9, 0.6, 0.1, np.nan])
    resilience = classify_resilience([0.95, 0.8, 0.65, 0.5, 0.1, np.nan])
    assert availability.dtype == np.int8
    assert resilience.dtype == np.int8
    assert availability.tolist() == [0, 1, 2, MISSING_CODE]
    assert resilience.tolist() == [0, 1, 2, 3, 4, MISSING_CODE]


def test_custom_thresholds_move_the_boundaries() -> None:
    strict = AvailabilityThresholds(critical_below=0.7, good_above=0.95)
    assert availability_status(0.9, strict) == "ATTENZIONE"
    assert availability_status(0.6, strict) == "CRITICAL"
    lenient = ResilienceThresholds(
        excellent_above=0.8, good_from=0.6, acceptable_from=0.4, critical_from=0.2
    )
    assert resilience_status(0.85, lenient) == "EXCELLENT"
    assert resilience_status(0.3, lenient) == "CRITICAL"
    assert resilience_status(0.1, lenient) == "SEVERE"


def test_status_names_and_categorical() -> None:
    codes = np.array([2, 0, MISSING_CODE, 1], dtype=np.int8)
    assert status_names(codes, AVAILABILITY_STATUSES).tolist() == [
        "CRITICAL",
        "GOOD",
        NO_DATA,
        "ATTENZIONE",
    ]
    categorical = status_categorical(codes, AVAILABILITY_STATUSES)
    assert list(categorical.categories) == list(AVAILABILITY_STATUSES)
    assert categorical.tolist()[:2] == ["CRITICAL", "GOOD"]
    assert pd.isna(categorical[2])
    assert status_names(np.array([4, 0]), RESILIENCE_STATUSES).tolist() == ["SEVERE", "EXCELLENT"]


def test_default_thresholds_match_the_configuration_file() -> None:
    defaults = json.loads(DEFAULTS_FILE.read_text())
    assert (
        AvailabilityThresholds.from_mapping(defaults["availability"]["status_thresholds"])
        == DEFAULT_AVAILABILITY_THRESHOLDS
    )
    assert (
        ResilienceThresholds.from_mapping(defaults["resilience"]["status_thresholds"])
        == DEFAULT_RESILIENCE_THRESHOLDS
    )


def test_from_mapping_keeps_defaults_for_missing_keys() -> None:
    assert AvailabilityThresholds.from_mapping({"good_above": 0.9}) == AvailabilityThresholds(
        critical_below=0.5, good_above=0.9
    )
    assert ResilienceThresholds.from_mapping({"critical_from": 0.3}).good_from == 0.75


@pytest.mark.parametrize(
    ("cls", "mapping", "message"),
    [
        (AvailabilityThresholds, {"good_above": 0.8, "warning_below": 0.6}, "warning_below"),
        (AvailabilityThresholds, {"good_above": "0.8"}, "must be a number"),
        (AvailabilityThresholds, {"good_above": True}, "must be a number"),
        (AvailabilityThresholds, {"good_above": 1.2}, "outside [0, 1]"),
        (AvailabilityThresholds, {"critical_below": -0.1}, "outside [0, 1]"),
        (AvailabilityThresholds, {"critical_below": 0.9, "good_above": 0.8}, "out of order"),
        (ResilienceThresholds, {"excellent": 0.9}, "unknown status threshold"),
        (ResilienceThresholds, {"good_from": 0.95}, "out of order"),
        (ResilienceThresholds, {"critical_from": 0.65}, "out of order"),
        (ResilienceThresholds, {"acceptable_from": float("nan")}, "outside [0, 1]"),
    ],
)
def test_from_mapping_rejects_bad_thresholds(cls: type, mapping: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cls.from_mapping(mapping)
