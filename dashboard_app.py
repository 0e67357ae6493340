"""The app's top-level entry: ``python dashboard_app.py`` serves it (as ``metrics-dashboard serve``).

The app itself lives in :mod:`metrics_dashboard.web.app`; this module only re-exports it, so that
``from dashboard_app import create_app`` keeps working.
"""

from __future__ import annotations

import sys

from metrics_dashboard.web.app import create_app, shell_layout

__all__ = ["create_app", "main", "shell_layout"]


def main() -> int:
    """``python dashboard_app.py [serve options]``: the same as ``metrics-dashboard serve``."""
    from metrics_dashboard.cli import main as cli_main

    return cli_main(["serve", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
