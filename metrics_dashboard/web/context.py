"""The web process's settings, set once by ``metrics_dashboard.web.app.create_app``.

Pages and callbacks read it through :func:`get_settings`; background jobs run in processes forked
from (or, with Celery, started like) the web process, so they see the same value.
"""

from __future__ import annotations

from metrics_dashboard.settings import Settings

_settings: Settings | None = None


def set_settings(settings: Settings) -> None:
    global _settings
    _settings = settings


def get_settings() -> Settings:
    if _settings is None:
        raise RuntimeError("create_app(settings) must run before pages are used")
    return _settings
