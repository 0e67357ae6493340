"""Files that users can name (reports, saved configurations): opened safely, written atomically.

Reading: a file is opened by a bare name inside one directory, never following a symbolic link
(``O_NOFOLLOW``) and never waiting on a FIFO or device (``O_NONBLOCK``), and only if it is a
regular file (``fstat``). A link to ``/etc/shadow`` or a FIFO named like a report is refused
with a message that names neither its target nor any content.

Writing: the bytes go to hidden temporary *fragments* in the same directory, are flushed to
disk, and are renamed into place; a writer holds an exclusive lock on each fragment while it
writes. A process killed mid-write leaves an unlocked fragment behind:
:func:`remove_stale_fragments` removes those when a store opens.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

# A fragment younger than this may belong to a writer that has created it but not yet locked it.
STALE_FRAGMENT_SECONDS = 60.0
# tempfile.mkstemp(prefix=".<name>.", suffix=".tmp"): the name, then 8 random characters.
FRAGMENT_PATTERN = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")

_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()


class UnsafeFileError(OSError):
    """A name that is not a regular file in the directory (a link, a FIFO, a directory, ...)."""


def read_regular_file(directory: Path, name: str, *, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``name`` directly in ``directory``.

    Raises FileNotFoundError, :class:`UnsafeFileError` (a symbolic link or anything but a
    regular file), or another OSError; with ``limit``, a file larger than it raises
    :class:`UnsafeFileError` too, before anything is read.
    """
    descriptor = open_regular_file(directory, name)
    with os.fdopen(descriptor, "rb") as handle:
        if limit is not None and os.fstat(handle.fileno()).st_size > limit:
            raise UnsafeFileError(errno.EFBIG, f"larger than {limit} bytes")
        return handle.read()


def open_regular_file(directory: Path, name: str) -> int:
    """A read-only descriptor of the regular file ``name`` directly in ``directory`` (see
    :func:`read_regular_file`); the caller closes it."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise UnsafeFileError(errno.EINVAL, "not a plain file name")
    directory_descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        descriptor = os.open(
            name,
            os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
            dir_fd=directory_descriptor,
        )
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeFileError(errno.ELOOP, "a symbolic link (refused)") from None
        raise
    finally:
        os.close(directory_descriptor)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise UnsafeFileError(errno.EINVAL, "not a regular file (refused)")
    return descriptor


def write_files_atomically(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write ``files`` (paths in one directory) so that nobody sees a partial file and either
    all of them appear or none does.

    Each file's bytes go to a locked fragment, flushed to disk; then every fragment is renamed
    into place. On any failure (or interruption) the fragments are removed, and so are the
    files of this call already renamed, which is why several files must be new ones: a single
    file may replace an existing one (its rename is the one step that can fail, and then the
    old file stays). The directory is created when missing. Raises OSError.
    """
    directory = files[0][0].parent
    if any(path.parent != directory for path, _ in files):
        raise ValueError("write_files_atomically: the files must be in one directory")
    directory.mkdir(parents=True, exist_ok=True)
    fragments: list[str] = []
    renamed: list[Path] = []
    try:
        for path, data in files:
            fragments.append(_write_fragment(directory, path.name, data))
        for (path, _), fragment in zip(files, fragments, strict=True):
            os.replace(fragment, path)
            renamed.append(path)
    except BaseException:  # interrupted too: never leave a fragment or half of the files
        for leftover in [*fragments[len(renamed) :], *renamed]:
            with suppress(OSError):
                os.unlink(leftover)
        raise
    _sync_directory(directory)


def remove_stale_fragments(directory: Path, *, min_age: float = STALE_FRAGMENT_SECONDS) -> int:
    """Remove the fragments in ``directory`` that no live writer holds (their lock is free)
    and that are older than ``min_age`` seconds; the number removed. Never raises."""
    removed = 0
    try:
        names = [entry.name for entry in os.scandir(directory)]
    except OSError:
        return 0
    for name in names:
        if FRAGMENT_PATTERN.fullmatch(name) and _remove_if_stale(directory, name, min_age):
            removed += 1
    return removed


def remove_stale_fragments_once(directory: Path) -> None:
    """:func:`remove_stale_fragments` the first time a process opens a store on ``directory``."""
    key = str(Path(directory).absolute())
    with _cleaned_lock:
        if key in _cleaned:
            return
        _cleaned.add(key)
    remove_stale_fragments(Path(directory))


def _remove_if_stale(directory: Path, name: str, min_age: float) -> bool:
    try:
        descriptor = open_regular_file(directory, name)
    except OSError:
        return False
    try:
        if time.time() - os.fstat(descriptor).st_mtime < min_age:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds it
        os.unlink(directory / name)  # removed while locked: no writer can take it meanwhile
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)


def _write_fragment(directory: Path, name: str, data: bytes) -> str:
    """Write ``data`` to a new locked fragment for ``name``; its path, closed and synced."""
    descriptor, fragment = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # held until closed: "a writer is alive"
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with suppress(OSError):
            os.unlink(fragment)
        raise
    return fragment


def _sync_directory(directory: Path) -> None:
    """Flush the renames to disk too (best effort: not every platform can open a directory)."""
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
