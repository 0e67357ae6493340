"""Tests of the data access layer."""
