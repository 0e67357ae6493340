"""The analysis defaults file and the user's named configurations, on disk.

Named configurations are JSON files ``<name>.json`` in one directory, written atomically with
the same helper as the reports, so an interrupted save never leaves a broken file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson

from analytics.config import (
    MAX_CONFIG_BYTES,
    AnalysisConfig,
    AnalysisDefaults,
    ConfigError,
    parse_config,
    parse_defaults,
)
from data_access.report_store import ReportStoreError, write_atomic
from data_access.safe_files import UnsafeFileError, read_regular_file, remove_stale_fragments_once

DEFAULTS_FILE = "defaults.json"
# Letters, digits, space, "_", "." and "-"; the first a letter or digit, so a name is never
# hidden (".x") nor a path ("..").
CONFIG_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}")
_SUFFIX = ".json"


class ConfigStoreError(ConfigError):
    """A named configuration cannot be saved, found or read; the message says why."""


def load_defaults(config_dir: Path | str) -> AnalysisDefaults:
    """The analysis defaults in ``config_dir/defaults.json``.

    Raises :class:`ConfigError` naming the file when it is missing, not JSON, or holds invalid
    values (with the field, the value and the allowed range).
    """
    path = Path(config_dir) / DEFAULTS_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: not found; CONFIG_DIR must be a directory holding {DEFAULTS_FILE}"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        return parse_defaults(data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


class NamedConfigStore:
    """Saved analysis configurations, by name, in one directory.

    A configuration is read only from a regular file directly in the directory: a symbolic
    link (to ``/etc/shadow``, say) or a FIFO is refused, and messages name neither a path nor
    the content of a file that is not a configuration.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        remove_stale_fragments_once(self.directory)

    def save(self, name: str, config: AnalysisConfig) -> None:
        """Save ``config`` as ``name`` (replacing a configuration of that name); its ``name``
        field is set to ``name``."""
        path = self._path(name)
        document = config.model_copy(update={"name": name}).model_dump(
            mode="json", exclude_none=True
        )
        try:
            write_atomic(path, orjson.dumps(document, option=orjson.OPT_INDENT_2))
        except ReportStoreError as error:
            raise ConfigStoreError(f'cannot save configuration "{name}": {error}') from None

    def load(self, name: str) -> AnalysisConfig:
        """The configuration saved as ``name``, validated again."""
        path = self._path(name)
        try:
            data = read_regular_file(self.directory, path.name, limit=MAX_CONFIG_BYTES)
        except FileNotFoundError:
            raise ConfigStoreError(f'there is no saved configuration named "{name}"') from None
        except UnsafeFileError as error:
            raise ConfigStoreError(
                f'cannot read configuration "{name}": it is {error.strerror}'
            ) from None
        except OSError as error:
            raise ConfigStoreError(
                f'cannot read configuration "{name}": {error.strerror or type(error).__name__}'
            ) from None
        try:
            return parse_config(data)
        except ConfigError as error:
            raise ConfigStoreError(f'saved configuration "{name}" is invalid: {error}') from None

    def list(self, kind: str | None = None) -> list[str]:
        """The saved names (of one analysis type, or all), sorted case-insensitively.

        Files that are not valid configurations are left out when filtering by kind.
        """
        try:
            with os.scandir(self.directory) as scan:
                names = [
                    item.name.removesuffix(_SUFFIX)
                    for item in scan
                    if item.name.endswith(_SUFFIX)
                    and CONFIG_NAME_PATTERN.fullmatch(item.name.removesuffix(_SUFFIX))
                ]
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ConfigStoreError(
                f"cannot list saved configurations in {self.directory}: {error.strerror or error}"
            ) from None
        if kind is not None:
            names = [name for name in names if self._kind_of(name) == kind]
        return sorted(names, key=lambda name: (name.casefold(), name))

    def delete(self, name: str) -> None:
        """Remove the configuration saved as ``name``."""
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise ConfigStoreError(f'there is no saved configuration named "{name}"') from None
        except OSError as error:
            raise ConfigStoreError(
                f'cannot delete configuration "{name}": {error.strerror or error}'
            ) from None

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not CONFIG_NAME_PATTERN.fullmatch(name):
            shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
            raise ConfigStoreError(
                f"invalid configuration name {shown}: use 1 to 64 letters, digits, spaces, "
                '"_", "." or "-", starting with a letter or digit'
            )
        return self.directory / f"{name}{_SUFFIX}"

    def _kind_of(self, name: str) -> str | None:
        try:
            return self.load(name).analysis_type
        except ConfigStoreError:
            return None
