"""The lock probe and process identity, against real flock holders and real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import IMPOSSIBLE_PID, wait_for
from logist.core import Liveness, LockBusy, LockState
from logist.core._identity import (
    current_identity,
    identity_of,
    legacy_liveness,
    liveness,
    read_proc_stat,
)
from logist.core._locking import JobLock, lock_holder_pids, probe_lock
from logist.core._signals import signal_verified, terminate_verified
from staging import OTHER_HOST, Processes, tree_state


@pytest.fixture
def job_dir(jobs_root: Path) -> Path:
    path = jobs_root / "j"
    path.mkdir()
    return path


def test_probing_a_missing_lock_says_free_and_creates_nothing(job_dir: Path) -> None:
    assert probe_lock(job_dir / ".lock") is LockState.FREE
    assert list(job_dir.iterdir()) == []


def test_probing_a_free_lock_leaves_its_bytes_mode_and_mtime_alone(job_dir: Path) -> None:
    lock = job_dir / ".lock"
    lock.write_bytes(b"pid 123\n")
    os.chmod(lock, 0o600)
    before = tree_state(job_dir)
    assert probe_lock(lock) is LockState.FREE
    assert tree_state(job_dir) == before


def test_a_lock_held_by_another_process_probes_held_and_names_its_holder(
    job_dir: Path, procs: Processes
) -> None:
    lock = job_dir / ".lock"
    holder = procs.lock_holder(lock)
    before = tree_state(job_dir)
    assert probe_lock(lock) is LockState.HELD
    assert lock_holder_pids(lock) == [holder.pid]
    assert tree_state(job_dir) == before
    holder.kill()
    holder.wait()
    assert probe_lock(lock) is LockState.FREE
    assert lock_holder_pids(lock) == []


def test_a_lock_that_is_a_symlink_probes_unknown_without_following_it(
    job_dir: Path, outside: Path
) -> None:
    (job_dir / ".lock").symlink_to(outside / ".lock")
    assert probe_lock(job_dir / ".lock") is LockState.UNKNOWN


def test_holding_a_job_lock_while_someone_else_has_it_is_refused_with_the_holder(
    job_dir: Path, procs: Processes
) -> None:
    holder = procs.lock_holder(job_dir / ".lock")
    with pytest.raises(LockBusy) as caught:
        JobLock(job_dir, "j").acquire()
    assert caught.value.holder_pid == holder.pid
    assert f"held by pid {holder.pid}" in str(caught.value)


def test_a_released_job_lock_keeps_its_file_and_is_free(job_dir: Path) -> None:
    with JobLock(job_dir, "j"):
        assert probe_lock(job_dir / ".lock") is LockState.HELD
    assert (job_dir / ".lock").exists()
    assert probe_lock(job_dir / ".lock") is LockState.FREE


def test_a_command_started_by_the_lock_holder_does_not_inherit_the_lock(
    job_dir: Path, procs: Processes
) -> None:
    with JobLock(job_dir, "j"):
        child = procs.popen(["sleep", "60"], close_fds=False)
    assert child.poll() is None
    assert probe_lock(job_dir / ".lock") is LockState.FREE


# Forks at the script's first flock (before it is taken), as a subprocess started by another
# thread at that instant would: the child has a copy of every descriptor until it execs (here,
# until the script tells it to exit). Then "hold" takes and releases the job lock and probes
# it; "probe" probes the lock and then takes it. Each prints what it saw after the release.
_FORK_AT_FIRST_FLOCK = r"""
import fcntl, os, sys
from logist.core import LockBusy
from logist.core._locking import JobLock, probe_lock

job_dir, mode = sys.argv[1], sys.argv[2]
told, tell = os.pipe()
forked = []

def fork_at_first_flock(event, args):
    if event == "fcntl.flock" and args[1] & (fcntl.LOCK_SH | fcntl.LOCK_EX) and not forked:
        pid = os.fork()
        if pid == 0:
            os.read(told, 1)
            os._exit(0)
        forked.append(pid)

sys.addaudithook(fork_at_first_flock)
if mode == "hold":
    with JobLock(job_dir, "j"):
        pass
    print(probe_lock(os.path.join(job_dir, ".lock")))
else:
    probe_lock(os.path.join(job_dir, ".lock"))
    try:
        JobLock(job_dir, "j").acquire()
        print("taken")
    except LockBusy:
        print("busy")
os.write(tell, b"x")
os.waitpid(forked[0], 0)
"""


@pytest.mark.parametrize(("mode", "seen"), [("hold", "free"), ("probe", "taken")])
def test_a_released_lock_is_free_while_a_child_forked_during_the_hold_still_has_its_descriptor(
    job_dir: Path, mode: str, seen: str
) -> None:
    """A flock belongs to the open file, which a forked child shares until it execs: closed
    without an unlock, a job lock (or a probe's shared lock) outlived its release. A recovery
    in one thread of the console while another started a subprocess left the job "held by an
    unknown process" after the recovery returned (tests/reliability/test_crash_points.py)."""
    (job_dir / ".lock").write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-c", _FORK_AT_FIRST_FLOCK, str(job_dir), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [seen]


def test_a_lock_kept_by_a_forked_child_after_its_taker_died_is_still_held(
    job_dir: Path, procs: Processes
) -> None:
    taker, child = procs.inherited_lock_holder(job_dir / ".lock")
    assert liveness(taker) is Liveness.DEAD
    assert probe_lock(job_dir / ".lock") is LockState.HELD
    # /proc/locks keeps naming the process that took the lock, not the child that has it
    assert lock_holder_pids(job_dir / ".lock") == [taker.pid]
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: probe_lock(job_dir / ".lock") is LockState.FREE)


def test_the_start_token_is_field_22_of_proc_stat(procs: Processes) -> None:
    proc = procs.sleeper()
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    identity = identity_of(proc.pid)
    assert identity is not None
    assert identity.start_token == int(fields[19])
    assert liveness(identity) is Liveness.ALIVE
    assert liveness(current_identity()) is Liveness.ALIVE


def test_a_live_unrelated_process_on_a_recorded_pid_is_a_dead_owner(procs: Processes) -> None:
    proc = procs.sleeper()
    identity = identity_of(proc.pid)
    assert identity is not None
    recycled = identity._replace(start_token=identity.start_token - 1)
    assert liveness(recycled) is Liveness.DEAD


def test_a_zombie_is_dead(procs: Processes) -> None:
    assert liveness(procs.zombie()) is Liveness.DEAD


def test_an_owner_whose_main_thread_exited_is_alive_while_another_thread_holds_its_lock(
    job_dir: Path, procs: Processes
) -> None:
    lock = job_dir / ".lock"
    proc = procs.lock_holder_whose_leader_exited(lock)
    identity = identity_of(proc.pid)
    assert identity is not None
    stat = read_proc_stat(proc.pid)
    assert stat is not None and (stat.state, stat.threads) == ("Z", 2)
    assert probe_lock(lock) is LockState.HELD
    assert liveness(identity) is Liveness.ALIVE
    assert legacy_liveness(proc.pid) is Liveness.UNVERIFIABLE
    proc.kill()  # the last thread goes: the lock is released, the zombie is not yet reaped
    wait_for(lambda: probe_lock(lock) is LockState.FREE)
    wait_for(lambda: liveness(identity) is Liveness.DEAD)
    assert proc.poll() is not None


def test_an_exited_and_reaped_process_is_dead(procs: Processes) -> None:
    assert liveness(procs.dead_identity()) is Liveness.DEAD


def test_a_pid_that_cannot_exist_is_dead() -> None:
    me = current_identity()
    assert liveness(me._replace(pid=IMPOSSIBLE_PID)) is Liveness.DEAD


def test_a_process_recorded_before_the_last_boot_is_dead() -> None:
    assert liveness(current_identity()._replace(boot_id="an-earlier-boot")) is Liveness.DEAD


def test_an_owner_on_another_host_is_remote_whatever_its_pid() -> None:
    # the one fake: only the host name differs from a live local process
    assert liveness(current_identity()._replace(host=OTHER_HOST)) is Liveness.REMOTE


def test_nothing_recorded_is_none() -> None:
    assert liveness(None) is Liveness.NONE


def test_a_legacy_pid_that_exists_is_unverifiable_and_one_that_does_not_is_dead(
    procs: Processes,
) -> None:
    assert legacy_liveness(procs.sleeper().pid) is Liveness.UNVERIFIABLE
    assert legacy_liveness(IMPOSSIBLE_PID) is Liveness.DEAD
    assert legacy_liveness(procs.zombie().pid) is Liveness.DEAD


def test_a_signal_goes_only_to_the_process_whose_identity_still_matches(
    procs: Processes,
) -> None:
    proc = procs.sleeper()
    identity = identity_of(proc.pid)
    assert identity is not None
    assert not signal_verified(identity._replace(start_token=identity.start_token + 1), 9)
    assert proc.poll() is None
    assert signal_verified(identity, signal.SIGKILL)
    assert proc.wait(5) == -signal.SIGKILL
    assert not signal_verified(identity, signal.SIGKILL)


def test_terminating_wakes_a_stopped_process_so_that_term_ends_it(procs: Processes) -> None:
    proc = procs.sleeper()
    identity = identity_of(proc.pid)
    assert identity is not None
    os.kill(proc.pid, signal.SIGSTOP)
    wait_for(lambda: Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T")
    assert terminate_verified([identity], grace=5) == [proc.pid]
    assert proc.wait(5) == -signal.SIGTERM


def test_terminating_kills_what_ignores_term_after_the_grace(procs: Processes) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print(1, flush=True); time.sleep(60)"
    )
    proc = procs.popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()
    identity = identity_of(proc.pid)
    assert identity is not None
    terminate_verified([identity], grace=0.3)
    assert proc.wait(5) == -signal.SIGKILL


def test_terminating_leaves_a_process_alone_whose_identity_does_not_match(
    procs: Processes,
) -> None:
    proc = procs.sleeper()
    identity = identity_of(proc.pid)
    assert identity is not None
    assert terminate_verified([identity._replace(start_token=1)], grace=0.1) == []
    assert proc.poll() is None
