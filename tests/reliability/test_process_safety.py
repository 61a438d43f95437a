"""Process safety: force recovery signals only processes whose identity holds at that moment.

The bystander in every test is a real, unrelated, live process that writes down each catchable
signal it receives: it must survive with an empty log. Recycled pids are staged for real where
the kernel allows it (`ns_last_pid`), and with a recorded start token that differs otherwise.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from logist.core import JobRecoveryManager, Outcome, ProcessIdentity, VerdictKind
from logist.core._identity import boot_id, host_name, identity_of
from logist.core._signals import signal_verified, terminate_verified
from reliability._support import (
    SIGNAL_RECORDER,
    Processes,
    SignalRecorder,
    crashed_manifest,
    dead_runner,
    history_events,
    is_alive,
    pids_with_cwd,
    read_job,
    start_token,
    wait_for,
    write_job,
)

NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


def foreign(pid: int, token: int) -> ProcessIdentity:
    return ProcessIdentity(host_name(), boot_id(), pid, token)


def assert_untouched(bystander: SignalRecorder) -> None:
    time.sleep(0.1)  # a signal sent is delivered well within this
    assert bystander.alive(), "the unrelated process was killed"
    assert not bystander.stopped(), "the unrelated process was stopped"
    assert bystander.received() == [], f"the unrelated process got signals {bystander.received()}"


def recorder_at_pid(pid: int, log: Path, procs: Processes) -> SignalRecorder | None:
    """A recorder that gets exactly `pid` (a real recycled pid), or None if the kernel won't."""
    for _ in range(20):
        try:
            NS_LAST_PID.write_text(str(pid - 1))
        except OSError:
            return None
        proc = subprocess.Popen(
            [sys.executable, "-c", SIGNAL_RECORDER, str(log)], start_new_session=True
        )
        procs.track(proc)
        if proc.pid == pid:
            wait_for(log.exists)
            return SignalRecorder(proc, log)
        proc.kill()
        proc.wait()
    return None


def test_signal_verified_sends_nothing_to_a_live_pid_whose_start_token_differs(
    tmp_path: Path, procs: Processes
) -> None:
    bystander = procs.recorder(tmp_path / "signals")
    token = start_token(bystander.pid)
    for signum in (signal.SIGTERM, signal.SIGCONT, signal.SIGKILL, signal.SIGSTOP):
        assert signal_verified(foreign(bystander.pid, token + 1), signum) is False
    assert terminate_verified([foreign(bystander.pid, token - 1)], grace=0.2) == []
    assert_untouched(bystander)
    # the same call does signal the process when the identity is really its own
    assert signal_verified(foreign(bystander.pid, token), signal.SIGUSR1) is True
    wait_for(lambda: bystander.received() == [signal.SIGUSR1])


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(lambda pid, token: {"pid": pid, "start_token": token + 7}, id="owner"),
        pytest.param(
            lambda pid, token: {"child_pid": pid, "child_start_token": token + 7}, id="command"
        ),
    ],
)
def test_force_recovery_of_a_job_whose_recorded_pid_now_runs_an_unrelated_process_spares_it(
    jobs_root: Path,
    tmp_path: Path,
    procs: Processes,
    record: Callable[[int, int], dict[str, Any]],
) -> None:
    bystander = procs.recorder(tmp_path / "signals")
    fields = record(bystander.pid, start_token(bystander.pid))
    write_job(jobs_root, "j", crashed_manifest("j", owner=dead_runner(**fields)))
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("j").verdict.kind is VerdictKind.CRASHED

    result = manager.recover_crashed_job("j", force=True)

    assert result.outcome is Outcome.RECOVERED, result.message
    assert_untouched(bystander)


def test_force_recovery_never_signals_a_legacy_pid_that_may_be_an_unrelated_process(
    jobs_root: Path, tmp_path: Path, procs: Processes
) -> None:
    bystander = procs.recorder(tmp_path / "signals")
    manifest = crashed_manifest("j", process_id=bystander.pid)
    del manifest["owner"]
    write_job(jobs_root, "j", manifest)
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("j").verdict.kind is VerdictKind.SUSPECT

    result = manager.recover_crashed_job("j", force=True)

    assert result.outcome is Outcome.REFUSED
    assert read_job(jobs_root, "j")["status"] == "EXECUTING"
    assert_untouched(bystander)


def test_a_force_plan_whose_owner_pid_was_recycled_before_apply_signals_nobody(
    jobs_root: Path, tmp_path: Path, procs: Processes, start_runner: Callable[..., Any]
) -> None:
    job = start_runner("j", "sleep", "60", heartbeat=0.2)
    future = JobRecoveryManager(jobs_root, clock=lambda: time.time() + 3600)
    plan = future.plan("j", force=True)
    assert plan.verdict is VerdictKind.HUNG and len(plan.signals) == 2
    runner_pid, child_pid = (s.pid for s in plan.signals)
    os.killpg(child_pid, signal.SIGKILL)
    job.proc.kill()
    job.proc.wait()
    wait_for(lambda: not is_alive(child_pid))

    bystander = recorder_at_pid(runner_pid, tmp_path / "signals", procs)
    if bystander is None:  # no real recycling here: the same pid, another start token
        bystander = procs.recorder(tmp_path / "signals")
        plan = replace(
            plan,
            signals=(
                foreign(bystander.pid, start_token(bystander.pid) - 1),
                plan.signals[1],
            ),
        )
    assert bystander.pid == plan.signals[0].pid

    result = future.apply(plan)

    assert_untouched(bystander)
    assert result.outcome is Outcome.RECOVERED, result.message
    data = read_job(jobs_root, "j")
    assert data["status"] == "PENDING" and history_events(data)[-1] == "CRASH_RECOVERY"


@pytest.mark.parametrize("staging", ["frozen-clock", "stopped-and-backdated"])
def test_force_recovery_of_a_hung_job_stops_its_own_processes_and_no_other(
    jobs_root: Path,
    tmp_path: Path,
    procs: Processes,
    start_runner: Callable[..., Any],
    staging: str,
) -> None:
    bystander = procs.recorder(tmp_path / "signals")
    job = start_runner("j", "sleep", "60", heartbeat=0.2)
    runner_pid, child_pid = job.runner_pid, job.child_pid
    if staging == "frozen-clock":
        manager = JobRecoveryManager(jobs_root, clock=lambda: time.time() + 3600)
    else:  # a real hung owner: stopped, its heartbeat an hour old
        os.kill(runner_pid, signal.SIGSTOP)
        wait_for(lambda: _state(runner_pid) in ("T", "t"))
        hour_ago = time.time() - 3600
        os.utime(job.job_dir / "heartbeat", (hour_ago, hour_ago))
        manager = JobRecoveryManager(jobs_root)
    assert manager.job("j").verdict.kind is VerdictKind.HUNG
    assert manager.recover_crashed_job("j").outcome is Outcome.REFUSED, "needs force"

    result = manager.recover_crashed_job("j", force=True)

    assert result.ok, result.message
    job.proc.wait(timeout=10)
    wait_for(lambda: not is_alive(child_pid))
    data = read_job(jobs_root, "j")
    assert data["status"] in ("PENDING", "INTERVENTION_REQUIRED")
    assert "owner" not in data
    assert_untouched(bystander)


def _state(pid: int) -> str:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/stat").read_bytes()
        return raw[raw.rfind(b")") + 2 :][:1].decode()
    return ""


def test_force_recovery_of_a_detached_job_stops_the_children_of_its_command_too(
    jobs_root: Path, tmp_path: Path, procs: Processes, start_runner: Callable[..., Any]
) -> None:
    bystander = procs.recorder(tmp_path / "signals")
    job = start_runner("j", "sh", "-c", "sleep 60 & sleep 60 & wait", heartbeat=0.2)
    procs.directories.append(job.job_dir)
    wait_for(lambda: len(pids_with_cwd(job.job_dir)) == 3)  # the shell and its two sleeps
    job.proc.kill()
    job.proc.wait()
    manager = JobRecoveryManager(jobs_root)
    wait_for(lambda: manager.job("j").verdict.kind is VerdictKind.DETACHED)

    result = manager.recover_crashed_job("j", force=True)

    assert result.outcome is Outcome.RECOVERED, result.message
    wait_for(lambda: pids_with_cwd(job.job_dir) == [], timeout=3)
    assert read_job(jobs_root, "j")["status"] == "PENDING"
    assert_untouched(bystander)


def _group_alive(group: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `group`."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == group:
                alive.append(int(entry))
    return alive


def test_a_child_the_command_forks_while_it_is_terminated_goes_with_it() -> None:
    # The command answers TERM by starting a long child in its group and exiting: that child
    # did not exist when the group was first read (the race the model test found with a
    # `sh -c` loop forking `sleep` every 20 ms).
    command = subprocess.Popen(
        ["sh", "-c", "trap 'sleep 300 & exit 0' TERM; while :; do sleep 0.05; done"],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        identity = None
        while identity is None and time.monotonic() < deadline:
            identity = identity_of(command.pid)
        assert identity is not None
        time.sleep(0.2)  # the trap is set
        signalled = terminate_verified([], grace=3.0, command=identity)
        command.wait(10)
        assert command.pid in signalled
        assert _group_alive(command.pid) == [], "a child forked during the TERM survived"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(command.pid, signal.SIGKILL)
