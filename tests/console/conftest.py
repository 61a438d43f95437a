"""Console fixtures: colour on, a fixed time zone, and the snapshot app factory."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from filelock import FileLock

from logist.console.app import ConsoleApp

from .support import NOW, SNAPSHOT_ROOT, build_crashes_root, build_snapshot_root, make_app


@pytest.fixture(autouse=True)
def _colour_and_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Snapshots need colour and a fixed time zone (history shows local wall-clock times)."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def snapshot_app() -> Iterator[Callable[..., ConsoleApp]]:
    """A factory: the console on the deterministic root with the frozen clock.

    The root's path is fixed (it is in the picture), so concurrent test runs on one machine
    take turns with a lock instead of rebuilding it under each other.
    """

    def factory(*, crashes: int = 0, **options: Any) -> ConsoleApp:
        """`crashes`: the root of that many proven crashes instead of the every-verdict one."""
        root = build_crashes_root(crashes) if crashes else build_snapshot_root()
        return make_app(root, clock=lambda: NOW, **options)

    with FileLock(f"{SNAPSHOT_ROOT.parent}.lock"):
        yield factory
