"""The defaults file and named configurations on disk."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.config import ConfigError, ResilienceConfig, parse_config
from data_access.config_store import ConfigStoreError, NamedConfigStore, load_defaults

CONFIGS = Path(__file__).parents[2] / "configs"


@pytest.fixture
def store(tmp_path: Path) -> NamedConfigStore:
    return NamedConfigStore(tmp_path / "configs")


# --- defaults ----------------------------------------------------------------------------


def test_load_the_shipped_defaults() -> None:
    defaults = load_defaults(CONFIGS)
    assert defaults.availability.error_budget_by_service_type["web_service"] == 5
    assert defaults.resilience.default_hours == 168


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{path}: not found; CONFIG_DIR must be a directory holding defaults.json"),
        ("{", "{path}: defaults is not valid JSON: "),
        ('{"availability": {}}', '{path}: availability: missing key "error_budget_by_service_type"'),
        (
            json.dumps({**json.loads((CONFIGS / "defaults.json").read_text()), "reports": {"timeline_point_limit": -1}}),
            "{path}: reports.timeline_point_limit: -1 is out of range (allowed 1 to 1000000)",
        ),
    ],
)  # fmt: skip
def test_bad_defaults_name_the_file(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "defaults.json").write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_defaults(tmp_path)
    assert str(caught.value).startswith(message.format(path=tmp_path / "defaults.json"))


def test_unreadable_defaults(tmp_path: Path) -> None:
    (tmp_path / "defaults.json").mkdir()  # a directory where the file should be
    with pytest.raises(ConfigError, match=r"defaults\.json: cannot be read"):
        load_defaults(tmp_path)


# --- named configurations ----------------------------------------------------------------

AVAILABILITY = parse_config(
    {
        "analysis_type": "availability",
        "start": "2026-01-01T00:00:00+01:00",
        "end": "2026-01-02T00:00:00Z",
        "services": ["web-1"],
        "service_error_budgets": {"web-1": 7},
    }
)
RESILIENCE = parse_config(
    {"analysis_type": "resilience", "hours": 24, "weights": {"rpo": 0.5, "success": 0.5}}
)


def test_save_load_round_trip(store: NamedConfigStore) -> None:
    store.save("Daily web", AVAILABILITY)
    store.save("nightly.v2", RESILIENCE)
    loaded = store.load("Daily web")
    assert loaded == AVAILABILITY.model_copy(update={"name": "Daily web"})
    assert loaded.start == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert store.load("nightly.v2") == RESILIENCE.model_copy(update={"name": "nightly.v2"})
    saved = json.loads((store.directory / "Daily web.json").read_text())
    assert saved["start"] == "2025-12-31T23:00:00Z" and saved["name"] == "Daily web"


def test_save_replaces_and_list_filters(store: NamedConfigStore) -> None:
    assert store.list() == []  # the directory does not exist yet
    store.save("b-res", RESILIENCE)
    store.save("a-avail", AVAILABILITY)
    store.save("B-avail", AVAILABILITY)
    store.save("a-avail", AVAILABILITY.model_copy(update={"services": None}))
    assert store.list() == ["a-avail", "B-avail", "b-res"]
    assert store.list("availability") == ["a-avail", "B-avail"]
    assert store.list("resilience") == ["b-res"]
    assert store.load("a-avail").services is None
    (store.directory / "broken.json").write_text("{")
    (store.directory / "notes.txt").write_text("ignored")
    (store.directory / ".hidden.json").write_text("{}")
    assert store.list() == ["a-avail", "B-avail", "b-res", "broken"]
    assert store.list("availability") == ["a-avail", "B-avail"]  # unreadable: left out
    assert isinstance(store.load("b-res"), ResilienceConfig)


def test_delete(store: NamedConfigStore) -> None:
    store.save("old", RESILIENCE)
    store.delete("old")
    assert store.list() == []
    with pytest.raises(ConfigStoreError, match='there is no saved configuration named "old"'):
        store.delete("old")


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".hidden",
        "..",
        "../escape",
        "a/b",
        "a\\b",
        "x" * 65,
        "café",
        "tab\there",
        " leading",
        "-x",
        None,
    ],
)
def test_invalid_names_are_refused(store: NamedConfigStore, name: object) -> None:
    for attempt in (
        lambda: store.save(name, RESILIENCE),  # type: ignore[arg-type]
        lambda: store.load(name),  # type: ignore[arg-type]
        lambda: store.delete(name),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigStoreError, match="invalid configuration name"):
            attempt()
    assert not store.directory.exists()


@pytest.mark.parametrize("name", ["a", "A b_c.d-e", "9" * 64, "x."])
def test_valid_names(store: NamedConfigStore, name: str) -> None:
    store.save(name, RESILIENCE)
    assert store.list() == [name]


def test_missing_and_invalid_saved_configs(store: NamedConfigStore) -> None:
    with pytest.raises(ConfigStoreError, match='there is no saved configuration named "nope"'):
        store.load("nope")
    store.directory.mkdir()
    (store.directory / "bad.json").write_text('{"analysis_type": "resilience", "hours": 0}')
    with pytest.raises(ConfigStoreError) as caught:
        store.load("bad")
    assert str(caught.value) == (
        'saved configuration "bad" is invalid: hours: 0 is out of range (allowed 1 to 8760)'
    )  # no path: the message may reach a browser
    assert isinstance(caught.value, ValueError)  # callers catch ValueError / ConfigError


def test_a_link_to_a_file_outside_is_refused_and_its_content_never_shown(
    store: NamedConfigStore, tmp_path: Path
) -> None:
    """A saved configuration linked to /etc/shadow used to be read and echoed in the error."""
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n")
    store.directory.mkdir()
    (store.directory / "innocent.json").symlink_to(secret)
    with pytest.raises(ConfigStoreError) as caught:
        store.load("innocent")
    assert str(caught.value) == (
        'cannot read configuration "innocent": it is a symbolic link (refused)'
    )
    assert "SECRETHASH" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert store.list("resilience") == []  # listing by kind reads it neither


def test_a_fifo_is_refused_without_waiting(store: NamedConfigStore) -> None:
    store.directory.mkdir()
    os.mkfifo(store.directory / "pipe.json")
    with pytest.raises(ConfigStoreError, match='"pipe": it is not a regular file'):
        store.load("pipe")  # O_NONBLOCK: a blocking open would wait here for a writer


def test_failed_save_leaves_no_file(
    store: NamedConfigStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save("kept", RESILIENCE)
    before = (store.directory / "kept.json").read_bytes()

    def disk_full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(
        ConfigStoreError, match='cannot save configuration "kept": not enough disk space'
    ):
        store.save("kept", AVAILABILITY)
    assert sorted(path.name for path in store.directory.iterdir()) == ["kept.json"]
    assert (store.directory / "kept.json").read_bytes() == before


def test_unlistable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "configs"
    blocker.write_text("a file")
    with pytest.raises(ConfigStoreError, match="cannot list saved configurations"):
        NamedConfigStore(blocker).list()
    assert NamedConfigStore(tmp_path / "missing").list("resilience") == []


def test_unreadable_and_undeletable_entries(store: NamedConfigStore) -> None:
    (store.directory / "odd.json").mkdir(parents=True)  # a directory in place of the file
    with pytest.raises(ConfigStoreError, match='cannot read configuration "odd"'):
        store.load("odd")
    with pytest.raises(ConfigStoreError, match='cannot delete configuration "odd"'):
        store.delete("odd")
