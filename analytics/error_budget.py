"""Error budgets the SRE way: budget consumed and remaining, burn rates, multi-window burn alerts,
time to exhaustion, and budgets given as objectives.

Definitions (issue 11), for a service with error budget ``E_b`` (failures allowed in the
analysis window), window ``[start, end)`` of length ``T``, and ``F(a, b]`` = its failures with
timestamp in ``(a, b]``; ``P_f(t)`` = its failures with ``start <= timestamp <= t`` (0 before
the window):

* **Budget consumed** at t: ``P_f(t) / E_b`` (may exceed 100 %). **Budget remaining**:
  ``max(0, E_b - P_f(t)) / E_b``.
* **Burn rate** over lookback L ending at t: ``B_L(t) = F(t - L, t] / (E_b x L / T)``. 1 means
  "on course to spend exactly the budget by the end of the window". Lookbacks may reach before
  the window start: the metrics passed in should start at :func:`lookback_start` (the window
  start minus the longest lookback); the score itself still uses only the window.
* **Multi-window burn alerts**: a list of (long, short, threshold, severity). The default,
  :data:`DEFAULT_BURN_ALERTS`, is the SRE workbook's 30-day set scaled by T / 30 days:
  (T/720, T/8640, 14.4, page), (T/120, T/1440, 6, page), (T/30, T/360, 3, ticket),
  (T/10, T/120, 1, ticket), i.e. 1 h/5 m, 6 h/30 m, 1 d/2 h, 3 d/6 h for a 30-day window. A
  condition holds at t when ``B_long(t) >= threshold`` and ``B_short(t) >= threshold``.
* **Time to exhaustion** at t: ``r = E_b - P_f(t)``. If ``r <= 0`` the budget is exhausted,
  at the timestamp of the failure that used the last unit. Else, with the failure rate over
  the forecast lookback L (default T/10), ``lambda = F(t - L, t] / L``: exhaustion at
  ``t + r / lambda`` when ``lambda > 0``, none when ``lambda = 0``; flagged when it falls
  before the window's end.
* **Budgets as objectives**: with an objective (e.g. 0.995 of checks succeed),
  ``E_b = max(1, floor((1 - objective) x N))``, N = the service's checks in the window after
  exclusions (:func:`objective_budget`, :func:`resolve_error_budgets`).

Lookbacks are written ``T/<divisor>`` (a fraction of the window, e.g. ``T/720``) or as an
ISO 8601 duration (``PT1H``); a fraction is rounded to the nearest nanosecond.

Evaluation choices:

* Per-service figures "at the end" are evaluated at ``t = end``: every failure of the window
  (timestamps are before ``end``) is counted, and the lookbacks end with the window.
* Alert intervals are exact in continuous time. ``B_L`` is a step function of t, continuous
  from the right, that changes only where a failure enters the lookback (at its timestamp
  ``t_f``) or leaves it (at ``t_f + L``). A rule's condition therefore changes only at the
  instants ``t_f``, ``t_f + long`` and ``t_f + short``; the engine evaluates it at exactly
  those instants (and at the window start) and reports each maximal interval ``[start, end)``
  during which it held, clipped to the window, with ``ongoing`` when it still held at the end.
  Evaluating at the service's check instants would depend on the check frequency and miss a
  condition that ends between two checks; a grid would round every start and end to its step.
  Both would also cost time per check or per grid point, where this costs time per failure.
  Burn rates are compared with the threshold allowing for one rounding error
  (:data:`analytics.classify.BOUNDARY_TOLERANCE`, relative), so that 1 failure against a
  budget of 50 over T/720 is exactly 14.4.
* Everything counts failures with one index of the failure events (rows with failures > 0,
  usually a small fraction of the rows), sorted by (service, time), and their cumulative sums:
  ``F(a, b]`` is a difference of two ``searchsorted`` lookups (see
  :mod:`analytics.segments`). No loop over rows, services or instants; only over the few
  lookbacks and alert rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from analytics.availability import (
    MAX_ENGINE_ERROR_BUDGET,
    MIN_ERROR_BUDGET,
    category_positions,
    parameter_column,
    timestamp_nanoseconds,
    utc_datetime_array,
)
from analytics.classify import BOUNDARY_TOLERANCE
from analytics.config import ErrorBudget, StrictModel
from analytics.segments import OwnerTimes, owner_time_order
from analytics.windows import duration_label, window_bounds

Severity = Literal["page", "ticket"]
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")  # most severe first
BUDGET_ORIGINS = ("override", "type", "default")
BUDGET_BASES = ("count", "objective")
DEFAULT_SERIES_POINTS = 500
NS_PER_HOUR = 3_600_000_000_000
_NAT = np.iinfo(np.int64).min
_FRACTION_OF_WINDOW = re.compile(r"T/([0-9]+(?:\.[0-9]+)?)")


# --- lookbacks and alert rules -----------------------------------------------------------


def _lookback_text(value: Any) -> str:
    """A lookback as text: ``T/<divisor>`` or an ISO 8601 duration; a timedelta is accepted."""
    if isinstance(value, timedelta | pd.Timedelta):
        value = pd.Timedelta(value).isoformat()
    if not isinstance(value, str):
        raise PydanticCustomError(
            "lookback", "{value} is not a lookback (e.g. T/720 or PT1H)", {"value": repr(value)}
        )
    text = value.strip()
    fraction = _FRACTION_OF_WINDOW.fullmatch(text)
    if fraction:
        valid = Fraction(fraction[1]) > 0
    else:
        try:
            valid = text.startswith("P") and pd.Timedelta(text) > pd.Timedelta(0)
        except ValueError:
            valid = False
    if not valid:
        raise PydanticCustomError(
            "lookback",
            "{value} is not a positive lookback: T/<divisor> (a fraction of the window, "
            "e.g. T/720) or an ISO 8601 duration (e.g. PT1H)",
            {"value": repr(value)},
        )
    return text


LookbackSpec = Annotated[str, BeforeValidator(_lookback_text)]


def resolve_lookback(spec: str | timedelta, length: pd.Timedelta) -> pd.Timedelta:
    """The lookback ``spec`` for a window of ``length``: ``T/720`` of 30 days is one hour."""
    text = _lookback_text(spec)
    fraction = _FRACTION_OF_WINDOW.fullmatch(text)
    if fraction:
        nanoseconds = round(
            Fraction(pd.Timedelta(length).as_unit("ns").value) / Fraction(fraction[1])
        )
        if nanoseconds <= 0:
            raise ValueError(f"lookback {text} of a {duration_label(length)} window is empty")
        return pd.Timedelta(nanoseconds, unit="ns")
    return pd.Timedelta(text).as_unit("ns")


def _positive_finite(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise PydanticCustomError(
            "positive", "{value} is not a positive number", {"value": f"{value:g}"}
        )
    return value


class BurnAlertRule(StrictModel):
    """Alert while ``B_long(t) >= threshold`` and ``B_short(t) >= threshold``."""

    long: LookbackSpec
    short: LookbackSpec
    threshold: Annotated[float, AfterValidator(_positive_finite)]
    severity: Severity


DEFAULT_BURN_ALERTS: tuple[BurnAlertRule, ...] = (
    BurnAlertRule(long="T/720", short="T/8640", threshold=14.4, severity="page"),
    BurnAlertRule(long="T/120", short="T/1440", threshold=6, severity="page"),
    BurnAlertRule(long="T/30", short="T/360", threshold=3, severity="ticket"),
    BurnAlertRule(long="T/10", short="T/120", threshold=1, severity="ticket"),
)
DEFAULT_FORECAST_LOOKBACK = "T/10"


def rule_lookbacks(rules: Sequence[BurnAlertRule]) -> tuple[str, ...]:
    """The distinct lookbacks of ``rules`` (long and short), in order of appearance."""
    return tuple(dict.fromkeys(spec for rule in rules for spec in (rule.long, rule.short)))


def _resolved_lookbacks(
    specs: Sequence[str | timedelta], length: pd.Timedelta
) -> tuple[pd.Timedelta, ...]:
    """Distinct resolved lookbacks, shortest first."""
    return tuple(sorted({resolve_lookback(spec, length) for spec in specs}))


class BurnSettings(StrictModel):
    """How budgets are watched; saved with a configuration (per-type rules in ``configs/``).

    lookbacks: the burn rates shown per service; default: those of ``alert_rules``.
    alert_rules: the rules of every service whose type has none in ``alert_rules_by_type``.
    alert_rules_by_type: rules per service type, replacing ``alert_rules`` for it.
    forecast_lookback: the lookback of the failure rate lambda (time to exhaustion).
    """

    lookbacks: tuple[LookbackSpec, ...] | None = None
    alert_rules: tuple[BurnAlertRule, ...] = DEFAULT_BURN_ALERTS
    alert_rules_by_type: dict[str, tuple[BurnAlertRule, ...]] = Field(default_factory=dict)
    forecast_lookback: LookbackSpec = DEFAULT_FORECAST_LOOKBACK

    def shown_lookbacks(self, length: pd.Timedelta) -> tuple[pd.Timedelta, ...]:
        """The burn-rate lookbacks of a window of ``length``, shortest first."""
        specs = rule_lookbacks(self.alert_rules) if self.lookbacks is None else self.lookbacks
        return _resolved_lookbacks(specs, length)

    def longest_lookback(self, length: pd.Timedelta) -> pd.Timedelta:
        """The longest lookback any figure of a window of ``length`` needs."""
        specs = [*(self.lookbacks or ()), *rule_lookbacks(self.alert_rules), self.forecast_lookback]
        for rules in self.alert_rules_by_type.values():
            specs.extend(rule_lookbacks(rules))
        return max(_resolved_lookbacks(specs, length))


DEFAULT_BURN_SETTINGS = BurnSettings()


def lookback_start(
    start: pd.Timestamp, end: pd.Timestamp, settings: BurnSettings = DEFAULT_BURN_SETTINGS
) -> pd.Timestamp:
    """Where the metrics must start for :func:`analyze_error_budgets` with these settings:
    the window start minus the longest lookback."""
    start_ts, end_ts = window_bounds(start, end)
    return start_ts - settings.longest_lookback(end_ts - start_ts)


# --- budgets from objectives -------------------------------------------------------------


def _objective(value: float) -> float:
    if isinstance(value, bool) or not (0 < value < 1):
        raise PydanticCustomError(
            "objective",
            "{value} is not an objective: a fraction of checks that succeed, between 0 and 1 "
            "exclusive (e.g. 0.995)",
            {"value": f"{value:g}"},
        )
    return value


Objective = Annotated[float, AfterValidator(_objective)]


def objective_budget(objective: float, checks: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``E_b = max(1, floor((1 - objective) x N))`` per check count N, exactly.

    The objective is read as the decimal it is written as (0.995 is 199/200, not the nearest
    binary fraction), so 0.9 of 20 checks gives 2, where floating point gives 1.
    """
    allowed = 1 - Fraction(str(_objective(objective)))
    counts = np.asarray(checks, dtype=np.int64)
    exact = (counts.astype(object) * allowed.numerator) // allowed.denominator
    return np.maximum(exact.astype(np.int64), MIN_ERROR_BUDGET)


class BudgetPolicy(StrictModel):
    """Where each service's error budget comes from, most specific first: the service's own
    count or objective, then its type's count or objective, then the default count. Counts are
    failed checks per window (1..50); objectives are fractions of checks that succeed."""

    default_error_budget: ErrorBudget
    error_budget_by_service_type: dict[str, ErrorBudget] = Field(default_factory=dict)
    objective_by_service_type: dict[str, Objective] = Field(default_factory=dict)
    service_error_budgets: dict[str, ErrorBudget] = Field(default_factory=dict)
    service_objectives: dict[str, Objective] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_budget_each(self) -> BudgetPolicy:
        for counts, objectives in (
            ("error_budget_by_service_type", "objective_by_service_type"),
            ("service_error_budgets", "service_objectives"),
        ):
            both = sorted(set(getattr(self, counts)) & set(getattr(self, objectives)))
            if both:
                raise PydanticCustomError(
                    "budget_twice",
                    "{objectives}: {ids} also have a count in {counts}; give one or the other",
                    {"objectives": objectives, "ids": ", ".join(map(repr, both)), "counts": counts},
                )
        return self


def resolve_error_budgets(
    services: pd.DataFrame, checks: npt.ArrayLike, policy: BudgetPolicy
) -> pd.DataFrame:
    """Each service's E_b for the window and where it came from.

    services: indexed by ``service_id`` with a ``service_type`` column.
    checks: per service (same order), its checks in the window after exclusions (see
        :func:`analytics.completeness.count_checks`); used by objectives only.

    Returns, indexed like ``services``: ``error_budget`` (int, failed checks per window),
    ``budget_origin`` (``override``: the service's own; ``type``: its type's; ``default``),
    ``budget_basis`` (``count`` or ``objective``), ``objective`` (float, NaN for counts) and
    ``checks`` (int, N).
    """
    ids = services.index
    types = services["service_type"]
    counts = np.asarray(checks, dtype=np.int64)
    if counts.shape != (len(ids),):
        raise ValueError(f"checks must hold one count per service ({len(ids)}), got {counts.shape}")
    levels = (
        ("override", ids, policy.service_error_budgets, policy.service_objectives),
        ("type", types, policy.error_budget_by_service_type, policy.objective_by_service_type),
    )
    budget = np.full(len(ids), policy.default_error_budget, dtype=np.int64)
    origin = np.full(len(ids), "default", dtype=object)
    basis = np.full(len(ids), "count", dtype=object)
    objective = np.full(len(ids), np.nan)
    decided = np.zeros(len(ids), dtype=bool)
    for level, keys, level_counts, level_objectives in levels:
        count = pd.Series(keys, dtype=object).map(level_counts).to_numpy(dtype=np.float64)
        target = pd.Series(keys, dtype=object).map(level_objectives).to_numpy(dtype=np.float64)
        by_count = ~decided & ~np.isnan(count)
        by_objective = ~decided & ~np.isnan(target)
        budget[by_count] = count[by_count]
        for value in np.unique(target[by_objective]):
            chosen = by_objective & (target == value)
            budget[chosen] = objective_budget(float(value), counts[chosen])
        objective[by_objective] = target[by_objective]
        origin[by_count | by_objective] = level
        basis[by_objective] = "objective"
        decided |= by_count | by_objective
    return pd.DataFrame(
        {
            "error_budget": budget,
            "budget_origin": origin,
            "budget_basis": basis,
            "objective": objective,
            "checks": counts,
        },
        index=pd.Index(ids, name="service_id"),
    )


# --- the failure events --------------------------------------------------------------------


@dataclass(frozen=True)
class _FailureEvents:
    """Failure rows of the selected services, indexed per service, with cumulative counts."""

    index: OwnerTimes
    cumulative: npt.NDArray[np.int64]  # cumulative[i]: failures of the first i sorted events
    budgets: npt.NDArray[np.int64]
    start_ns: int
    end_ns: int

    @classmethod
    def build(
        cls,
        metrics: pd.DataFrame,
        params: pd.DataFrame,
        budgets: npt.NDArray[np.int64],
        start_ns: int,
        end_ns: int,
    ) -> _FailureEvents:
        failures = metrics["failures"].to_numpy()
        if failures.dtype.kind not in "iub":
            raise ValueError(f"failures must hold integers, got dtype {failures.dtype}")
        rows = np.flatnonzero(failures)
        counts = failures[rows].astype(np.int64)
        if len(counts) and counts.min() < 0:
            raise ValueError("failures must not be negative")
        codes, position_of_code = category_positions(metrics["service_id"], params.index)
        positions = position_of_code.take(codes[rows])
        times = timestamp_nanoseconds(metrics["timestamp"], "timestamp")[rows]
        keep = (positions >= 0) & (times != _NAT) & (times < end_ns)
        index = OwnerTimes.build(positions[keep], times[keep], len(params))
        cumulative = np.concatenate(([0], np.cumsum(counts[keep][index.order])))
        return cls(index, cumulative, budgets, start_ns, end_ns)

    def counted(
        self, owners: npt.NDArray[np.int64], instants: npt.NDArray[np.int64], *, inclusive: bool
    ) -> npt.NDArray[np.int64]:
        """Cumulative failures over all events up to each owner's events at or before (or
        strictly before) the instant: differences of two such counts are failure counts."""
        found = self.index.count_upto(owners, instants, inclusive=inclusive)
        return self.cumulative[self.index.bounds[owners] + found]

    def burn_rate(
        self,
        now: npt.NDArray[np.int64],
        owners: npt.NDArray[np.int64],
        instants: npt.NDArray[np.int64],
        lookback_ns: int,
    ) -> npt.NDArray[np.float64]:
        """``B_L(t) = F(t - L, t] / (E_b x L / T)``, given ``now``, the counts at t."""
        return (
            self.failures_since(now, owners, instants - lookback_ns)
            * ((self.end_ns - self.start_ns) / lookback_ns)
            / self.budgets[owners]
        )

    def failures_since(
        self,
        now: npt.NDArray[np.int64],
        owners: npt.NDArray[np.int64],
        since: npt.NDArray[np.int64],
    ) -> npt.NDArray[np.int64]:
        """``F(since, t]`` given ``now``, the counts at t (:meth:`counted`, inclusive)."""
        return now - self.counted(owners, since, inclusive=True)

    def figures(
        self,
        owners: npt.NDArray[np.int64],
        instants: npt.NDArray[np.int64],
        lookbacks: Sequence[pd.Timedelta],
        forecast_lookback: pd.Timedelta,
    ) -> dict[str, Any]:
        """Budget, burn-rate and exhaustion figures per (owner, instant) query."""
        before_window = self.counted(owners, np.full_like(instants, self.start_ns), inclusive=False)
        now = self.counted(owners, instants, inclusive=True)
        spent = np.maximum(now - before_window, 0)
        budgets = self.budgets[owners]
        columns: dict[str, Any] = {
            "window_failures": spent,
            "budget_consumed": spent / budgets,
            "budget_remaining": np.maximum(budgets - spent, 0) / budgets,
        }
        for lookback in lookbacks:
            columns[burn_rate_column(lookback)] = self.burn_rate(
                now, owners, instants, lookback.value
            )

        remaining = budgets - spent
        exhausted = remaining <= 0
        exhaustion_at = np.full(len(owners), _NAT, dtype=np.int64)
        if exhausted.any():
            # The failure that used the last unit: the first event whose cumulative count
            # reaches the budget (the cumulative counts grow along each owner's events).
            last_unit = np.searchsorted(self.cumulative, before_window + budgets, side="left") - 1
            exhaustion_at[exhausted] = self.index.times[last_unit[exhausted]]
        recent = self.failures_since(now, owners, instants - forecast_lookback.value)
        wait_ns = np.where(exhausted, 0.0, np.inf)
        burning = ~exhausted & (recent > 0)
        wait_ns[burning] = remaining[burning] * forecast_lookback.value / recent[burning]
        representable = burning & (wait_ns < np.iinfo(np.int64).max - instants.astype(np.float64))
        exhaustion_at[representable] = instants[representable] + np.rint(
            wait_ns[representable]
        ).astype(np.int64)
        columns.update(
            {
                "forecast_failures_per_hour": recent * (NS_PER_HOUR / forecast_lookback.value),
                "exhausted": exhausted,
                "exhaustion_at": utc_datetime_array(exhaustion_at),
                "hours_to_exhaustion": wait_ns / NS_PER_HOUR,
                "exhausts_in_window": exhausted | (representable & (exhaustion_at < self.end_ns)),
            }
        )
        return columns


def burn_rate_column(lookback: pd.Timedelta) -> str:
    """The column holding the burn rate over ``lookback``, e.g. ``burn_rate_1h``."""
    return f"burn_rate_{duration_label(lookback)}"


# --- alerts --------------------------------------------------------------------------------


def _alert_intervals(
    events: _FailureEvents,
    owners: npt.NDArray[np.int64],
    rule: BurnAlertRule,
    long: pd.Timedelta,
    short: pd.Timedelta,
) -> dict[str, npt.NDArray]:
    """The maximal intervals during which ``rule`` held, for the services ``owners``.

    Candidates are the instants where the condition may change (see the module docstring):
    the window start, every failure instant of these services and those instants plus each
    lookback, within the window. The condition is constant from one candidate to the next.
    """
    index = events.index
    chosen = np.zeros(len(events.budgets), dtype=bool)
    chosen[owners] = True
    failing = chosen[index.owners]
    event_owners, event_times = index.owners[failing], index.times[failing]
    services = np.unique(event_owners)
    candidate_owners = np.concatenate((services, np.tile(event_owners, 3)))
    candidate_times = np.concatenate(
        (
            np.full(len(services), events.start_ns, dtype=np.int64),
            event_times,
            event_times + long.value,
            event_times + short.value,
        )
    )
    inside = (candidate_times >= events.start_ns) & (candidate_times < events.end_ns)
    candidate_owners, candidate_times = candidate_owners[inside], candidate_times[inside]
    order = owner_time_order(candidate_owners, candidate_times)
    candidate_owners, candidate_times = candidate_owners[order], candidate_times[order]

    floor = rule.threshold * (1 - BOUNDARY_TOLERANCE)
    now = events.counted(candidate_owners, candidate_times, inclusive=True)
    holds = events.burn_rate(now, candidate_owners, candidate_times, long.value) >= floor
    holds &= events.burn_rate(now, candidate_owners, candidate_times, short.value) >= floor
    same_owner_next = np.zeros(len(holds), dtype=bool)
    same_owner_next[:-1] = candidate_owners[1:] == candidate_owners[:-1]
    # Holds here and at the next candidate of the same service: one interval goes on.
    continues = holds & same_owner_next & np.append(holds[1:], False)
    begins = holds & ~np.concatenate(([False], continues[:-1]))
    finishes = holds & ~continues
    next_times = np.append(candidate_times[1:], events.end_ns)
    ends = np.where(same_owner_next, next_times, events.end_ns)[finishes]
    return {
        "position": candidate_owners[begins],
        "start": candidate_times[begins],
        "end": ends,
        "ongoing": ends == events.end_ns,
    }


# --- the analysis --------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorBudgetResult:
    """Outcome of :func:`analyze_error_budgets`.

    services: per service of the parameters (same order), at the window end:
        ``error_budget`` (int), ``window_failures`` (int, P_f), ``budget_consumed`` and
        ``budget_remaining`` (fractions; consumed may exceed 1), one ``burn_rate_<lookback>``
        (float) per lookback of :attr:`lookbacks` (e.g. ``burn_rate_1h``), ``max_burn_rate``
        and ``max_burn_lookback`` (the fastest of them and its lookback, timedelta),
        ``forecast_failures_per_hour`` (lambda, per hour), ``exhausted`` (bool),
        ``exhaustion_at`` (UTC; when exhausted, the failure that used the last unit; else the
        forecast, NaT when none or past 2262), ``hours_to_exhaustion`` (0 when exhausted,
        inf when none), ``exhausts_in_window`` (bool: exhausted, or forecast before the end),
        ``page_alerts`` and ``ticket_alerts`` (int: alert intervals per severity) and
        ``alert_at_end`` (the most severe alert still holding at the end, ``""`` if none).
    alerts: one row per interval during which an alert condition held, sorted by service
        then start: ``service_id`` (category), ``rule`` (int, its position in the service's
        rule list), ``severity``, ``long``, ``short`` (timedelta), ``threshold`` (float),
        ``start``, ``end`` (UTC, within the window), ``ongoing`` (bool: held at the end).
    lookbacks: the lookbacks of the burn-rate columns, shortest first.
    forecast_lookback: the lookback of lambda.
    """

    services: pd.DataFrame
    alerts: pd.DataFrame
    lookbacks: tuple[pd.Timedelta, ...]
    forecast_lookback: pd.Timedelta
    _events: _FailureEvents = field(repr=False)
    _ids: pd.Index = field(repr=False)

    def series(self, instants: pd.DatetimeIndex | pd.DataFrame) -> pd.DataFrame:
        """The figures at given instants, for charts that replay with the timeline.

        instants: the same instants for every service (a DatetimeIndex; e.g.
            :func:`series_instants`), or a frame of ``service_id`` and ``timestamp`` rows.
        Returns one row per (service, instant), sorted by service then instant when given a
        DatetimeIndex, in the given order otherwise: ``service_id``, ``timestamp`` and the
        columns of :attr:`services` from ``window_failures`` to ``exhausts_in_window``
        (no max or alerts).
        """
        if isinstance(instants, pd.DatetimeIndex):
            times = timestamp_nanoseconds(pd.Series(instants), "instants")
            owners = np.repeat(np.arange(len(self._ids), dtype=np.int64), len(times))
            times = np.tile(times, len(self._ids))
        else:
            codes, position_of_code = category_positions(instants["service_id"], self._ids)
            owners = position_of_code.take(codes).astype(np.int64)
            if len(owners) and owners.min() < 0:
                raise ValueError("instants name services that are not analysed")
            times = timestamp_nanoseconds(instants["timestamp"], "timestamp")
        figures = self._events.figures(owners, times, self.lookbacks, self.forecast_lookback)
        return pd.DataFrame(
            {
                "service_id": pd.Categorical.from_codes(
                    owners, categories=self._ids, validate=False
                ),
                "timestamp": utc_datetime_array(times),
                **figures,
            }
        )


def series_instants(
    start: pd.Timestamp, end: pd.Timestamp, *, points: int = DEFAULT_SERIES_POINTS
) -> pd.DatetimeIndex:
    """``points`` evenly spaced instants after ``start`` up to and including ``end``."""
    start_ts, end_ts = window_bounds(start, end)
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    steps = np.arange(1, points + 1, dtype=np.int64)
    length = end_ts.value - start_ts.value
    offsets = (steps * length) // points  # exact integers: the last is the window end
    return pd.DatetimeIndex(utc_datetime_array(start_ts.value + offsets))


def analyze_error_budgets(
    metrics: pd.DataFrame,
    params: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    settings: BurnSettings = DEFAULT_BURN_SETTINGS,
) -> ErrorBudgetResult:
    """Budget remaining, burn rates, alert intervals and time to exhaustion per service.

    metrics: canonical frame (``service_id`` category, ``timestamp`` UTC, ``failures`` int),
        from :func:`lookback_start` to ``end`` (earlier rows are harmless, later ones ignored),
        exclusions already applied; rows of services absent from ``params`` are ignored.
    params: indexed by ``service_id`` (output order), with ``error_budget`` (integer >= 1)
        and, when ``settings`` has alert rules by type, ``service_type``.
    settings: lookbacks, alert rules and forecast lookback (:class:`BurnSettings`).

    Raises ValueError for a bad window, parameter or lookback. Inputs are never modified.
    """
    start_ts, end_ts = window_bounds(start, end)
    length = end_ts - start_ts
    budgets = parameter_column(
        params, "error_budget", low=MIN_ERROR_BUDGET, high=MAX_ENGINE_ERROR_BUDGET, integer=True
    )
    lookbacks = settings.shown_lookbacks(length)
    forecast = resolve_lookback(settings.forecast_lookback, length)
    events = _FailureEvents.build(metrics, params, budgets, start_ts.value, end_ts.value)
    ids = pd.Index(params.index, name="service_id")
    owners = np.arange(len(ids), dtype=np.int64)
    figures = events.figures(
        owners, np.full(len(ids), end_ts.value, dtype=np.int64), lookbacks, forecast
    )
    alerts = _alerts(events, params, settings.alert_rules, settings.alert_rules_by_type, length)
    services = pd.DataFrame({"error_budget": budgets, **figures}, index=ids)
    services = _with_fastest_burn(services, lookbacks)
    services = _with_alert_counts(services, alerts)
    return ErrorBudgetResult(services, alerts, lookbacks, forecast, events, ids)


def _alerts(
    events: _FailureEvents,
    params: pd.DataFrame,
    default_rules: Sequence[BurnAlertRule],
    rules_by_type: Mapping[str, Sequence[BurnAlertRule]],
    length: pd.Timedelta,
) -> pd.DataFrame:
    """Alert intervals of every service, each under its type's rules or the default ones."""
    rule_sets = [tuple(default_rules), *(tuple(rules) for rules in rules_by_type.values())]
    rule_set_of_service = np.zeros(len(params), dtype=np.intp)
    if rules_by_type:
        if "service_type" not in params.columns:
            raise ValueError("params lack the column 'service_type' (alert rules by type)")
        types = params["service_type"].to_numpy(dtype=object)
        for number, service_type in enumerate(rules_by_type, start=1):
            rule_set_of_service[types == service_type] = number
    parts: dict[str, list[npt.NDArray]] = {
        name: [] for name in ("position", "rule", "severity", "long", "short", "threshold")
    } | {"start": [], "end": [], "ongoing": []}
    for number, rules in enumerate(rule_sets):
        owners = np.flatnonzero(rule_set_of_service == number).astype(np.int64)
        for position, rule in enumerate(rules):
            long, short = resolve_lookback(rule.long, length), resolve_lookback(rule.short, length)
            found = _alert_intervals(events, owners, rule, long, short)
            size = len(found["start"])
            for name, values in (
                *found.items(),
                ("rule", np.full(size, position, dtype=np.int64)),
                ("severity", np.full(size, rule.severity, dtype=object)),
                ("long", np.full(size, long.value, dtype=np.int64)),
                ("short", np.full(size, short.value, dtype=np.int64)),
                ("threshold", np.full(size, rule.threshold)),
            ):
                parts[name].append(values)
    dtypes = {"severity": object, "threshold": np.float64, "ongoing": bool}
    column = {
        name: np.concatenate([np.empty(0, dtypes.get(name, np.int64)), *values])
        for name, values in parts.items()
    }
    order = np.lexsort((column["rule"], column["start"], column["position"]))
    return pd.DataFrame(
        {
            "service_id": pd.Categorical.from_codes(
                column["position"][order], categories=pd.Index(params.index), validate=False
            ),
            "rule": column["rule"][order],
            "severity": column["severity"][order],
            "long": pd.to_timedelta(column["long"][order], unit="ns"),
            "short": pd.to_timedelta(column["short"][order], unit="ns"),
            "threshold": column["threshold"][order],
            "start": utc_datetime_array(column["start"][order]),
            "end": utc_datetime_array(column["end"][order]),
            "ongoing": column["ongoing"][order],
        }
    )


def _with_fastest_burn(services: pd.DataFrame, lookbacks: Sequence[pd.Timedelta]) -> pd.DataFrame:
    if not lookbacks:
        return services.assign(max_burn_rate=np.nan, max_burn_lookback=pd.NaT)
    rates = services[[burn_rate_column(lookback) for lookback in lookbacks]].to_numpy()
    fastest = rates.argmax(axis=1) if len(services) else np.empty(0, dtype=np.intp)
    lookback_values = np.array([lookback.value for lookback in lookbacks], dtype=np.int64)
    position = services.columns.get_loc(burn_rate_column(lookbacks[-1])) + 1
    services = services.copy()
    services.insert(position, "max_burn_rate", rates.max(axis=1, initial=0.0))
    services.insert(
        position + 1, "max_burn_lookback", pd.to_timedelta(lookback_values[fastest], unit="ns")
    )
    return services


def _with_alert_counts(services: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    positions = alerts["service_id"].cat.codes.to_numpy()
    severity = alerts["severity"].to_numpy(dtype=object)
    ongoing = alerts["ongoing"].to_numpy(dtype=bool)
    at_end = np.full(len(services), "", dtype=object)
    counts = {}
    for level in reversed(SEVERITIES):  # the most severe last, so it wins
        of_level = severity == level
        counts[f"{level}_alerts"] = np.bincount(positions[of_level], minlength=len(services))
        at_end[positions[of_level & ongoing]] = level
    return services.assign(
        **{name: counts[name] for name in (f"{level}_alerts" for level in SEVERITIES)},
        alert_at_end=at_end,
    )
