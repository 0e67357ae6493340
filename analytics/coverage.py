"""Protection coverage of an asset inventory by the backup targets (issue 12).

**Inventory** (optional; the data layer reads ``assets.csv`` or ``assets.parquet``, or the older
tool's ``assets`` collection): one row per asset with the columns

* ``asset_id`` (required, text, unique),
* ``display_name`` (optional; blank: the asset id), ``asset_type`` (optional text),
* ``requires_backup`` (required; a boolean, or one of the texts ``true``/``false``,
  ``yes``/``no``, ``1``/``0`` in any case),
* ``target_ids`` (required; the protecting backup targets: a list, or in CSV a text with the ids
  separated by ``;``; blank or empty: none).

:func:`validate_inventory` checks it against the known target ids and reports every bad row as
an :class:`InventoryProblem` with its row number (1-based data row: CSV line = row + 1 under one
header line), never dropping anything silently: a row without an asset id or repeating an
earlier asset id is left out, an asset whose ``requires_backup`` is not a boolean is listed but
not counted, a link to an unknown target is ignored; each says so.

**Status** of an asset at an instant ``t`` (from the time to RPO breach of
:mod:`analytics.backup_insights`; a target is within its RPO at ``t`` when its latest success at
or before ``t`` is at most R hours old):

* ``PROTECTED``: one of its targets was analysed and is within its RPO at ``t``;
* ``STALE``: it has targets, all analysed, none within its RPO;
* ``UNPROTECTED``: no (known) target covers it;
* ``NOT_EVALUATED``: none of its analysed targets is within RPO, and some of its targets were
  not analysed (left out of the analysis's selection), so it cannot be judged.

**Coverage** at ``t`` = protected / assets that require a backup and can be judged (all of them
unless the analysis selected only some targets); the final coverage is at the window's last
instant. Without an inventory it is ``None`` ("no inventory"), never 100 %; with nothing to
judge it is ``None`` too, with its own state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd

from analytics.backup_insights import BackupInsights

INVENTORY_COLUMNS = ("asset_id", "display_name", "asset_type", "requires_backup", "target_ids")
REQUIRED_INVENTORY_COLUMNS = ("asset_id", "requires_backup", "target_ids")
TARGET_ID_SEPARATOR = ";"
TRUE_TEXTS = ("true", "yes", "1")
FALSE_TEXTS = ("false", "no", "0")
PROTECTION_STATUSES = ("PROTECTED", "STALE", "UNPROTECTED", "NOT_EVALUATED")
_PROTECTED, _STALE, _UNPROTECTED, _NOT_EVALUATED = range(len(PROTECTION_STATUSES))
CoverageState = Literal["measured", "no_inventory", "nothing_to_cover"]


class InventoryProblemCode(StrEnum):
    MISSING_ASSET_ID = "missing_asset_id"
    DUPLICATE_ASSET_ID = "duplicate_asset_id"
    REQUIRES_BACKUP_NOT_BOOLEAN = "requires_backup_not_boolean"
    UNKNOWN_TARGET = "unknown_target"


@dataclass(frozen=True)
class InventoryProblem:
    """One bad value of the inventory: where (1-based data ``row``, ``column``), what (``code``,
    the offending ``value`` as text) and a ``message`` saying what was done about it."""

    row: int
    column: str
    code: InventoryProblemCode
    asset_id: str | None
    value: str | None
    message: str

    def located(self, source: str, *, header_lines: int | None = 1) -> str:
        """``source:line: message`` for a text file with ``header_lines`` before the data, or
        ``source, row N: message`` (``header_lines=None``, e.g. Parquet or a collection)."""
        if header_lines is None:
            return f"{source}, row {self.row}: {self.message}"
        return f"{source}:{self.row + header_lines}: {self.message}"


@dataclass(frozen=True)
class AssetInventory:
    """A validated inventory.

    assets: indexed by ``asset_id`` (kept rows, file order): ``display_name``, ``asset_type``
        (str), ``requires_backup`` (pandas ``boolean``, <NA> when the value was not a boolean),
        ``row`` (int, 1-based data row).
    links: ``asset_id``, ``target_id`` (str): one row per known protecting target, in asset
        order, without repeats.
    problems: every bad value found, by row.
    rows: the number of data rows read.
    """

    assets: pd.DataFrame
    links: pd.DataFrame
    problems: tuple[InventoryProblem, ...]
    rows: int


@dataclass(frozen=True)
class ProtectionCoverage:
    """Outcome of :func:`protection_coverage`.

    state: ``measured``, ``no_inventory`` or ``nothing_to_cover`` (no asset that requires a
        backup can be judged).
    coverage: protected / judged assets requiring a backup at the last instant (0..1); None
        unless ``state`` is ``measured``.
    counts: per PROTECTION_STATUSES, the assets requiring a backup at the last instant.
    requirement_unknown: assets listed whose ``requires_backup`` was not a boolean (not counted).
    assets: the inventory's assets with ``linked_targets``, ``protecting_targets`` (int, at the
        last instant) and ``status`` (category of PROTECTION_STATUSES, at the last instant).
    links: the inventory's links (``asset_id``, ``target_id``).
    timeline: per instant: ``timestamp``, the four counts (``protected``, ``stale``,
        ``unprotected``, ``not_evaluated``) and ``coverage`` (NaN when nothing to judge).
    problems: the inventory's problems, for the user to see.
    """

    state: CoverageState
    coverage: float | None
    counts: dict[str, int]
    requirement_unknown: int
    assets: pd.DataFrame
    links: pd.DataFrame
    timeline: pd.DataFrame
    problems: tuple[InventoryProblem, ...]


def _texts(column: pd.Series) -> pd.Series:
    """Values as stripped texts, <NA> for missing and blank ones."""
    texts = column.astype("string").str.strip()
    return texts.mask(texts == "")


def _booleans(column: pd.Series) -> pd.Series:
    """``requires_backup`` as pandas booleans; <NA> where the value is not a boolean."""
    if column.dtype == np.bool_:
        return column.astype("boolean")
    texts = _texts(column).str.lower()
    parsed = pd.Series(pd.NA, index=column.index, dtype="boolean")
    parsed[texts.isin(TRUE_TEXTS).fillna(False)] = True
    parsed[texts.isin(FALSE_TEXTS).fillna(False)] = False
    return parsed


def _exploded_target_ids(column: pd.Series) -> pd.Series:
    """One entry per (row position, target id) from list values or ``;``-separated texts."""
    listed = column.explode()
    ids = _texts(listed).str.split(TARGET_ID_SEPARATOR).explode()
    ids = _texts(ids)
    return ids[ids.notna()]


def validate_inventory(frame: pd.DataFrame, known_target_ids: Iterable[str]) -> AssetInventory:
    """Validate an inventory frame (columns of the module docstring, one row per asset) against
    the ids of the backup targets the data source knows.

    Raises ValueError when a required column is missing (nothing can be read then); every other
    problem is returned in ``problems``. ``frame`` is unmodified.
    """
    missing_columns = [name for name in REQUIRED_INVENTORY_COLUMNS if name not in frame.columns]
    if missing_columns:
        raise ValueError(
            f"the asset inventory lacks the column(s) {', '.join(missing_columns)}; "
            f"it needs {', '.join(REQUIRED_INVENTORY_COLUMNS)}"
        )
    frame = frame.reset_index(drop=True)
    rows = np.arange(1, len(frame) + 1)
    ids = _texts(frame["asset_id"])
    no_id = ids.isna().to_numpy()
    repeated = (~no_id) & ids.duplicated(keep="first").to_numpy()
    kept = ~no_id & ~repeated
    first_row_of = pd.Series(rows[kept], index=ids[kept].to_numpy())
    requires_backup = _booleans(frame["requires_backup"])
    not_boolean = kept & requires_backup.isna().to_numpy()
    links = _exploded_target_ids(frame["target_ids"])
    links = links[kept[links.index.to_numpy()]]
    known = pd.Index(list(map(str, known_target_ids)), dtype=object).unique()
    unknown = known.get_indexer(links.to_numpy(dtype=object)) < 0
    link_rows = links.index.to_numpy()
    duplicated_ids = ids[repeated].tolist()
    bad_flags = frame["requires_backup"][not_boolean].tolist()
    flagged_ids = ids[not_boolean].tolist()
    unknown_ids = links[unknown].tolist()
    linking_ids = ids.to_numpy()[link_rows[unknown]].tolist()
    problems = [
        *_problems(
            InventoryProblemCode.MISSING_ASSET_ID,
            "asset_id",
            rows[no_id],
            [None] * int(no_id.sum()),
            [None] * int(no_id.sum()),
            ["asset_id is empty; the row is left out"] * int(no_id.sum()),
        ),
        *_problems(
            InventoryProblemCode.DUPLICATE_ASSET_ID,
            "asset_id",
            rows[repeated],
            duplicated_ids,
            duplicated_ids,
            [
                f"asset_id {asset!r} repeats row {first}; this row is left out"
                for asset, first in zip(
                    duplicated_ids,
                    first_row_of.reindex(duplicated_ids).tolist(),
                    strict=True,
                )
            ],
        ),
        *_problems(
            InventoryProblemCode.REQUIRES_BACKUP_NOT_BOOLEAN,
            "requires_backup",
            rows[not_boolean],
            flagged_ids,
            [None if pd.isna(value) else str(value) for value in bad_flags],
            [
                f"requires_backup of asset {asset!r} is {_shown(value)}, not true or false; "
                "the asset is listed but not counted in the coverage"
                for asset, value in zip(flagged_ids, bad_flags, strict=True)
            ],
        ),
        *_problems(
            InventoryProblemCode.UNKNOWN_TARGET,
            "target_ids",
            rows[link_rows[unknown]],
            linking_ids,
            unknown_ids,
            [
                f"target {target!r} of asset {asset!r} is not a known backup target; "
                "that link is ignored"
                for asset, target in zip(linking_ids, unknown_ids, strict=True)
            ],
        ),
    ]
    problems.sort(key=lambda problem: (problem.row, INVENTORY_COLUMNS.index(problem.column)))

    known_links = links[~unknown]
    link_frame = pd.DataFrame(
        {
            "asset_id": ids.to_numpy()[known_links.index.to_numpy()].astype(object),
            "target_id": known_links.to_numpy().astype(object),
        }
    ).drop_duplicates(ignore_index=True)
    absent = pd.Series(pd.NA, index=ids.index, dtype="string")
    names = _texts(frame["display_name"]) if "display_name" in frame else absent
    types = _texts(frame["asset_type"]) if "asset_type" in frame else absent
    assets = pd.DataFrame(
        {
            "display_name": names.fillna(ids)[kept].to_numpy().astype(object),
            "asset_type": types.fillna("")[kept].to_numpy().astype(object),
            "requires_backup": requires_backup[kept].array,
            "row": rows[kept],
        },
        index=pd.Index(ids[kept].to_numpy().astype(object), name="asset_id"),
    )
    return AssetInventory(
        assets=assets, links=link_frame, problems=tuple(problems), rows=len(frame)
    )


def _problems(
    code: InventoryProblemCode,
    column: str,
    rows: np.ndarray,
    asset_ids: list,
    values: list,
    messages: list[str],
) -> list[InventoryProblem]:
    return [
        InventoryProblem(row, column, code, asset_id, value, message)
        for row, asset_id, value, message in zip(
            rows.tolist(), asset_ids, values, messages, strict=True
        )
    ]


def _shown(value: object) -> str:
    return "empty" if pd.isna(value) else repr(str(value))


def _no_inventory(insights: BackupInsights) -> ProtectionCoverage:
    return ProtectionCoverage(
        state="no_inventory",
        coverage=None,
        counts=dict.fromkeys(PROTECTION_STATUSES, 0),
        requirement_unknown=0,
        assets=pd.DataFrame(
            {
                "display_name": pd.Series(dtype=object),
                "asset_type": pd.Series(dtype=object),
                "requires_backup": pd.Series(dtype="boolean"),
                "row": pd.Series(dtype=np.int64),
                "linked_targets": pd.Series(dtype=np.int64),
                "protecting_targets": pd.Series(dtype=np.int64),
                "status": pd.Categorical([], categories=list(PROTECTION_STATUSES)),
            },
            index=pd.Index([], dtype=object, name="asset_id"),
        ),
        links=pd.DataFrame({"asset_id": [], "target_id": []}, dtype=object),
        timeline=_coverage_timeline(insights.instants, None),
        problems=(),
    )


def _coverage_timeline(instants: pd.DatetimeIndex, counts: np.ndarray | None) -> pd.DataFrame:
    """Per instant, the counts per status (rows of ``counts``; NaN without an inventory) and
    the coverage."""
    if counts is None:
        counts = np.full((len(PROTECTION_STATUSES), len(instants)), np.nan)
    protected, stale, unprotected, not_evaluated = counts
    judged = protected + stale + unprotected
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(judged > 0, protected / judged, np.nan)
    return pd.DataFrame(
        {
            "timestamp": instants,
            "protected": protected,
            "stale": stale,
            "unprotected": unprotected,
            "not_evaluated": not_evaluated,
            "coverage": coverage,
        }
    )


def protection_coverage(
    inventory: AssetInventory | None, insights: BackupInsights
) -> ProtectionCoverage:
    """The protection status of every asset of ``inventory`` at every instant of ``insights``
    (the analysed targets and their time to RPO breach) and the coverage; see the module
    docstring. ``inventory`` None: the result says "no inventory"."""
    if inventory is None:
        return _no_inventory(insights)
    assets, links = inventory.assets, inventory.links
    within = insights.hours_to_rpo_breach >= 0  # NaN (never backed up) is not within
    hours = within.shape[1]
    owner = assets.index.get_indexer(links["asset_id"])
    target = insights.targets.index.get_indexer(links["target_id"])
    order = np.argsort(owner, kind="stable")
    owner, target = owner[order], target[order]
    linked = np.bincount(owner, minlength=len(assets))
    analysed = target >= 0
    analysed_links = np.bincount(owner[analysed], minlength=len(assets))
    any_within = np.zeros((len(assets), hours), dtype=np.bool_)
    protecting = np.zeros(len(assets), dtype=np.int64)
    if analysed.any():
        analysed_owner = owner[analysed]
        link_within = within[target[analysed]]
        starts = np.flatnonzero(np.concatenate(([True], analysed_owner[1:] != analysed_owner[:-1])))
        sizes = np.diff(np.append(starts, len(analysed_owner)))
        # OR the assets' first links, then their second ones, and so on: one step per link
        # rank (an asset has a few links), each over whole rows; a reduceat over many small
        # groups is ten times slower.
        grouped = np.zeros((len(starts), hours), dtype=np.bool_)
        for rank in range(int(sizes.max())):
            having = np.flatnonzero(sizes > rank)
            grouped[having] |= link_within[starts[having] + rank]
        any_within[analysed_owner[starts]] = grouped
        protecting = np.bincount(analysed_owner[link_within[:, -1]], minlength=len(assets))
    # Without a within-RPO target: STALE when every link was analysed, else NOT_EVALUATED.
    unjudged = np.where(analysed_links == linked, _STALE, _NOT_EVALUATED).astype(np.int8)
    status = np.where(any_within, np.int8(_PROTECTED), unjudged[:, np.newaxis])
    status[linked == 0] = _UNPROTECTED
    requirement = assets["requires_backup"]
    required = requirement.fillna(False).to_numpy(dtype=np.bool_)
    required_status = status[required]
    counts = np.stack(
        [(required_status == code).sum(axis=0) for code in range(len(PROTECTION_STATUSES))]
    )
    timeline = _coverage_timeline(insights.instants, counts)
    final = timeline["coverage"].iloc[-1] if len(timeline) else np.nan
    return ProtectionCoverage(
        state="nothing_to_cover" if np.isnan(final) else "measured",
        coverage=None if np.isnan(final) else float(final),
        counts={
            name: int(counts[code, -1]) if hours else 0
            for code, name in enumerate(PROTECTION_STATUSES)
        },
        requirement_unknown=int(requirement.isna().sum()),
        assets=assets.assign(
            linked_targets=linked,
            protecting_targets=protecting,
            status=pd.Categorical.from_codes(status[:, -1], categories=list(PROTECTION_STATUSES)),
        ),
        links=links,
        timeline=timeline,
        problems=inventory.problems,
    )
