"""Typed keyword-only factories: computed values in, Dash components out.

Components never open files or databases; pages hand them what the data-access layer returned.
"""
