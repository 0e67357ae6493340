"""Tests of the data access layer, plus the status words they share (those of
configs/defaults.json)."""

from __future__ import annotations

from data_access.statuses import StatusRules, StatusWords

FAILURES = ["down", "error", "failed", "critical", "timeout"]
CHECK_SUCCESSES = ["up", "ok", "degraded", "warning"]
SUCCESSES = ["success", "completed", "ok", "warning"]
BACKUP_FAILURES = ["failed", "error", "aborted", "cancelled", "timeout"]


def status_rules(policy: str = "unknown") -> StatusRules:
    """The shipped status words, with ``policy`` for words in neither set."""
    return StatusRules(
        checks=StatusWords.of(failure=FAILURES, success=CHECK_SUCCESSES, name="availability"),
        backups=StatusWords.of(failure=BACKUP_FAILURES, success=SUCCESSES, name="resilience"),
        unknown_policy=policy,  # type: ignore[arg-type]
    )


RULES = status_rules()
