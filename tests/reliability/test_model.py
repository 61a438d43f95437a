"""Model-based testing: random sequences of real operations on a real root, invariants after each.

A Hypothesis state machine over two jobs drives real processes: start a runner, crash it (with
or without its command), stop it, let its command finish, recover (with and without force), bulk
recover, crash a recoverer at a random step, adopt. After every step:

- at most one live owner per job (lock holders and the recorded runner) and one live command;
- every manifest parses, and its generation never goes back;
- audit lines match the recoveries: each CRASH_RECOVERY entry has its audit line, except for
  recoverers killed between the two writes;
- no live job is ever reset: a recovery without force never adds a CRASH_RECOVERY entry while
  an owner or a command of the job lives, and a resting or finished job has no live process.

The default run is small (CI); `-m soak` runs a long one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from logist.core import JobRecoveryManager, LogistError, Outcome
from logist.core._identity import Liveness, identity_from_record, liveness
from logist.core._locking import lock_holder_pids
from logist.core._manifest import MANIFEST_NAME, read_manifest
from logist.core._states import Category, category_of
from reliability._support import (
    add_figure,
    audit_records,
    finish_victim,
    history_events,
    is_alive,
    kill_quietly,
    pids_with_cwd,
    start_victim,
    wait_for,
)

JOBS = ("m0", "m1")
STEPS = Counter()


def command_groups(job_dir: Path) -> set[int]:
    """Live commands of a job: process groups running in its directory (one per command)."""
    groups = set()
    for pid in pids_with_cwd(job_dir):
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    return groups


class RecoveryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="logist-model-"))
        self.root = self.base / "jobs"
        self.root.mkdir()
        self.manager = JobRecoveryManager(self.root, operator="model")
        self.runners: dict[str, subprocess.Popen[bytes]] = {}
        self.adopters: dict[str, int] = {}
        self.spawned: list[subprocess.Popen[Any]] = []
        self.adopter_pids: list[int] = []
        self.generation: Counter[str] = Counter()
        self.killed_recoverers: Counter[str] = Counter()
        self.adoptions: Counter[str] = Counter()
        self.issued: list[str] = []

    # ---- reality -----------------------------------------------------------------------

    def data(self, job: str) -> dict[str, Any] | None:
        return read_manifest(self.root / job / MANIFEST_NAME).data

    def live_owner(self, job: str) -> int | None:
        data = self.data(job)
        owner = identity_from_record((data or {}).get("owner"))
        return owner.pid if owner and liveness(owner) is Liveness.ALIVE else None

    def live(self, job: str) -> bool:
        return self.live_owner(job) is not None or bool(command_groups(self.root / job))

    def recoveries(self, job: str) -> int:
        return history_events(self.data(job) or {}).count("CRASH_RECOVERY")

    def step(self, name: str) -> None:
        STEPS[name] += 1

    # ---- rules -------------------------------------------------------------------------

    @initialize()
    def start_clean(self) -> None:
        self.step("initialize")

    @rule(job=st.sampled_from(JOBS))
    def start_runner(self, job: str) -> None:
        self.step("start runner")
        release = f"release-{len(self.issued)}"
        self.issued.append(release)
        proc = subprocess.Popen(
            [sys.executable, "-m", "logist", "run", "--root", str(self.root),
             "--job-id", job, "--heartbeat", "0.2", "--",
             "sh", "-c", f"until [ -e {release} ]; do sleep 0.02; done"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.spawned.append(proc)

        def settled() -> bool:
            runner = (self.data(job) or {}).get("owner") or {}
            return proc.poll() is not None or (
                runner.get("pid") == proc.pid and bool(runner.get("child_pid"))
            )

        wait_for(settled, timeout=15)
        if proc.poll() is None:
            self.runners[job] = proc
        else:
            assert proc.returncode == 2, f"runner refused with exit {proc.returncode}"

    @precondition(lambda self: self.runners or self.adopters)
    @rule(data=st.data(), with_command=st.booleans())
    def crash_owner(self, data: st.DataObject, with_command: bool) -> None:
        self.step("crash owner")
        job = data.draw(st.sampled_from(sorted({*self.runners, *self.adopters})))
        if with_command:
            for group in command_groups(self.root / job):
                kill_quietly(group, group=True)
        if job in self.runners:
            proc = self.runners.pop(job)
            proc.kill()
            proc.wait()
        else:
            pid = self.adopters.pop(job)
            kill_quietly(pid)
            wait_for(lambda: not is_alive(pid))
        if with_command:
            wait_for(lambda: not command_groups(self.root / job))

    @precondition(lambda self: self.runners or self.adopters)
    @rule(data=st.data(), gracefully=st.booleans())
    def stop_command(self, data: st.DataObject, gracefully: bool) -> None:
        """SIGTERM to the runner (it forwards it), or let the command finish by itself."""
        self.step("stop command")
        job = data.draw(st.sampled_from(sorted({*self.runners, *self.adopters})))
        if gracefully:  # whichever command runs (ours or an adopted one), it is released
            for release in self.issued:
                (self.root / job / release).touch()
        elif job in self.runners:
            self.runners[job].send_signal(signal.SIGTERM)
        else:
            for group in command_groups(self.root / job):
                kill_quietly(group, group=True)
        if job in self.runners:
            proc = self.runners.pop(job)
            assert proc.wait(timeout=15) in (0, 143), proc.returncode
        else:
            pid = self.adopters.pop(job)
            wait_for(lambda: not is_alive(pid), timeout=15)
        data_after = self.data(job)
        assert data_after is not None
        assert data_after["status"] in ("SUCCESS", "INTERVENTION_REQUIRED"), data_after["status"]

    @rule(job=st.sampled_from(JOBS), force=st.booleans())
    def recover(self, job: str, force: bool) -> None:
        self.step("recover")
        live, before = self.live(job), self.recoveries(job)
        result = self.manager.recover_crashed_job(job, force=force)
        assert result.outcome is not Outcome.FAILED or "no job" in result.message, result
        self.after_recovery(job, live, before, force)

    @rule(force=st.booleans(), inferred=st.booleans())
    def bulk_recover(self, force: bool, inferred: bool) -> None:
        self.step("bulk recover")
        live = {job: self.live(job) for job in JOBS}
        before = {job: self.recoveries(job) for job in JOBS}
        resumed = self.manager.resume_bulk_recovery()  # one a killed recoverer left behind
        bulk = self.manager.perform_bulk_recovery(force=force, include_inferred=inferred)
        results = (*(resumed.results if resumed else ()), *bulk.results)
        assert all(r.outcome is not Outcome.FAILED for r in results), bulk.to_dict()
        for job in JOBS:
            self.after_recovery(job, live[job], before[job], force)

    @rule(job=st.sampled_from(JOBS), bulk=st.booleans(), crash_at=st.integers(1, 30))
    def crash_recoverer(self, job: str, bulk: bool, crash_at: int) -> None:
        self.step("crash recoverer")
        live = {j: self.live(j) for j in JOBS}
        before = {j: self.recoveries(j) for j in JOBS}
        scenario, args = ("bulk", []) if bulk else ("recover", [job])
        run = finish_victim(start_victim(scenario, self.root, crash_at, *args))
        if run.killed:
            for j in JOBS if bulk else [job]:
                self.killed_recoverers[j] += 1
        else:
            assert run.returncode == 0, run.stderr
        for j in JOBS:
            self.after_recovery(j, live[j], before[j], force=False)

    @rule(job=st.sampled_from(JOBS))
    def adopt(self, job: str) -> None:
        self.step("adopt")
        try:
            result = self.manager.reattach_to_running_job(job, adopt_timeout=10)
        except LogistError:
            return
        if result.mode == "adopt":
            assert result.supervisor_pid is not None
            self.adopters[job] = result.supervisor_pid
            self.adopter_pids.append(result.supervisor_pid)
            self.adoptions[job] += 1

    def after_recovery(self, job: str, live: bool, before: int, force: bool) -> None:
        if live and not force:
            assert self.recoveries(job) == before, f"{job} was reset while it was live"
        if force and self.recoveries(job) > before:
            assert not self.live(job), f"{job} was force-recovered but a process survived"
            self.runners.pop(job, None)
            self.adopters.pop(job, None)

    # ---- invariants ----------------------------------------------------------------------

    @invariant()
    def at_most_one_owner_and_one_command(self) -> None:
        for job in JOBS:
            lock = self.root / job / ".lock"
            holders = {pid for pid in lock_holder_pids(lock) if is_alive(pid)}
            recorded = self.live_owner(job)
            owners = holders | ({recorded} if recorded else set())
            assert len(owners) <= 1, f"{job} has owners {owners}"
            groups = command_groups(self.root / job)
            assert len(groups) <= 1, f"{job} runs {len(groups)} commands"

    @invariant()
    def manifests_parse_and_generations_only_grow(self) -> None:
        for job in JOBS:
            path = self.root / job / MANIFEST_NAME
            if not path.exists():
                continue
            read = read_manifest(path)
            assert read.ok, read.problems
            generation = read.data.get("generation", 0)
            assert generation >= self.generation[job], f"{job} generation went back"
            self.generation[job] = generation

    @invariant()
    def audit_lines_match_the_recoveries(self) -> None:
        lines = Counter(r["job_id"] for r in audit_records(self.root) if r["action"] == "recover")
        adopted = Counter(
            r["job_id"] for r in audit_records(self.root) if r["action"] == "reattach"
        )
        for job in JOBS:
            entries = self.recoveries(job)
            assert lines[job] <= entries <= lines[job] + self.killed_recoverers[job], (
                f"{job}: {entries} CRASH_RECOVERY entries, {lines[job]} audit lines"
            )
            assert adopted[job] == self.adoptions[job]

    @invariant()
    def a_resting_job_has_no_live_process(self) -> None:
        for job in JOBS:
            data = self.data(job)
            status = data.get("status") if data else None
            if category_of(status) in (Category.RESTING, Category.TERMINAL):
                assert not self.live(job), f"{job} is {status} but a process of it lives"

    def teardown(self) -> None:
        for job in JOBS:
            for group in command_groups(self.root / job):
                kill_quietly(group, group=True)
        for pid in self.adopter_pids:
            kill_quietly(pid)
        for proc in self.spawned:
            kill_quietly(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for job in JOBS:
            with contextlib.suppress(AssertionError):
                wait_for(lambda job=job: not command_groups(self.root / job), timeout=5)
        shutil.rmtree(self.base, ignore_errors=True)


def run_model(max_examples: int, steps: int) -> None:
    STEPS.clear()
    run_state_machine_as_test(
        RecoveryMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    add_figure("model steps", sum(STEPS.values()) - STEPS["initialize"])
    add_figure("model runs", STEPS["initialize"])
    assert STEPS["start runner"] and STEPS["recover"], STEPS


def test_random_sequences_of_runs_crashes_recoveries_and_adoptions_keep_every_invariant() -> None:
    run_model(max_examples=12, steps=20)


@pytest.mark.soak
def test_long_random_sequences_keep_every_invariant() -> None:
    run_model(max_examples=60, steps=40)
