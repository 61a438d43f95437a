"""Reliability suite: crash injection, concurrency, model-based tests and hostile roots.

A package (not a bare directory) so that its helper modules import as `reliability._support`
and never collide with another directory's `conftest` module.
"""
