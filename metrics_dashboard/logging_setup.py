"""Logging for every entry point: one key=value line per event, rotated when LOG_FILE is set."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time

from metrics_dashboard.settings import Settings

_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
_LOG_FILE_BYTES = 10 * 1024 * 1024
_LOG_FILE_BACKUPS = 5


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
        root.addHandler(handler)
    root.setLevel(settings.log_level)
