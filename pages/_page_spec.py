"""What every page spec of one module (availability or resilience) has: its items' shape and
the ids of its components, ``<kind>-<page>-<part>``."""

from __future__ import annotations

from typing import ClassVar

from analytics.dashboard_model import ReportShape


class KindPage:
    """A mixin of the page specs: ``shape`` names the kind; ``PAGE`` the page."""

    PAGE: ClassVar[str]
    shape: ReportShape

    @property
    def kind(self) -> str:
        return self.shape.kind

    @property
    def prefix(self) -> str:
        return f"{self.kind}-{self.PAGE}"

    def id(self, part: str) -> str:
        return f"{self.prefix}-{part}"

    @property
    def noun(self) -> str:
        """One item, short: "service" | "target"."""
        return self.shape.item_noun
