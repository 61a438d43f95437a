"""Fixtures of the reliability suite, and the figures line printed at the end of a run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reliability._support import FIGURES, Processes, processes


@pytest.fixture
def procs() -> Iterator[Processes]:
    """Processes started by the test, killed by pid when it ends (nothing is left behind)."""
    with processes() as tracked:
        yield tracked


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    parts = [f"{name}: {value}" for name, value in sorted(FIGURES.items())]
    terminalreporter.write_sep("-", "reliability figures")
    terminalreporter.write_line("; ".join(parts))
