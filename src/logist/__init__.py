"""Logist Recovery Console: keep long-running Logist jobs alive."""

__version__ = "0.1.0"
