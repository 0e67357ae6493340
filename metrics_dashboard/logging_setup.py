"""Logging for every entry point: one key=value line per event, rotated when LOG_FILE is set."""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from metrics_dashboard.settings import Settings

_FORMAT = (
    "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s "
    "job_id=%(job_id)s %(message)s"
)
_LOG_FILE_BYTES = 10 * 1024 * 1024
_LOG_FILE_BACKUPS = 5


# What a key=value field may show bare; anything else is quoted (see log_field).
_BARE_FIELD = re.compile(r"[A-Za-z0-9._@+:/~-]{1,256}")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
job_id_var: ContextVar[str] = ContextVar("job_id", default="-")


def log_field(value: str) -> str:
    """``value`` for a ``key=value`` log line: bare when plain, else a JSON string literal, so
    that spaces, quotes, ``=`` and control characters in a client-chosen value (a user name)
    cannot forge another field or line; non-ASCII is escaped too."""
    return value if _BARE_FIELD.fullmatch(value) else json.dumps(value)


class LogContextFilter(logging.Filter):
    """Adds ``request_id`` and ``job_id`` ("-" when none) to every record it sees.

    Attach it to the *handlers* so that records of every logger get the fields.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.job_id = job_id_var.get()
        return True


@contextmanager
def job_log_context(job_id: str) -> Iterator[None]:
    """Log records made inside the block carry ``job_id`` (for background analyses)."""
    token = job_id_var.set(job_id or "-")
    try:
        yield
    finally:
        job_id_var.reset(token)


def configure_logging(settings: Settings) -> None:
    """Send logs to standard error (and to a rotating LOG_FILE), in UTC."""
    formatter = logging.Formatter(_FORMAT, datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.log_file, maxBytes=_LOG_FILE_BYTES, backupCount=_LOG_FILE_BACKUPS
            )
        )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(LogContextFilter())
        root.addHandler(handler)
    root.setLevel(settings.log_level)
