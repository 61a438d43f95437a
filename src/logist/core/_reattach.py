"""Reattach: watch a running job, or adopt a detached one with a new supervisor.

The adoption itself is an action: it goes through the acting path (confined, audited), and
the supervisor's output file is opened safely (a FIFO there hung `reattach`; issue 8).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import BinaryIO

from ._acting import Acting
from ._errors import NotRecoverable
from ._identity import Liveness, identity_from_record, liveness, read_proc_stat
from ._manifest import LAST_OWNER_KEY, MANIFEST_NAME, read_manifest
from ._results import ReattachResult
from ._safeio import APPEND_FLAGS, UnsafeFile, open_regular
from ._scan import JobState
from ._verdicts import RESTING_KINDS


def watch(state: JobState, log_path: str | None) -> ReattachResult:
    """What a watcher of a running job needs: pid, uptime, log, heartbeat age."""
    owner = identity_from_record(state.facts.owner or {})
    pid = owner.pid if owner else state.observation.owner_pid
    return ReattachResult(
        state.job_id,
        "watch",
        pid,
        uptime(pid),
        log_path,
        state.verdict.evidence.get("heartbeat_age_s"),
        f"watching pid {pid}" if pid else "watching (owner holds the lock)",
        status=state.facts.status,
        verdict=str(state.verdict.kind),
    )


def would_adopt(state: JobState, log_path: str | None) -> ReattachResult:
    """What adopting would do, without doing it (the CLI asks first)."""
    child = state.observation.child_pid
    return ReattachResult(
        state.job_id,
        "would-adopt",
        child,
        uptime(child),
        log_path,
        None,
        "would start a supervisor to adopt its still-running command"
        + (f" pid {child}" if child else ""),
        status=state.facts.status,
        verdict=str(state.verdict.kind),
    )


def reset_while_alive(state: JobState) -> bool:
    """A resting job whose last command still runs: it was reset while alive."""
    if state.verdict.kind not in RESTING_KINDS:
        return False
    read = read_manifest(state.path / MANIFEST_NAME)
    last = read.data.get(LAST_OWNER_KEY) if read.data else None
    child = identity_from_record(last, "child_pid", "child_start_token")
    return child is not None and liveness(child) is Liveness.ALIVE


def adopt(
    acting: Acting, root: Path, job_id: str, log_path: str | None, timeout: float
) -> ReattachResult:
    """Start `logist runner adopt` in its own session and wait until it owns the job."""
    taken: list[ReattachResult] = []

    def start(state: JobState) -> int:
        logs = state.path / "logs"
        logs.mkdir(exist_ok=True)
        interval = (state.facts.owner or {}).get("heartbeat_interval_s")
        beat = ["--heartbeat", str(interval)] if isinstance(interval, int | float) else []
        with _open_adopt_log(logs) as out:
            supervisor = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "logist",
                    "runner",
                    "adopt",
                    "--root",
                    str(root),
                    *beat,
                    job_id,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        started.append(supervisor)
        return supervisor.pid

    started: list[subprocess.Popen[bytes]] = []

    def wait(pid: int) -> str:
        supervisor = started[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = acting.fresh(job_id)
            owner = identity_from_record(fresh.facts.owner)
            if owner is not None and owner.pid == pid:
                child = fresh.observation.child_pid
                message = f"supervisor pid {pid} adopted command pid {child}"
                taken.append(
                    ReattachResult(
                        job_id,
                        "adopt",
                        child,
                        uptime(child),
                        log_path,
                        None,
                        message,
                        pid,
                        fresh.facts.status,
                        str(fresh.verdict.kind),
                    )
                )
                return f"adopted by pid {pid}"
            if supervisor.poll() is not None:
                raise NotRecoverable(
                    f"the adopting supervisor exited with status {supervisor.returncode}; "
                    "see logs/adopt.log"
                )
            time.sleep(0.05)
        raise NotRecoverable(f"the adopting supervisor (pid {pid}) did not take over")

    acting.adopt(job_id, start, wait)
    return taken[0]


def _open_adopt_log(logs: Path) -> BinaryIO:
    """The adopting supervisor's output file: a confined regular file, else /dev/null (a link
    led out of the root, tests/reliability/test_hostile_roots.py; a FIFO hung reattach)."""
    try:
        if logs.is_symlink():
            raise UnsafeFile(logs, "is a symlink")
        fd = open_regular(logs / "adopt.log", APPEND_FLAGS)
    except (OSError, UnsafeFile):
        fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    return os.fdopen(fd, "ab")


def uptime(pid: int | None) -> float | None:
    """How long `pid` has run: the boot clock less its start, both counted since boot.

    Not `time.time() - psutil.Process(pid).create_time()`: psutil adds the start to /proc/stat's
    `btime`, the boot time cut to a whole second, so that figure ran long by the fraction cut
    (0.887 s on one boot here)."""
    if pid is None:
        return None
    stat = read_proc_stat(pid)
    if stat is None:
        return None
    started = stat.start_token / os.sysconf("SC_CLK_TCK")
    return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
