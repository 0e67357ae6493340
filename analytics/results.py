"""Typed results of the two scoring engines, shared by the report builder and the UI.

Every score here is a fraction in [0, 1]; percentages appear only in reports and on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

AVAILABILITY_STATUSES = ("GOOD", "ATTENZIONE", "CRITICAL")
NO_DATA = "NO_DATA"
RESILIENCE_STATUSES = ("EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE")


@dataclass(frozen=True)
class AvailabilityResult:
    """Outcome of :func:`analytics.availability.score_availability`.

    services: one row per selected service, indexed by ``service_id`` in the order of the
        parameters, columns ``error_budget`` (int), ``weight`` (int), ``final_score`` (float,
        NaN when the service has no data), ``final_status`` (str, ``NO_DATA`` when no data),
        ``total_failures`` (int, 0 when no data), ``points`` (int, timeline length).
    timeline: long format, one row per (service, distinct timestamp) in the window, sorted by
        service then time: ``service_id`` (category), ``timestamp`` (datetime64[ns, UTC]),
        ``cumulative_failures`` (int), ``score`` (float), ``status`` (category of
        AVAILABILITY_STATUSES).
    aggregated_timeline: ``timestamp``, ``score``: the weighted health score at every distinct
        timestamp of the services with data.
    aggregated_score: weighted mean of the final scores over services with data; NaN if none.
    """

    services: pd.DataFrame
    timeline: pd.DataFrame
    aggregated_timeline: pd.DataFrame
    aggregated_score: float


@dataclass(frozen=True)
class ResilienceResult:
    """Outcome of :func:`analytics.resilience.score_resilience`.

    targets: one row per selected target, indexed by ``target_id`` in parameter order, columns
        ``target_rpo_hours`` (float), ``weight`` (int), ``final_score``, ``final_status``,
        ``final_rpo_compliance``, ``final_success_rate``, ``actual_rpo_hours`` (float, NaN when
        never backed up), ``last_successful_backup`` (datetime64[ns, UTC], NaT when never),
        ``total_backups`` and ``successful_backups`` (int, over [start, last instant]),
        ``final_no_run_yet`` (bool), ``final_instant`` (datetime64[ns, UTC]: the last
        non-excluded instant, whose values the ``final_*`` columns hold; NaT when none).
    timeline: long format, one row per (target, evaluation instant), sorted by target then
        time: ``target_id`` (category), ``timestamp``, ``actual_rpo_hours`` (NaN when never),
        ``rpo_compliance``, ``success_rate`` (NaN where unknown: no run yet under the no-run-yet
        rule), ``score`` (floats), ``status`` (category of RESILIENCE_STATUSES), ``no_run_yet``
        (bool: no run in the window by this instant), ``excluded`` (bool: the values are carried
        from the latest non-excluded instant).
    aggregated_timeline: ``timestamp``, ``score``: weighted mean of the target scores present
        at each instant (NaN when none is).
    aggregated_score: the aggregated score at the last instant; NaN when there is none.
    """

    targets: pd.DataFrame
    timeline: pd.DataFrame
    aggregated_timeline: pd.DataFrame
    aggregated_score: float
