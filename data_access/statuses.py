"""Reading status words: "is this check a failure?", "did this backup succeed?", "is this word
known at all?".

Statuses compare case-insensitively with surrounding spaces ignored (``" DOWN"`` is ``down``).
The sets themselves come from the caller (``configs/defaults.json``: ``failure_statuses`` and
``success_statuses`` of each module), so nothing here knows which words mean what. A word in
neither set of its table is *unknown*: it is counted and shown, and ``UNKNOWN_STATUS_POLICY``
says whether such rows count as failures, are left out of the scores, or stop the analysis.

Status columns hold a handful of distinct strings over millions of rows, so the work is done on
the categories of a categorical (a few strings), then spread to rows with one integer take.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.report.classification import (
    DEFAULT_UNKNOWN_STATUS_POLICY,
    UNKNOWN_STATUS_POLICIES,
    UnknownStatusPolicy,
)
from analytics.report.quality import shortened

# How many unknown words a message names before it says "and N more".
WORDS_NAMED = 5


def normalise_status(label: str) -> str:
    """The comparable form of one status: surrounding whitespace removed, lower case."""
    return label.strip().lower()


def status_set(labels: Collection[str], *, name: str) -> frozenset[str]:
    """Normalise a configured status set; ``name`` says which one in the error message."""
    if isinstance(labels, str):
        raise ValueError(f"{name} must be a list of status strings, got the string {labels!r}")
    normalised = set()
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{name} must hold non-empty strings, got {label!r}")
        normalised.add(normalise_status(label))
    if not normalised:
        raise ValueError(f"{name} is empty: list at least one status")
    return frozenset(normalised)


@dataclass(frozen=True)
class StatusWords:
    """The status words of one table (health checks or backup runs), normalised.

    ``name`` says where they are configured (``availability`` or ``resilience``), for messages.
    """

    failure: frozenset[str]
    success: frozenset[str]
    name: str

    @classmethod
    def of(cls, *, failure: Collection[str], success: Collection[str], name: str) -> StatusWords:
        """Normalised sets; ValueError when one is empty or a word is in both."""
        failures = status_set(failure, name=f"{name}.failure_statuses")
        successes = status_set(success, name=f"{name}.success_statuses")
        both = sorted(failures & successes)
        if both:
            raise ValueError(
                f"{name}: {', '.join(map(repr, both))} is in both failure_statuses and "
                "success_statuses; a word must mean one outcome"
            )
        return cls(failure=failures, success=successes, name=name)


@dataclass(frozen=True)
class StatusRules:
    """How a data source reads statuses: the words of each table, and what to do with rows
    whose word is in neither set of its table."""

    checks: StatusWords
    backups: StatusWords
    unknown_policy: UnknownStatusPolicy = DEFAULT_UNKNOWN_STATUS_POLICY

    def __post_init__(self) -> None:
        if self.unknown_policy not in UNKNOWN_STATUS_POLICIES:
            raise ValueError(
                f"unknown status policy {self.unknown_policy!r}; "
                f"use one of {', '.join(UNKNOWN_STATUS_POLICIES)}"
            )


@dataclass(frozen=True)
class StatusFlags:
    """Per-row outcome of :func:`classify_statuses`.

    in_set: the row's normalised status is a member of the set.
    blank: the row has no status (missing, empty or only spaces); never ``in_set``.
    unknown: the row has a status that is in none of the ``known`` words (never without them).
    """

    in_set: np.ndarray
    blank: np.ndarray
    unknown: np.ndarray


def classify_statuses(
    statuses: pd.Series | pd.Categorical,
    members: frozenset[str],
    known: frozenset[str] | None = None,
) -> StatusFlags:
    """Flag each row whose status is in ``members`` (a set made by :func:`status_set`), and,
    given ``known`` (every word of the table), each row whose status is none of them.

    Categorical input is used as is; anything else is factorised first (still vectorised).
    """
    categorical = pd.Categorical(statuses)
    labels = pd.Index(categorical.categories).astype(str).str.strip().str.lower()
    codes = np.asarray(categorical.codes)
    # Code -1 (a missing value) picks the appended last element: not in the set, blank.
    in_set_by_code = np.append(labels.isin(members), False)
    blank_by_code = np.append(labels == "", True)
    unknown_by_code = np.zeros(len(labels) + 1, dtype=bool)
    if known is not None:
        unknown_by_code[:-1] = ~labels.isin(known) & (labels != "")
    return StatusFlags(
        in_set=in_set_by_code[codes], blank=blank_by_code[codes], unknown=unknown_by_code[codes]
    )


def unknown_status_message(
    where: str, rows_by_word: Mapping[str, int], words: StatusWords, policy: UnknownStatusPolicy
) -> str:
    """One line saying which rows of ``where`` have unknown status words, how many, and what
    was done with them (``policy``); the words are quoted, the most frequent first."""
    ranked = sorted(rows_by_word.items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{shortened(word)!r} ({rows})" for word, rows in ranked[:WORDS_NAMED])
    if len(ranked) > WORDS_NAMED:
        named += f" and {len(ranked) - WORDS_NAMED} more"
    total = sum(rows_by_word.values())
    rows = "1 row has a status" if total == 1 else f"{total} rows have statuses"
    outcome = {
        "failure": "counted as failures",
        "unknown": "left out of the scores",
        "error": "the analysis stops",
    }[policy]
    return (
        f"{where}: {rows} in neither {words.name}.failure_statuses nor "
        f"{words.name}.success_statuses: {named}; {outcome} (UNKNOWN_STATUS_POLICY={policy}; "
        "add the words to configs/defaults.json if they are right)"
    )
