"""Data access layer: the one way to data (see docs/data-model.md)."""
