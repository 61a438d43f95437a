"""Fixtures of the CLI tier: the process registry shared with the integration tests."""

from staging import procs

__all__ = ["procs"]
