"""Fixtures for the unattended watch: `logist watch` as a real process on a real root."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from logist.core._journal import EVENTS_NAME, read_events
from staging import procs

__all__ = ["procs"]


@dataclass
class Watch:
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def events(self, kind: str | None = None, job_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e for e in read_events(self.root, job_id=job_id) if kind is None or e["kind"] == kind
        ]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


def journal_path(root: Path) -> Path:
    return root / ".logist" / EVENTS_NAME


@pytest.fixture
def start_watch(tmp_path: Path) -> Iterator[Callable[..., Watch]]:
    """Start `logist watch` on a root; every watch started is stopped (then killed) after."""
    started: list[Watch] = []

    def start(root: Path, *args: str, env: dict[str, str] | None = None) -> Watch:
        log = tmp_path / f"watch-{len(started)}.log"
        with open(log, "wb") as stream:
            proc = subprocess.Popen(
                [sys.executable, "-m", "logist", "watch", "--root", str(root), *args],
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=stream,
                env={**os.environ, **(env or {})},
            )
        watch = Watch(root, proc, log)
        started.append(watch)
        return watch

    yield start
    for watch in started:
        if watch.proc.poll() is None:
            watch.proc.send_signal(signal.SIGTERM)
            try:
                watch.proc.wait(5)
            except subprocess.TimeoutExpired:
                watch.proc.kill()
                watch.proc.wait()


def kill_runner_and_command(runner_pid: int, command_pid: int) -> None:
    """A proven crash: the runner dies first (so nobody records an outcome), then its command."""
    os.kill(runner_pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(command_pid, signal.SIGKILL)


def manifest(root: Path, job_id: str) -> dict[str, Any]:
    return json.loads((root / job_id / "job_manifest.json").read_text())
