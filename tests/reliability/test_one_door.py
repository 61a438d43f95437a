"""One guarded door: the acting path is the only code that changes a job or signals a process,
and the steps that make it safe cannot be dropped without a test failing.

Each test here names the step it protects: the grep over the source (no second door), the
fsync of the temp file and of the directory around the rename, the identity re-check after
`pidfd_open`, an `flock` that fails with ENOLCK never read as free.
"""

from __future__ import annotations

import ast
import errno
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logist.core import LockState
from logist.core._locking import probe_lock
from logist.core._manifest import atomic_write_bytes
from logist.core._signals import signal_verified
from reliability._support import Processes, add_figure
from reliability.test_process_safety import NS_LAST_PID, foreign, start_token

SRC = Path(__file__).parents[2] / "src" / "logist"

# Who may call what. The acting path (`_acting`, with its private signalling seam `_signals`)
# is the one door to job directories and job processes; `_manifest` holds the one atomic write.
# Named exceptions: the runner is the job's owner (it writes its own manifest under its lock,
# fenced on `generation`, and signals its own command's group); the demo stages its own
# processes; files of the root's state directory (scan cache, watch journal and state, bulk
# request, the index) are not job files; the watch's hooks are its own children; the console's
# settings file lives in the user's XDG config directory, outside any root.
ALLOWED: dict[str, set[str]] = {
    "os.replace": {"core/_manifest.py", "core/_scan_cache.py"},
    "os.rename": {"watch/_journal.py"},
    "os.kill": {"core/_signals.py"},
    "signal.pidfd_send_signal": {"core/_signals.py"},
    "os.killpg": {"runner.py", "demo.py"},
    "kill_session": {"core/_signals.py", "watch/_hooks.py"},
    "signal_verified": {"core/_signals.py", "demo.py"},
    "terminate_verified": {"core/_signals.py", "core/_acting.py", "runner.py"},
    "write_manifest": {"core/_manifest.py", "core/_acting.py", "runner.py"},
    "atomic_write_bytes": {
        "core/_manifest.py",
        "core/_acting.py",
        "core/_bulk.py",
        "core/_index.py",
        "core/_journal.py",
        "watch/_service.py",
        "demo.py",
        "console/config.py",
    },
}


def called_names(tree: ast.AST) -> set[str]:
    """Dotted names of everything called in a module (`os.kill`, `write_manifest`)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                names.add(f"{func.value.id}.{func.attr}")
    return names


def test_only_the_acting_path_writes_manifests_or_sends_signals() -> None:
    seen: dict[str, set[str]] = {name: set() for name in ALLOWED}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for name in called_names(ast.parse(path.read_text(), rel)) & ALLOWED.keys():
            seen[name].add(rel)
    stray = {name: sorted(files - ALLOWED[name]) for name, files in seen.items()}
    assert not any(stray.values()), f"a second door: {stray}"
    assert seen["signal.pidfd_send_signal"] == {"core/_signals.py"}  # the scan sees the door


def test_the_atomic_write_syncs_the_temp_file_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "job_manifest.json"
    atomic_write_bytes(target, b"{}\n")
    assert [c[0] for c in calls] == ["fsync", "replace", "fsync"], calls
    temp, _, directory = (c[1] for c in calls)
    assert Path(temp).parent == tmp_path and Path(temp).name.startswith(".logist-tmp-")
    assert Path(directory) == tmp_path


def test_a_pid_reused_between_the_check_and_pidfd_open_is_not_signalled(
    tmp_path: Path, procs: Processes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recorded process dies and a stranger gets its pid right before `pidfd_open`: only
    the identity re-check after the open can tell, so dropping it kills the stranger."""
    victim = procs.sleeper()
    identity = foreign(victim.pid, start_token(victim.pid))
    stranger: list[object] = []
    real_open = os.pidfd_open

    def reuse_then_open(pid: int, flags: int = 0) -> int:
        # a start token counts clock ticks (10 ms): a pid reused within the same tick would
        # carry the same token, a limit of (pid, start time) itself (README "Guarantees")
        time.sleep(0.05)
        victim.kill()
        victim.wait()
        for _ in range(50):
            try:
                NS_LAST_PID.write_text(str(pid - 1))
            except OSError:
                pytest.skip("cannot stage a reused pid: /proc/sys/kernel/ns_last_pid is read-only")
            proc = procs.track(
                subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            )
            if proc.pid == pid:
                stranger.append(proc)
                break
            proc.kill()
            proc.wait()
        else:
            pytest.skip("the kernel would not hand out the same pid again")
        return real_open(pid, flags)

    monkeypatch.setattr(os, "pidfd_open", reuse_then_open)
    assert signal_verified(identity, signal.SIGKILL) is False
    [proc] = stranger
    assert proc.poll() is None, "the stranger that reused the pid was killed"  # type: ignore[attr-defined]
    add_figure("attacks tried", 1)


def test_a_lock_probe_that_fails_with_enolck_is_unknown_never_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faked: ENOLCK comes from NFS lock managers that cannot be staged on one machine."""
    lock = tmp_path / ".lock"
    lock.touch()
    real_flock = fcntl.flock

    def no_locks(fd: int, operation: int) -> None:
        if operation & fcntl.LOCK_NB:
            raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", no_locks)
    assert probe_lock(lock) is LockState.UNKNOWN
