"""Shared fixtures: real jobs roots in tmp_path and real runner processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from logist.core._identity import (
    Liveness,
    ProcessIdentity,
    identity_from_record,
    identity_of,
    liveness,
)
from logist.core._manifest import MANIFEST_NAME

# A pid that cannot exist: pid_max is at most 2**22.
IMPOSSIBLE_PID = 2**22 + 1


@pytest.fixture(autouse=True, scope="session")
def _private_scan_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI keeps a scan cache in $XDG_CACHE_HOME: the tests' own, not the developer's."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture
def jobs_root(tmp_path: Path) -> Path:
    root = tmp_path / "jobs"
    root.mkdir()
    return root


def write_job(
    root: Path, job_id: str, manifest: dict[str, Any] | bytes | None = None, **fields: Any
) -> Path:
    """Create `<root>/<job_id>/job_manifest.json` from a dict (merged with fields) or raw bytes."""
    job_dir = root / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(manifest, bytes):
        (job_dir / MANIFEST_NAME).write_bytes(manifest)
        return job_dir
    data = {
        "job_id": job_id,
        "description": f"job {job_id}",
        "status": "PENDING",
        "history": [],
        **(manifest or {}),
        **fields,
    }
    (job_dir / MANIFEST_NAME).write_text(json.dumps(data, indent=2))
    return job_dir


def read_job(root: Path, job_id: str) -> dict[str, Any]:
    return json.loads((root / job_id / MANIFEST_NAME).read_text())


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until predicate() is truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


@dataclass
class RunningJob:
    job_id: str
    job_dir: Path
    proc: subprocess.Popen[bytes]

    @property
    def runner_pid(self) -> int:
        return self.proc.pid

    @property
    def child_pid(self) -> int:
        return read_job(self.job_dir.parent, self.job_id)["owner"]["child_pid"]

    def kill_owner(self) -> None:
        """SIGKILL the runner and its command: the owner dies without a word, the lock frees."""
        child = identity_of(self.child_pid)
        self.proc.kill()
        self.proc.wait()
        if child is not None:
            os.killpg(child.pid, signal.SIGKILL)
            wait_for(lambda: liveness(child) is Liveness.DEAD)


@pytest.fixture
def start_runner(jobs_root: Path) -> Iterator[Callable[..., RunningJob]]:
    """Start `logist run` as a real process; waits until the command's pid is recorded."""
    started: list[RunningJob] = []
    commands: list[ProcessIdentity] = []
    """Each command's identity as its runner first recorded it: later the manifest may be
    corrupt, name another host, or be retired by a recovery."""

    def start(
        job_id: str, *command: str, heartbeat: float = 0.2, root: Path | None = None
    ) -> RunningJob:
        root = root or jobs_root
        launched = time.time() - 0.01  # mtimes are coarser than time.time()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "logist",
                "run",
                "--root",
                str(root),
                "--job-id",
                job_id,
                "--heartbeat",
                str(heartbeat),
                "--",
                *(command or ("sleep", "60")),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        job = RunningJob(job_id, root / job_id, proc)
        started.append(job)

        def recorded() -> bool:
            # The command runs once it is recorded *and* its gate is open, which the runner's
            # first heartbeat follows; a quick command may be over before we first look.
            try:
                runner = read_job(root, job_id).get("owner")
                beat = (root / job_id / "heartbeat").stat().st_mtime
            except (OSError, ValueError):
                runner, beat = None, 0.0
            command = identity_from_record(runner, "child_pid", "child_start_token")
            if command is not None and beat >= launched:
                commands.append(command)
                return True
            return proc.poll() is not None

        wait_for(recorded)
        return job

    yield start
    for job in started:
        if job.proc.poll() is None:  # still ours and unreaped: its pid cannot be recycled
            with contextlib.suppress(OSError):
                os.kill(job.proc.pid, signal.SIGCONT)
                job.proc.kill()
        job.proc.wait()
        if job.proc.stderr:
            job.proc.stderr.close()
        with contextlib.suppress(OSError, ValueError):  # e.g. an adopted command, re-recorded
            data = read_job(job.job_dir.parent, job.job_id)
            for block in (data.get("owner"), data.get("last_owner")):
                command = identity_from_record(block, "child_pid", "child_start_token")
                if command is not None:
                    commands.append(command)
    # Kill only what is verifiably still a job's command: by now a bare pid may have been
    # recycled, even into another test's process group leader.
    for command in commands:
        if liveness(command) is Liveness.ALIVE:
            with contextlib.suppress(OSError):
                os.killpg(command.pid, signal.SIGKILL)
