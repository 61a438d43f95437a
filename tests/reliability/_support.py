"""Helpers shared by the reliability tests: staged jobs, victims, processes, tree digests.

Kept apart from `tests/conftest.py` on purpose: several directories of this project grow their own
`conftest.py`, and importing "conftest" by name from a test module picks whichever was loaded
last. Everything a reliability test needs is importable from here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import wait_for
from logist.core._identity import boot_id, host_name, identity_of
from logist.core._manifest import MANIFEST_NAME, TEMP_PREFIX, read_manifest

HERE = Path(__file__).parent
VICTIM = HERE / "_victim.py"
# A pid that cannot exist: pid_max is at most 2**22.
IMPOSSIBLE_PID = 2**22 + 1
FIGURES: dict[str, int] = {}
"""Figures of this run (crash points, hostile inputs, model steps), printed at the end."""
ESCAPES = ("\x1b", "\x07", "\x9b", "\x90", "\x9d")
"""ESC, BEL and the C1 controls CSI, DCS, OSC: none may reach a terminal raw."""


def add_figure(name: str, value: int) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + value


# ---- staged jobs -------------------------------------------------------------------------


def dead_runner(**extra: Any) -> dict[str, Any]:
    """A `runner` block for this host and boot whose pid cannot exist: proof of death."""
    return {
        "host": host_name(),
        "boot_id": boot_id(),
        "pid": IMPOSSIBLE_PID,
        "start_token": 1,
        "started_at": "2026-01-01T00:00:00",
        "command": ["sleep", "60"],
        "child_pid": None,
        "child_start_token": None,
        "heartbeat_interval_s": 5.0,
        "log_path": None,
        **extra,
    }


def crashed_manifest(job_id: str, *, status: str = "EXECUTING", **fields: Any) -> dict[str, Any]:
    """A job whose owner is provably dead: recover sees it as crashed."""
    return {
        "job_id": job_id,
        "description": f"job {job_id}",
        "status": status,
        "generation": 3,
        "history": [
            {"timestamp": "2026-01-01T00:00:00", "event": "JOB_CREATED"},
            {"timestamp": None, "action": "step", "summary": "a step", "new_status": status},
            {"timestamp": "2026-01-01T00:00:02", "event": "RUNNER_STARTED", "new_status": status},
        ],
        "owner": dead_runner(),
        **fields,
    }


def write_job(root: Path, job_id: str, manifest: dict[str, Any] | bytes) -> Path:
    job_dir = root / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    payload = manifest if isinstance(manifest, bytes) else json.dumps(manifest, indent=2).encode()
    (job_dir / MANIFEST_NAME).write_bytes(payload)
    return job_dir


def read_job(root: Path, job_id: str) -> dict[str, Any]:
    read = read_manifest(root / job_id / MANIFEST_NAME)
    assert read.data is not None, f"{job_id}: {[p.message for p in read.problems]}"
    return read.data


def projection(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The same projection the victim reports (status, generation, history, runner)."""
    from reliability._victim import projection as victim_projection

    return victim_projection(data)


def history_events(data: dict[str, Any]) -> list[str | None]:
    return [h.get("event") for h in data.get("history", []) if isinstance(h, dict)]


def job_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def temp_leftovers(root: Path) -> list[Path]:
    """Every temp file of an interrupted atomic write anywhere under the root."""
    return sorted(p for p in root.rglob(f"{TEMP_PREFIX}*") if p.is_file())


def audit_records(root: Path) -> list[dict[str, Any]]:
    path = root / ".logist" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---- the victim --------------------------------------------------------------------------


@dataclass
class VictimRun:
    """One run of `_victim.py`: the steps it reported and how it ended."""

    returncode: int
    steps: list[dict[str, Any]]
    result: Any
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def labels(self) -> list[str]:
        return [s["step"] for s in self.steps]


def start_victim(scenario: str, root: Path, crash_at: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(VICTIM), scenario, str(root), str(crash_at), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_victim(proc: subprocess.Popen[str], timeout: float = 30.0) -> VictimRun:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"victim did not finish in {timeout}s: {err}")
    steps, result = [], None
    for line in out.splitlines():
        record = json.loads(line)
        if "result" in record:
            result = record["result"]
        else:
            steps.append(record)
    return VictimRun(proc.returncode, steps, result, err)


def run_victim(scenario: str, root: Path, crash_at: int, *args: str) -> VictimRun:
    return finish_victim(start_victim(scenario, root, crash_at, *args))


# ---- processes ---------------------------------------------------------------------------


def start_token(pid: int) -> int:
    identity = identity_of(pid)
    assert identity is not None, f"pid {pid} is gone"
    return identity.start_token


def is_alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie has exited; only its parent has not reaped it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            raw = stream.read()
    except OSError:
        return False
    return raw[raw.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def pids_with_cwd(directory: Path) -> list[int]:
    """Live processes whose working directory is `directory` (how a job's command is found)."""
    real = os.path.realpath(directory)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/cwd") == real and is_alive(int(entry)):
                found.append(int(entry))
        except OSError:
            continue
    return found


def kill_quietly(pid: int | None, *, group: bool = False) -> None:
    if not pid:
        return
    with contextlib.suppress(OSError):
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)


SIGNAL_RECORDER = textwrap.dedent(
    """
    import os, signal, sys, time
    log = sys.argv[1]
    def note(signum, frame):
        with open(log, "a") as stream:
            stream.write(f"{signum}\\n")
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGQUIT"):
        signal.signal(getattr(signal, name), note)
    open(log, "a").close()
    while True:
        time.sleep(0.05)
    """
)


@dataclass
class SignalRecorder:
    """An unrelated live process that writes down every catchable signal it receives."""

    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def received(self) -> list[int]:
        return [int(n) for n in self.log.read_text().split()]

    def alive(self) -> bool:
        return self.proc.poll() is None and is_alive(self.pid)

    def stopped(self) -> bool:
        with open(f"/proc/{self.pid}/stat", "rb") as stream:
            raw = stream.read()
        return raw[raw.rfind(b")") + 2 :][:1] in (b"T", b"t")


@dataclass
class Processes:
    """Every process a test starts, killed (by pid, never by name) when the test ends."""

    popens: list[subprocess.Popen[Any]] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    directories: list[Path] = field(default_factory=list)

    def track(self, proc: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
        self.popens.append(proc)
        return proc

    def sleeper(self, seconds: float = 60.0, *, session: bool = True) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(["sleep", str(seconds)], start_new_session=session)
        return self.track(proc)

    def recorder(self, log: Path) -> SignalRecorder:
        proc = self.track(
            subprocess.Popen(
                [sys.executable, "-c", SIGNAL_RECORDER, str(log)], start_new_session=True
            )
        )
        wait_for(log.exists)
        return SignalRecorder(proc, log)

    def cleanup(self) -> None:
        for directory in self.directories:
            for pid in pids_with_cwd(directory):
                kill_quietly(pid)
        for group in self.groups:
            kill_quietly(group, group=True)
        for proc in self.popens:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGCONT)
            kill_quietly(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


@contextlib.contextmanager
def processes() -> Iterator[Processes]:
    tracked = Processes()
    try:
        yield tracked
    finally:
        tracked.cleanup()


# ---- the CLI -----------------------------------------------------------------------------


@dataclass
class CliRun:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, prefix: tuple[str, ...] = (), timeout: float = 60.0) -> CliRun:
    """`logist ARGS` as a subprocess, as an operator or CI would run it."""
    env = {k: v for k, v in os.environ.items() if k not in ("LOGIST_JOBS_DIR", "NO_COLOR")}
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "logist", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env={**env, "PYTHONIOENCODING": "utf-8"},
    )
    return CliRun(
        tuple(args),
        proc.returncode,
        proc.stdout.decode("utf-8", "backslashreplace"),
        proc.stderr.decode("utf-8", "backslashreplace"),
    )


# ---- trees -------------------------------------------------------------------------------


def tree_digest(top: Path) -> dict[str, tuple[Any, ...]]:
    """Everything that a write, touch, chmod, truncate or link would change, per path.

    Symlinks are recorded, not followed; atime is left out (reading is allowed).
    """
    digest: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in [*sorted(dirnames + filenames), "."]:
            path = os.path.join(dirpath, name) if name != "." else dirpath
            st = os.lstat(path)
            key = os.path.relpath(path, top)
            meta: tuple[Any, ...] = (
                stat.S_IFMT(st.st_mode),
                stat.S_IMODE(st.st_mode),
                st.st_size,
                st.st_nlink,
                st.st_mtime_ns,
                st.st_ctime_ns,
            )
            if stat.S_ISLNK(st.st_mode):
                meta += (os.readlink(path),)
            elif stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
                with contextlib.suppress(PermissionError):
                    meta += (hashlib.sha256(Path(path).read_bytes()).hexdigest(),)
            digest[key] = meta
    return digest
