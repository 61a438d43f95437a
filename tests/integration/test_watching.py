"""The core's event-driven detection with real runners: pidfd deaths, file changes, fallbacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import RunningJob, read_job, wait_for, write_job
from logist._pace import foreground_busy, foreground_done
from logist.core import JobRecoveryManager, VerdictKind, Wake, Watching, _watching
from logist.core._identity import identity_of
from logist.core._manifest import atomic_write_bytes
from logist.core._scan import JobState
from logist.core._states import Category
from logist.core._watching import _maybe_active
from staging import Processes, crashed_job, runner_block, touch

_HOLD_LOCKS = """
import fcntl, os, sys, time
held = [os.open(path, os.O_RDONLY) for path in sys.argv[1:]]
for fd in held:
    fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


def _first_wake(watching: Watching, want: Callable[[Wake], bool], timeout: float = 10.0) -> Wake:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wake = watching.wait(timeout=deadline - time.monotonic())
        if want(wake):
            return wake
    raise AssertionError("no such wake in time")


def _settled(manager: JobRecoveryManager, watching: Watching) -> None:
    """Follow the root as judged now until nothing more happens (the start-up pass, the
    runners' last writes), as a user re-judges and follows after every wake."""
    for attempt in range(50):
        watching.follow(manager.scan().jobs.values())
        if not watching.wait(timeout=0.3).jobs and attempt > 0:
            return
    raise AssertionError("the root never settled")


def test_a_runner_killed_wakes_the_waiter_at_once_with_its_job_and_exit_time(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = start_runner("victim")
    start_runner("bystander")
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        assert watching.coverage().pidfds == 2
        killed_at = time.time()
        os.kill(job.runner_pid, signal.SIGKILL)
        wake = _first_wake(watching, lambda w: bool(w.jobs))
        assert wake.jobs == {"victim"} and not wake.everything
        assert 0 <= wake.exits["victim"] - killed_at < 1.0
    finally:
        watching.close()


def test_one_owner_of_many_jobs_is_one_pidfd_that_wakes_them_all(
    jobs_root: Path, procs: Processes
) -> None:
    """A process recorded as the owner of several jobs (one runner holding many) is held by
    one pidfd; every job is tracked and none is due by the periodic rule; its death wakes
    them all at once."""
    names = ["first", "second", "third"]
    for name in names:
        (jobs_root / name).mkdir()
        (jobs_root / name / ".lock").touch()
    owner = procs.popen(
        [sys.executable, "-c", _HOLD_LOCKS, *(str(jobs_root / n / ".lock") for n in names)],
        stdout=subprocess.PIPE,
    )
    assert owner.stdout is not None and owner.stdout.readline().strip() == b"locked"
    identity = identity_of(owner.pid)
    assert identity is not None
    for name in names:
        manifest = {"job_id": name, "status": "EXECUTING", "history": []}
        manifest["owner"] = runner_block(identity, interval=60.0)
        write_job(jobs_root, name, manifest)
        touch(jobs_root / name / "heartbeat")
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        states = manager.scan().jobs
        assert all(states[name].verdict.kind is VerdictKind.RUNNING for name in names)
        assert watching.coverage().pidfds == 1
        assert watching.tracked() == set(names)
        lease = manager.policy.lease_factor
        due = watching.due(states.values(), lease_factor=lease, interval=2.0, now=time.time())
        assert due == set()
        os.kill(owner.pid, signal.SIGKILL)
        wake = _first_wake(watching, lambda w: bool(w.jobs))
        assert wake.jobs == set(names) and set(wake.exits) == set(names)
        watching.follow(manager.scan().jobs.values())
        watching.wait(timeout=0.3)
        assert watching.coverage().pidfds == 0 and watching.tracked() == set()
    finally:
        watching.close()


def test_a_recycled_pid_is_not_watched_as_the_owner(jobs_root: Path, procs: Processes) -> None:
    """The recorded start token names a process that is gone; a live process now has its pid."""
    stranger = identity_of(procs.sleeper().pid)
    assert stranger is not None
    crashed_job(jobs_root, "reused", stranger._replace(start_token=stranger.start_token - 1))
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        assert watching.coverage().pidfds == 0
    finally:
        watching.close()


def test_a_manifest_replaced_and_a_new_job_wake_the_waiter(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    start_runner("active")
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        data = read_job(jobs_root, "active")
        data["current_phase"] = "two"
        manifest = jobs_root / "active" / "job_manifest.json"
        atomic_write_bytes(manifest, json.dumps(data).encode())  # ours: renamed into place
        assert "active" in _first_wake(watching, lambda w: bool(w.jobs)).jobs
        watching.follow(manager.scan().jobs.values())  # as a user does after re-judging
        manifest.write_text(json.dumps(data))  # Logist's tools: written in place
        assert "active" in _first_wake(watching, lambda w: bool(w.jobs)).jobs
        write_job(jobs_root, "newcomer")
        assert _first_wake(watching, lambda w: w.everything)
    finally:
        watching.close()


def test_the_same_states_followed_again_keep_what_is_watched_and_take_back_what_was_let_go(
    jobs_root: Path, start_runner: Callable[..., RunningJob], procs: Processes
) -> None:
    """`follow` of the states it followed last changes nothing (no look at each job again),
    except what an event let go meanwhile: a manifest's watch, dropped by its write, is taken
    again from the same states; and it keeps giving what following from scratch gives."""
    start_runner("active")
    crashed_job(jobs_root, "dead", procs.dead_identity())
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        states = dict(manager.scan().jobs)
        watching.follow(states)
        watching.wait(timeout=0.2)
        seen = (watching.coverage(), watching.tracked(), watching.watched(), watching.quiet())
        assert seen[1] == {"active"} and seen[2] == {"active", "dead"}
        watching.follow(states)
        watching.wait(timeout=0.2)
        assert (watching.coverage(), watching.tracked(), watching.watched()) == seen[:3]
        manifest = jobs_root / "active" / "job_manifest.json"
        manifest.write_text(manifest.read_text())  # in place: the watch is let go
        assert "active" in _first_wake(watching, lambda w: bool(w.jobs)).jobs
        assert "active" not in watching.watched()
        watching.follow(states)  # the same states: the watch is taken again
        watching.wait(timeout=0.2)
        assert watching.watched() == seen[2] and watching.coverage() == seen[0]
        fresh = Watching(jobs_root, interval=60.0)
        try:
            fresh.follow(states)
            fresh.wait(timeout=0.2)
            assert (fresh.coverage(), fresh.tracked(), fresh.watched()) == seen[:3]
        finally:
            fresh.close()
    finally:
        watching.close()


def test_a_running_jobs_heartbeat_does_not_wake_the_waiter(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    start_runner("beating", heartbeat=0.05)
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        assert watching.wait(timeout=0.5) == Wake(), "20 heartbeats woke the waiter"
    finally:
        watching.close()


def test_more_owners_than_descriptors_are_left_to_the_periodic_pass(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    for n in range(3):
        start_runner(f"job{n}")
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=0.3, max_pidfds=1)
    try:
        _settled(manager, watching)
        coverage = watching.coverage()
        assert (coverage.pidfds, coverage.unwatched) == (1, 2)
        started = time.monotonic()
        assert _first_wake(watching, lambda w: w.periodic)  # the periodic pass still comes
        assert time.monotonic() - started < 2.0
    finally:
        watching.close()


def test_interrupt_from_another_thread_returns_wait(jobs_root: Path) -> None:
    watching = Watching(jobs_root, interval=60.0)
    try:
        _first_wake(watching, lambda w: w.everything)
        threading.Timer(0.1, watching.interrupt).start()
        assert watching.wait().interrupted
    finally:
        watching.close()


def test_the_root_watch_comes_back_with_the_root(jobs_root: Path, tmp_path: Path) -> None:
    watching = Watching(jobs_root, interval=60.0)
    try:
        _first_wake(watching, lambda w: w.everything)
        jobs_root.rename(tmp_path / "aside")
        assert _first_wake(watching, lambda w: w.everything)
        assert not watching.coverage().root_watched
        (tmp_path / "aside").rename(jobs_root)
        watching.interrupt()
        _first_wake(watching, lambda w: w.everything)  # re-watched: a whole pass is due
        assert watching.coverage().root_watched
        write_job(jobs_root, "after")
        assert _first_wake(watching, lambda w: w.everything)
    finally:
        watching.close()


def test_scans_trust_quiet_jobs_evidence_but_still_see_their_heartbeat_age_and_death(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = start_runner("quiet", heartbeat=0.2)
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        assert watching.quiet() == {"quiet"}
        manager.follow_events(watching.quiet)
        assert manager.scan().jobs["quiet"].verdict.kind is VerdictKind.RUNNING
        os.kill(job.runner_pid, signal.SIGSTOP)  # alive (its pidfd stays quiet), beats no more
        try:
            wait_for(lambda: manager.scan().jobs["quiet"].verdict.kind is VerdictKind.HUNG)
        finally:
            os.kill(job.runner_pid, signal.SIGCONT)
        os.kill(job.runner_pid, signal.SIGKILL)
        _first_wake(watching, lambda w: "quiet" in w.jobs)
        assert "quiet" not in watching.quiet()
        assert manager.scan().jobs["quiet"].verdict.kind is VerdictKind.DETACHED
    finally:
        manager.follow_events(None)
        watching.close()


def test_due_names_only_what_no_event_covers_and_a_heartbeat_about_to_lapse(
    jobs_root: Path, start_runner: Callable[..., RunningJob], procs: Processes
) -> None:
    """The light pass's rule (`logist watch` and the console's light tick): a running job
    held by a pidfd with a watched manifest is due only when its heartbeat nears its lease;
    a job whose owner is not tracked is due every time."""
    start_runner("watched", heartbeat=5)
    crashed_job(jobs_root, "dead", procs.dead_identity())
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        states = manager.scan().jobs
        assert states["watched"].verdict.kind is VerdictKind.RUNNING
        assert watching.tracked() == {"watched"}
        lease = manager.policy.lease_factor
        now = time.time()
        assert watching.due(states.values(), lease_factor=lease, interval=2.0, now=now) == set()
        # a tick of 5 * lease seconds would let the heartbeat lapse before the next one
        assert watching.due(states.values(), lease_factor=lease, interval=5.0 * lease, now=now) == {
            "watched"
        }
        # the same job no longer held by a pidfd (say, more owners than descriptors): due
        unheld = Watching(jobs_root, interval=60.0, max_pidfds=0)
        try:
            unheld.follow(states.values())
            unheld.wait(timeout=0.3)
            assert unheld.tracked() == set()
            assert "watched" in unheld.due(
                states.values(), lease_factor=lease, interval=2.0, now=now
            )
            # a dict's active states kept for it: the same answers as its states given anew,
            # and another dict (a job gone) looked at again
            for _ in range(2):
                assert unheld.due(
                    dict(states), lease_factor=lease, interval=2.0, now=now
                ) == unheld.due(states.values(), lease_factor=lease, interval=2.0, now=now)
            shown = dict(states)
            assert "watched" in unheld.due(shown, lease_factor=lease, interval=2.0, now=now)
            assert "watched" in unheld.due(shown, lease_factor=lease, interval=2.0, now=now)
            without = {job: state for job, state in states.items() if job != "watched"}
            assert "watched" not in unheld.due(without, lease_factor=lease, interval=2.0, now=now)
        finally:
            unheld.close()
    finally:
        watching.close()


def test_due_still_names_a_stopped_runner_whose_heartbeat_nears_its_lease(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    """`due` skips the stat of a heartbeat it knows to be fresh; one that stops beating still
    turns due, however many calls came between."""
    job = start_runner("stopping", heartbeat=0.2)
    manager = JobRecoveryManager(jobs_root)
    watching = Watching(jobs_root, interval=60.0)
    try:
        _settled(manager, watching)
        states = manager.scan().jobs.values()
        lease = manager.policy.lease_factor

        def due() -> frozenset[str]:
            return watching.due(states, lease_factor=lease, interval=0.1, now=time.time())

        assert due() == set()
        os.kill(job.runner_pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 10
            while "stopping" not in due():  # the memo of fresh beats must not hide it
                assert time.monotonic() < deadline, "a stopped heartbeat never became due"
                time.sleep(0.01)
        finally:
            os.kill(job.runner_pid, signal.SIGCONT)
    finally:
        watching.close()


def test_the_states_due_looks_at_are_every_active_one(jobs_root: Path) -> None:
    """`due` looks only at the states C-level passes find may be active: every state whose
    category is active is among them, whatever made it (a scan, or a copy without evidence)."""
    write_job(jobs_root, "running", status="EXECUTING")
    write_job(jobs_root, "torn", b'{"status": "EXECUTING"')
    write_job(jobs_root, "rests", status="PENDING")
    write_job(jobs_root, "odd", status="NOT_A_STATE")
    write_job(jobs_root, "no-status", {"description": "none"})
    states = list(JobRecoveryManager(jobs_root).scan().jobs.values())
    running = next(state for state in states if state.job_id == "running")
    assert running.evidence is not None
    states.append(replace(running, evidence=None))  # active by its status alone
    found = _maybe_active(states)
    active = [state for state in states if state.category is Category.ACTIVE]
    assert len(active) == 2 and all(any(s is state for s in found) for state in active)
    assert {state.job_id for state in found} == {"running"}


def test_the_states_found_maybe_active_in_short_passes_are_those_of_one_pass(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The C-level passes over every state made a slice at a time (at 100,000 jobs one pass
    held the GIL 15-20 ms): slices of 2 find the same states in the same order."""
    for number in range(9):
        status = ("EXECUTING", "PENDING", "SUCCESS", "NOT_A_STATE")[number % 4]
        write_job(jobs_root, f"job-{number}", status=status)
    write_job(jobs_root, "torn", b'{"status": "EXECUTING"')
    states = list(JobRecoveryManager(jobs_root).scan().jobs.values())
    whole = _maybe_active(states)
    monkeypatch.setattr(_watching, "PASS_STEP", 2)
    sliced = _maybe_active(states)
    assert len(whole) >= 3 and [s.job_id for s in whole] == [s.job_id for s in sliced]
    assert all(a is b for a, b in zip(whole, sliced, strict=True))


def test_the_watching_threads_passes_step_aside_while_a_key_is_handled(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's watching thread makes its passes over every state after each poll: with
    the foreground flagged busy (a key on the event loop) it waits between slices, and once
    the key is done it finds what it finds unflagged (real threads; no time is asserted)."""
    for number in range(9):
        write_job(jobs_root, f"job-{number}", status=("EXECUTING", "SUCCESS")[number % 2])
    states = list(JobRecoveryManager(jobs_root).scan().jobs.values())
    monkeypatch.setattr(_watching, "PASS_STEP", 2)
    found: list[list[JobState]] = []
    token = foreground_busy(300.0)
    worker = threading.Thread(target=lambda: found.append(_maybe_active(states)), daemon=True)
    try:
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and not found  # waiting for the key, however long it took
    finally:
        foreground_done(token)
    worker.join(60)
    assert not worker.is_alive()
    assert [s.job_id for s in found[0]] == [s.job_id for s in _maybe_active(states)]
