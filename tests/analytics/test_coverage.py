"""Protection coverage of an asset inventory (issue 12): validation problems with their rows,
statuses per asset and instant, and the coverage. Hand-computed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.backup_insights import backup_insights
from analytics.coverage import (
    InventoryProblemCode,
    protection_coverage,
    validate_inventory,
)
from analytics.resilience import score_resilience
from tests.analytics import backups_frame, resilience_params

START = pd.Timestamp("2026-01-01T00:00:00Z")
KNOWN_TARGETS = ["fresh", "stale", "ageing", "never", "other"]


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


def inventory_frame(rows: list[tuple]) -> pd.DataFrame:
    """An inventory as the files source reads a CSV: every value a text (or missing)."""
    return pd.DataFrame(
        rows, columns=["asset_id", "display_name", "asset_type", "requires_backup", "target_ids"]
    )


@pytest.fixture(scope="module")
def insights():
    """Four analysed targets (RPO 24 h) over 4 h; "other" exists but is not analysed.

    Time to breach at t1..t4: fresh (success at 3 h) NaN, NaN, 24, 23; stale (at -30 h) -7 .. -10;
    ageing (at -21 h) 2, 1, 0, -1 (within until t3, exactly R old there); never: none.
    """
    backups = backups_frame(
        [("fresh", at(3), True), ("stale", at(-30), True), ("ageing", at(-21), True)],
        KNOWN_TARGETS,
    )
    params = resilience_params(
        dict.fromkeys(["fresh", "stale", "ageing", "never"], 24),
        dict.fromkeys(["fresh", "stale", "ageing", "never"], 1),
    )
    arguments = {"start": START, "hours": 4}
    result = score_resilience(backups, params, w_rpo=0.6, w_success=0.4, **arguments)
    return backup_insights(backups, params, result, **arguments)


FLEET = inventory_frame(
    [
        ("erp", "ERP", "vm", "true", "fresh;stale"),  # two targets, one stale: protected
        ("files", "Files", "vm", "TRUE", "stale"),
        ("old", "Old", "physical", "yes", "never"),  # never backed up: stale
        ("laptop", "Laptop", "pc", "1", None),  # no target: unprotected
        ("printer", "Printer", "device", "false", ""),  # needs no backup: not counted
        ("db", "DB", "vm", "True", " ageing "),  # protected until t3, stale at t4
        ("hr", "HR", "vm", "true", "other"),  # its only target was not analysed
        ("mixed", "Mixed", "vm", "true", "stale; other"),  # stale + not analysed
        ("mixed2", "Mixed 2", "vm", "true", "fresh;other"),  # fresh + not analysed: protected
    ]
)


def test_statuses_and_coverage_at_the_last_instant(insights) -> None:
    coverage = protection_coverage(validate_inventory(FLEET, KNOWN_TARGETS), insights)
    assert coverage.state == "measured"
    assert coverage.problems == ()
    assets = coverage.assets
    assert assets["status"].astype(str).to_dict() == {
        "erp": "PROTECTED",
        "files": "STALE",
        "old": "STALE",
        "laptop": "UNPROTECTED",
        "printer": "UNPROTECTED",
        "db": "STALE",
        "hr": "NOT_EVALUATED",
        "mixed": "NOT_EVALUATED",
        "mixed2": "PROTECTED",
    }
    assert assets["linked_targets"].tolist() == [2, 1, 1, 0, 0, 1, 1, 2, 2]
    assert assets["protecting_targets"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1]
    # Requiring a backup: 8 (not the printer); judged: 6 (not hr, mixed); protected: 2.
    assert coverage.counts == {"PROTECTED": 2, "STALE": 3, "UNPROTECTED": 1, "NOT_EVALUATED": 2}
    assert coverage.coverage == pytest.approx(2 / 6)
    assert coverage.requirement_unknown == 0


def test_coverage_replays_with_the_timeline(insights) -> None:
    coverage = protection_coverage(validate_inventory(FLEET, KNOWN_TARGETS), insights)
    timeline = coverage.timeline
    assert timeline["timestamp"].tolist() == [at(k) for k in (1, 2, 3, 4)]
    # t1, t2: fresh has no backup yet, so erp is stale and mixed2 cannot be judged; db is
    # protected while its backup is at most 24 h old (t1..t3, exactly 24 h at t3).
    assert timeline["protected"].tolist() == [1, 1, 3, 2]
    assert timeline["stale"].tolist() == [3, 3, 2, 3]
    assert timeline["unprotected"].tolist() == [1] * 4
    assert timeline["not_evaluated"].tolist() == [3, 3, 2, 2]
    np.testing.assert_allclose(timeline["coverage"], [1 / 5, 1 / 5, 3 / 6, 2 / 6])


def test_without_an_inventory_coverage_says_so_rather_than_100_percent(insights) -> None:
    coverage = protection_coverage(None, insights)
    assert coverage.state == "no_inventory"
    assert coverage.coverage is None
    assert coverage.assets.empty
    assert coverage.counts == dict.fromkeys(
        ("PROTECTED", "STALE", "UNPROTECTED", "NOT_EVALUATED"), 0
    )
    assert len(coverage.timeline) == 4
    assert coverage.timeline["coverage"].isna().all()


def test_nothing_to_cover(insights) -> None:
    frame = inventory_frame(
        [("printer", "P", "device", "false", ""), ("hr", "HR", "vm", "true", "other")]
    )
    coverage = protection_coverage(validate_inventory(frame, KNOWN_TARGETS), insights)
    assert coverage.state == "nothing_to_cover"
    assert coverage.coverage is None
    assert math.isnan(coverage.timeline["coverage"].iloc[-1])


def test_an_empty_inventory_has_nothing_to_cover(insights) -> None:
    inventory = validate_inventory(inventory_frame([]), KNOWN_TARGETS)
    assert inventory.rows == 0
    coverage = protection_coverage(inventory, insights)
    assert coverage.state == "nothing_to_cover"
    assert coverage.counts == dict.fromkeys(
        ("PROTECTED", "STALE", "UNPROTECTED", "NOT_EVALUATED"), 0
    )


# --- validation --------------------------------------------------------------------------------


BAD = inventory_frame(
    [
        ("erp", "ERP", "vm", "true", "fresh;typo"),  # row 1: unknown target
        ("files", "Files", "vm", "maybe", "stale"),  # row 2: not a boolean
        ("erp", "ERP again", "vm", "true", "stale"),  # row 3: repeats row 1
        ("  ", "Blank", "vm", "true", "stale"),  # row 4: no asset id
        (None, "None", "vm", "true", ""),  # row 5: no asset id
        ("nas", "", None, None, "nope;never"),  # row 6: empty flag, unknown target
        ("db", "DB", "vm", "2", ""),  # row 7: not a boolean
    ]
)


def test_every_bad_row_is_reported_with_its_row_number() -> None:
    inventory = validate_inventory(BAD, KNOWN_TARGETS)
    problems = [(p.row, p.column, p.code, p.asset_id, p.value) for p in inventory.problems]
    assert problems == [
        (1, "target_ids", InventoryProblemCode.UNKNOWN_TARGET, "erp", "typo"),
        (2, "requires_backup", InventoryProblemCode.REQUIRES_BACKUP_NOT_BOOLEAN, "files", "maybe"),
        (3, "asset_id", InventoryProblemCode.DUPLICATE_ASSET_ID, "erp", "erp"),
        (4, "asset_id", InventoryProblemCode.MISSING_ASSET_ID, None, None),
        (5, "asset_id", InventoryProblemCode.MISSING_ASSET_ID, None, None),
        (6, "requires_backup", InventoryProblemCode.REQUIRES_BACKUP_NOT_BOOLEAN, "nas", None),
        (6, "target_ids", InventoryProblemCode.UNKNOWN_TARGET, "nas", "nope"),
        (7, "requires_backup", InventoryProblemCode.REQUIRES_BACKUP_NOT_BOOLEAN, "db", "2"),
    ]
    messages = [problem.located("assets.csv") for problem in inventory.problems]
    assert messages[0] == (
        "assets.csv:2: target 'typo' of asset 'erp' is not a known backup target; "
        "that link is ignored"
    )
    assert messages[1] == (
        "assets.csv:3: requires_backup of asset 'files' is 'maybe', not true or false; "
        "the asset is listed but not counted in the coverage"
    )
    assert messages[2] == "assets.csv:4: asset_id 'erp' repeats row 1; this row is left out"
    assert messages[3] == "assets.csv:5: asset_id is empty; the row is left out"
    assert "is empty, not true or false" in messages[5]
    assert (
        inventory.problems[0]
        .located("assets.parquet", header_lines=None)
        .startswith("assets.parquet, row 1: target 'typo'")
    )


def test_what_is_kept_after_the_problems(insights) -> None:
    inventory = validate_inventory(BAD, KNOWN_TARGETS)
    assets = inventory.assets
    assert assets.index.tolist() == ["erp", "files", "nas", "db"]
    assert assets["row"].tolist() == [1, 2, 6, 7]
    assert assets["requires_backup"].tolist() == [True, pd.NA, pd.NA, pd.NA]
    assert assets.loc["nas", "display_name"] == "nas"  # blank name: the id
    assert assets.loc["nas", "asset_type"] == ""
    assert inventory.links.values.tolist() == [
        ["erp", "fresh"],
        ["files", "stale"],
        ["nas", "never"],
    ]
    coverage = protection_coverage(inventory, insights)
    assert coverage.requirement_unknown == 3
    assert coverage.counts["PROTECTED"] == 1
    assert coverage.coverage == 1.0  # erp is the only asset known to require a backup
    assert coverage.problems == inventory.problems


def test_typed_columns_and_lists_of_targets(insights) -> None:
    """As Parquet gives them: booleans and list values (numpy arrays); optional columns absent."""
    frame = pd.DataFrame(
        {
            "asset_id": ["erp", "files", "laptop", "db"],
            "requires_backup": [True, True, True, False],
            "target_ids": [
                np.array(["fresh", "stale"], dtype=object),
                ["stale", "stale"],  # a repeated link counts once
                [],
                None,
            ],
        }
    )
    before = frame.copy(deep=True)
    inventory = validate_inventory(frame, KNOWN_TARGETS)
    assert inventory.problems == ()
    assert inventory.assets["display_name"].tolist() == ["erp", "files", "laptop", "db"]
    assert inventory.assets["asset_type"].tolist() == [""] * 4
    assert inventory.links.values.tolist() == [
        ["erp", "fresh"],
        ["erp", "stale"],
        ["files", "stale"],
    ]
    coverage = protection_coverage(inventory, insights)
    assert coverage.assets["status"].astype(str).tolist() == [
        "PROTECTED",
        "STALE",
        "UNPROTECTED",
        "UNPROTECTED",
    ]
    assert coverage.coverage == pytest.approx(1 / 3)
    pd.testing.assert_frame_equal(frame, before, check_exact=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("False", False), (" YES ", True), ("no", False), ("1", True), ("0", False)],
)
def test_boolean_texts(text: str, expected: bool) -> None:
    frame = inventory_frame([("a", "A", "vm", text, "")])
    inventory = validate_inventory(frame, KNOWN_TARGETS)
    assert inventory.problems == ()
    assert inventory.assets["requires_backup"].tolist() == [expected]


def test_a_missing_column_is_an_error_naming_it() -> None:
    frame = inventory_frame([("a", "A", "vm", "true", "")]).drop(columns=["target_ids"])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) target_ids; it needs asset_id"):
        validate_inventory(frame, KNOWN_TARGETS)
