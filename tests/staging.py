"""Staging real evidence: processes that hold job locks, zombies, dead and recycled pids,
runner blocks, and tree snapshots that prove a root was not written to.

Every process started here is registered with a `Processes` registry whose `cleanup` continues
(SIGCONT) and kills it, so a failing test never leaves anything behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logist.core._identity import ProcessIdentity, identity_of, read_proc_stat
from logist.core._manifest import MANIFEST_NAME, now_naive_iso
from logist.core._signals import signal_verified

OTHER_HOST = "elsewhere.invalid"
"""The only fake in these tests: the host name of a runner on another machine."""

_HOLD_LOCK = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""

# Takes the flock, forks a child that keeps the descriptor (and so the lock), and exits.
_HOLD_LOCK_IN_CHILD = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
pid = os.fork()
if pid == 0:
    time.sleep(600)
    os._exit(0)
print(pid, flush=True)
os._exit(0)
"""

# Takes the flock, starts a second thread, then ends only its main thread (the raw exit
# syscall, not exit_group): the thread-group leader reads Z while the other thread keeps the
# process's descriptors, and so the lock, held. A SIGKILLed multi-threaded runner passes through
# this state for an instant; here it lasts until the process is killed.
_HOLD_LOCK_AFTER_LEADER_EXITS = r"""
import ctypes, fcntl, os, platform, sys, threading, time
SYS_EXIT = {"x86_64": 60, "aarch64": 93}[platform.machine()]
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
threading.Thread(target=time.sleep, args=(600,)).start()
print("locked", flush=True)
ctypes.CDLL(None).syscall(SYS_EXIT, 0)
"""


class Processes:
    """Starts real processes for a test and guarantees they are gone afterwards."""

    def __init__(self) -> None:
        self._popens: list[subprocess.Popen[bytes]] = []
        self._foreign: list[ProcessIdentity] = []

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        proc = subprocess.Popen(args, **kwargs)
        self._popens.append(proc)
        return proc

    def adopt_pid(self, pid: int) -> None:
        """Kill this process at cleanup too (it is not our child, so it is killed by identity:
        by then its bare pid may belong to someone else)."""
        identity = identity_of(pid)
        if identity is not None:
            self._foreign.append(identity)

    def sleeper(self, seconds: float = 60) -> subprocess.Popen[bytes]:
        return self.popen(["sleep", str(seconds)])

    def lock_holder(self, lock_path: Path) -> subprocess.Popen[bytes]:
        """A separate process that holds an exclusive flock on `lock_path` until killed."""
        proc = self.popen(
            [sys.executable, "-c", _HOLD_LOCK, str(lock_path)], stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"locked"
        return proc

    def inherited_lock_holder(self, lock_path: Path) -> tuple[ProcessIdentity, int]:
        """The flock is taken by a process that then dies; its forked child keeps the lock.

        Returns the dead taker's identity (recorded while it lived) and the child's pid.
        """
        proc = self.popen(
            [sys.executable, "-c", _HOLD_LOCK_IN_CHILD, str(lock_path)], stdout=subprocess.PIPE
        )
        taker = identity_of(proc.pid)
        assert taker is not None
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        self.adopt_pid(child)
        proc.wait()
        return taker, child

    def lock_holder_whose_leader_exited(self, lock_path: Path) -> subprocess.Popen[bytes]:
        """A process whose main thread has exited (state Z) while another thread still holds
        an exclusive flock on `lock_path`, until the process is killed."""
        proc = self.popen(
            [sys.executable, "-c", _HOLD_LOCK_AFTER_LEADER_EXITS, str(lock_path)],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"locked"
        wait_until(lambda: _state(proc.pid) == "Z")
        return proc

    def zombie(self) -> ProcessIdentity:
        """A child that exited and that we do not reap (state Z) until cleanup."""
        proc = self.popen(["true"])
        identity = identity_of(proc.pid)
        assert identity is not None
        wait_until(lambda: _state(proc.pid) == "Z")
        return identity

    def dead_identity(self) -> ProcessIdentity:
        """The identity of a real process that has exited and been reaped."""
        proc = self.sleeper()
        identity = identity_of(proc.pid)
        assert identity is not None
        proc.kill()
        proc.wait()
        return identity

    def cleanup(self) -> None:
        for identity in self._foreign:
            if signal_verified(identity, signal.SIGCONT):
                signal_verified(identity, signal.SIGKILL)
        for proc in self._popens:
            if proc.poll() is None:  # unreaped: the pid is still this child's
                _stop_hard(proc.pid)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.stderr is not None:
                proc.stderr.close()


def _stop_hard(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGKILL)


def _state(pid: int) -> str | None:
    stat = read_proc_stat(pid)
    return None if stat is None else stat.state


@pytest.fixture
def procs() -> Iterator[Processes]:
    registry = Processes()
    yield registry
    registry.cleanup()


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)
    return value


def runner_block(
    owner: ProcessIdentity,
    child: ProcessIdentity | None = None,
    *,
    host: str | None = None,
    interval: float = 0.2,
    started_ago: float = 0.0,
) -> dict[str, Any]:
    """A `runner` block as our runner writes it, for an owner staged by the test."""
    return {
        **owner.to_dict(),
        **({"host": host} if host else {}),
        "started_at": now_naive_iso(time.time() - started_ago),
        "command": ["sleep", "60"],
        "child_pid": None if child is None else child.pid,
        "child_start_token": None if child is None else child.start_token,
        "heartbeat_interval_s": interval,
        "log_path": None,
    }


def touch(path: Path, age: float = 0.0) -> None:
    """Create `path` if needed and set its mtime `age` seconds in the past."""
    path.touch()
    moment = time.time() - age
    os.utime(path, (moment, moment))


def edit_manifest(job_dir: Path, **changes: Any) -> None:
    """Change fields as another tool would, keeping `generation` (not a write of ours)."""
    path = job_dir / MANIFEST_NAME
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data, indent=2))


def tree_state(top: Path) -> dict[str, tuple[Any, ...]]:
    """Every entry under `top` with what a write would change: bytes, mode, mtime, link target."""
    found: dict[str, tuple[Any, ...]] = {}
    for directory, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, top)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                found[rel] = ("dir", st.st_mode, st.st_mtime_ns)
            else:
                found[rel] = ("file", st.st_mode, st.st_mtime_ns, Path(path).read_bytes())
    found["."] = ("dir", os.stat(top).st_mode, os.stat(top).st_mtime_ns)
    return found


def crashed_job(root: Path, job_id: str, dead: ProcessIdentity, **fields: Any) -> Path:
    """An EXECUTING job whose recorded runner is a real process that has exited; lock free."""
    job_dir = root / job_id
    job_dir.mkdir(parents=True)
    (job_dir / ".lock").touch()
    manifest = {
        "job_id": job_id,
        "description": f"job {job_id}",
        "status": "EXECUTING",
        "history": [],
        "owner": runner_block(dead),
        **fields,
    }
    (job_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return job_dir


@contextlib.contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Make directories refuse new entries for the duration, even to root.

    Tests run as root, where mode bits are not enforced, so `chmod a-w` proves nothing there;
    the immutable attribute (`chattr +i`) is enforced for root too. Skips when neither works.
    """
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for path in paths:
            path.chmod(0o555)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    done: list[Path] = []
    try:
        for path in paths:
            chattr = shutil.which("chattr")
            if (
                chattr is None
                or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode
            ):
                pytest.skip(
                    "running as root, where permissions are not enforced, and `chattr +i` is not "
                    f"available on {path}'s filesystem: a write cannot be made to fail"
                )
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=True)
