"""Crash injection: kill the process at every step of every write path and check what is left.

Each scenario runs once untouched in `_victim.py` (the trace run, which names every step), then
once per step N with a SIGKILL just before step N, each time in a fresh root. After every crash:

- every manifest and every backup parses;
- each job is exactly in the state the last completed manifest rename left it in (before or after
  each write, never between; its history is never lost or duplicated);
- the leftovers of an interrupted write are reported by validation and removed by its fix;
- the next run (recover, resume, run, adopt again) completes the work, exactly once.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logist.core import JobRecoveryManager, Outcome, VerdictKind
from logist.core._manifest import (
    BACKUP_DIR,
    MANIFEST_NAME,
    dumps,
    parse_manifest,
    read_manifest,
)
from logist.core._validation import FixKind
from reliability._support import (
    Processes,
    VictimRun,
    add_figure,
    audit_records,
    crashed_manifest,
    dead_runner,
    finish_victim,
    history_events,
    is_alive,
    pids_with_cwd,
    projection,
    read_job,
    run_cli,
    run_victim,
    start_token,
    start_victim,
    temp_leftovers,
    write_job,
)

WORKERS = 3
RELEASE = "release"
# The job's command for the runner and adoption scenarios: runs until the test releases it, in
# the job directory (the runner's cwd), so a command left running is found by its cwd.
HELD_COMMAND = ("sh", "-c", f"until [ -e {RELEASE} ]; do sleep 0.01; done")


@dataclass
class Staged:
    """What a scenario staged in one root: victim args, the jobs to check, their start."""

    args: list[str]
    jobs: list[str]
    initial: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    victim: str
    stage: Callable[[Path, Processes], Staged]
    next_run: Callable[[Path, Staged, Processes], None]
    check_final: Callable[[Path, Staged], None]
    drive: Callable[[Path, int, Staged], VictimRun] | None = None
    check_crash: Callable[[Path, Staged], None] | None = None


def snapshot_initial(root: Path, staged: Staged) -> Staged:
    for job_id in staged.jobs:
        path = root / job_id / MANIFEST_NAME
        raw = path.read_bytes() if path.exists() else b""
        staged.raw[job_id] = raw
        staged.initial[job_id] = projection(parse_manifest(raw).data) if raw else None
    return staged


def release_when(
    root: Path, n: int, staged: Staged, ready: Callable[[dict[str, Any], int], bool]
) -> VictimRun:
    """Run the victim; release the job's command once `ready(manifest, victim_pid)` holds."""
    proc = start_victim(staged.extra["victim"], root, n, *staged.args)
    job_dir = root / staged.jobs[0]
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        read = read_manifest(job_dir / MANIFEST_NAME)
        if read.data is not None and ready(read.data, proc.pid):
            (job_dir / RELEASE).touch()
        time.sleep(0.005)
    return finish_victim(proc)


# ---- the checks every crash point gets ----------------------------------------------------


def expected_states(staged: Staged, steps: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Each job's state after steps 1..n-1: the last manifest installed, or the initial one."""
    state = dict(staged.initial)
    for step in steps[: n - 1]:
        if "installs" in step and step["job"] in state:
            state[step["job"]] = step["installs"]
    return state


def check_after_crash(
    root: Path, staged: Staged, trace: VictimRun, n: int, scenario: Scenario
) -> list[str]:
    """The checks of one crash point; returns the leftovers it found (for the figures)."""
    expected = expected_states(staged, trace.steps, n)
    for job_dir in (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        manifest = job_dir / MANIFEST_NAME
        read = read_manifest(manifest)
        original = staged.raw.get(job_dir.name, b"")
        if manifest.exists() and parse_manifest(original).data is not None:
            assert read.ok, f"{job_dir.name}: manifest does not parse: {read.problems}"
        for backup in sorted((job_dir / BACKUP_DIR).glob("job_manifest_*.json.backup")):
            if backup.name not in staged.extra.get("staged_backups", ()):
                assert parse_manifest(backup.read_bytes()).ok, f"backup {backup.name} is broken"
        if job_dir.name in expected:
            actual = projection(read.data) if read.data is not None else None
            assert actual == expected[job_dir.name], (
                f"{job_dir.name} is between states:\n  actual   {actual}\n"
                f"  expected {expected[job_dir.name]}"
            )
            before = parse_manifest(original).data
            if read.data is not None and before is not None:
                kept = read.data.get("history", [])[: len(before.get("history", []))]
                assert kept == before.get("history"), f"{job_dir.name}: history entries changed"
    check_audit_matches_history(root, staged, trace, n)
    if scenario.check_crash is not None:
        scenario.check_crash(root, staged)
    leftovers = temp_leftovers(root)
    manager = JobRecoveryManager(root, operator="checker")
    findings = manager.validate_job_consistency()
    reported = [f for f in findings if f.fix is FixKind.REMOVE_WRITE_LEFTOVERS]
    if leftovers:
        assert reported, f"leftovers {[str(p.relative_to(root)) for p in leftovers]} not reported"
    for finding in reported:
        result = manager.fix(finding)
        assert result.ok, result.message
    assert temp_leftovers(root) == [], "validate --fix left temp files behind"
    # a recovery whose audit line the crash prevented is reported, and its fix writes the line
    unaudited = {f.job_id for f in findings if f.fix is FixKind.RECONCILE_AUDIT}
    in_window = {job for job in staged.jobs if n in audit_window(trace, job)}
    assert unaudited == in_window, f"audit-missing for {unaudited}, window for {in_window}"
    for finding in findings:
        if finding.fix is FixKind.RECONCILE_AUDIT:
            result = manager.fix(finding)
            assert result.ok, result.message
    check_audit_matches_history(root, staged, trace, None)
    return [str(p.relative_to(root)) for p in leftovers]


def audit_window(trace: VictimRun, job_id: str) -> range:
    """Crash points between a job's CRASH_RECOVERY rename and its audit append.

    The manifest and the audit log are two files: a SIGKILL between the two writes leaves the
    CRASH_RECOVERY history entry (the durable record) without its audit line. Nowhere else.
    """
    for i, step in enumerate(trace.steps):
        installs = step.get("installs") or {}
        events = [h[0] for h in installs.get("history", [])]
        if step.get("job") == job_id and "CRASH_RECOVERY" in events[-1:]:
            for j in range(i + 1, len(trace.steps)):
                if trace.steps[j]["step"].endswith(".logist/audit.jsonl"):
                    # the append is several steps (open, flock): the line is written after all
                    while j + 1 < len(trace.steps) and trace.steps[j + 1]["step"].endswith(
                        ".logist/audit.jsonl"
                    ):
                        j += 1
                    return range(i + 2, j + 2)  # crash before step j+1 (1-based) included
    return range(0)


def check_audit_matches_history(
    root: Path, staged: Staged, trace: VictimRun, n: int | None
) -> None:
    """One audit line per CRASH_RECOVERY entry; one short inside a crash's audit window unless
    `n` is None (after validate --fix reconciled it)."""
    records = audit_records(root)
    for job_id in staged.jobs:
        read = read_manifest(root / job_id / MANIFEST_NAME)
        if read.data is None:
            continue
        recoveries = history_events(read.data).count("CRASH_RECOVERY") - history_events(
            parse_manifest(staged.raw[job_id]).data or {}
        ).count("CRASH_RECOVERY")
        lines = sum(1 for r in records if r["job_id"] == job_id and r["action"] == "recover")
        if n is not None and n in audit_window(trace, job_id):
            assert lines == recoveries - 1, f"{job_id}: {lines} audit lines, {recoveries} entries"
        else:
            assert lines == recoveries, f"{job_id}: {lines} audit lines, {recoveries} entries"


# ---- the sweep ---------------------------------------------------------------------------


def sweep(scenario: Scenario, base: Path, procs: Processes) -> tuple[VictimRun, list[str]]:
    """Trace once, then crash before every step; returns the trace and every failure."""

    def fresh(name: str) -> tuple[Path, Staged]:
        root = base / name / "jobs"
        root.mkdir(parents=True)
        staged = snapshot_initial(root, scenario.stage(root, procs))
        staged.extra.setdefault("victim", scenario.victim)
        procs.directories.extend(root / j for j in staged.jobs)
        return root, staged

    def drive(root: Path, n: int, staged: Staged) -> VictimRun:
        if scenario.drive is not None:
            return scenario.drive(root, n, staged)
        return run_victim(scenario.victim, root, n, *staged.args)

    root, staged = fresh("trace")
    trace = drive(root, 0, staged)
    assert trace.returncode == 0, trace.stderr
    scenario.check_final(root, staged)

    def point(n: int) -> str | None:
        root, staged = fresh(f"point-{n:03d}")
        label = trace.labels[n - 1]
        try:
            run = drive(root, n, staged)
            assert run.killed, f"victim was not killed (exit {run.returncode}): {run.stderr}"
            assert run.labels == trace.labels[:n], "the steps differ from the trace run"
            check_after_crash(root, staged, trace, n, scenario)
            scenario.next_run(root, staged, procs)
            scenario.check_final(root, staged)
        except AssertionError as exc:
            return f"crash before step {n} ({label}): {exc}"
        finally:
            for job_id in staged.jobs:
                if (root / job_id).is_dir():
                    (root / job_id / RELEASE).touch()
        return None

    with ThreadPoolExecutor(WORKERS) as pool:
        failures = [f for f in pool.map(point, range(1, len(trace.steps) + 1)) if f]
    add_figure("crash points", len(trace.steps))
    return trace, failures


def assert_sweep(scenario: Scenario, base: Path, procs: Processes, *required: str) -> VictimRun:
    trace, failures = sweep(scenario, base, procs)
    for label in required:
        assert any(label in step for step in trace.labels), f"no crash point {label!r}"
    assert not failures, "\n".join(failures)
    return trace


# ---- scenarios -----------------------------------------------------------------------------


def recovered_exactly_once(root: Path, staged: Staged, job_id: str) -> None:
    data = read_job(root, job_id)
    before = parse_manifest(staged.raw[job_id]).data
    assert before is not None
    assert data["status"] == "PENDING"
    assert data["history"][:-1] == before["history"], "history lost or rewritten"
    assert history_events(data)[-1] == "CRASH_RECOVERY"
    assert history_events(data).count("CRASH_RECOVERY") == 1
    assert data["generation"] == before["generation"] + 1
    assert data["recovery"]["crash_count"] == 1
    assert "owner" not in data and data["last_owner"] == before["owner"]


def stage_write(root: Path, _procs: Processes) -> Staged:
    job_dir = write_job(root, "w", crashed_manifest("w"))
    backups = job_dir / BACKUP_DIR
    backups.mkdir()
    for i in range(10):  # a full set: the next backup rotates the oldest out
        name = f"job_manifest_20260101T0000{i:02d}_000000.json.backup"
        (backups / name).write_bytes(dumps(crashed_manifest("w", generation=i)))
    return Staged(["w"], ["w"])


def next_write(root: Path, staged: Staged, _procs: Processes) -> None:
    run = run_victim("write", root, 0, *staged.args)
    assert run.returncode == 0, run.stderr


def final_write(root: Path, staged: Staged) -> None:
    data = read_job(root, "w")
    before = parse_manifest(staged.raw["w"]).data
    assert before is not None
    assert data["status"] == "PENDING"
    assert data["history"][: len(before["history"])] == before["history"]
    assert set(history_events(data)[len(before["history"]) :]) == {"VICTIM_WRITE"}
    backups = sorted((root / "w" / BACKUP_DIR).glob("*.backup"))
    assert len(backups) == 10, "backup rotation lost count"
    assert any(b.read_bytes() == staged.raw["w"] for b in backups), "original not backed up"


def stage_recover(root: Path, _procs: Processes) -> Staged:
    write_job(root, "r", crashed_manifest("r"))
    return Staged(["r"], ["r"])


def next_recover(root: Path, _staged: Staged, _procs: Processes) -> None:
    result = JobRecoveryManager(root, operator="next").recover_crashed_job("r")
    assert result.outcome in (Outcome.RECOVERED, Outcome.NOOP), result.message


def final_recover(root: Path, staged: Staged) -> None:
    recovered_exactly_once(root, staged, "r")


def stage_bulk(root: Path, _procs: Processes) -> Staged:
    for job_id in ("b1", "b2"):
        write_job(root, job_id, crashed_manifest(job_id))
    write_job(root, "idle", crashed_manifest("idle", status="PENDING"))
    return Staged([], ["b1", "b2", "idle"])


def next_bulk(root: Path, _staged: Staged, _procs: Processes) -> None:
    manager = JobRecoveryManager(root, operator="next")
    bulk = manager.resume_bulk_recovery()
    if bulk is None:
        bulk = manager.perform_bulk_recovery()
    assert bulk.ok, bulk.to_dict()


def final_bulk(root: Path, staged: Staged) -> None:
    for job_id in ("b1", "b2"):
        recovered_exactly_once(root, staged, job_id)
    assert (root / "idle" / MANIFEST_NAME).read_bytes() == staged.raw["idle"]
    assert not (root / ".logist" / "bulk-request.json").exists(), "bulk request not cleared"


def stage_run(root: Path, _procs: Processes) -> Staged:
    return Staged(["x", *HELD_COMMAND], ["x"])


def drive_run(root: Path, n: int, staged: Staged) -> VictimRun:
    return release_when(
        root, n, staged, lambda data, _pid: bool((data.get("owner") or {}).get("child_pid"))
    )


def no_untracked_command(root: Path, staged: Staged) -> None:
    """A live command in the job directory must be visible to recovery (detached, not crashed)."""
    job_id = staged.jobs[0]
    manager = JobRecoveryManager(root, operator="checker")
    kind = manager.job(job_id).verdict.kind if (root / job_id / MANIFEST_NAME).exists() else None
    alive = pids_with_cwd(root / job_id)
    deadline = time.monotonic() + 1.0
    while alive and kind not in (VerdictKind.DETACHED, VerdictKind.RUNNING):
        # a command still at the runner's gate exits on its own once the runner is dead: give
        # it a moment; a command that really runs keeps running (until the test releases it)
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
        alive = pids_with_cwd(root / job_id)
    if alive:
        assert kind in (VerdictKind.DETACHED, VerdictKind.RUNNING), (
            f"command pid(s) {alive} still run but the job is {kind}: recovery would reset a "
            "live job and a re-run would start the command twice"
        )


def next_run(root: Path, staged: Staged, _procs: Processes) -> None:
    job_id = staged.jobs[0]
    manager = JobRecoveryManager(root, operator="next")
    if (root / job_id / MANIFEST_NAME).exists():
        kind = manager.job(job_id).verdict.kind
        if kind in (VerdictKind.CRASHED, VerdictKind.DETACHED):
            result = manager.recover_crashed_job(job_id, force=kind is VerdictKind.DETACHED)
            assert result.outcome is Outcome.RECOVERED, result.message
        if read_job(root, job_id)["status"] == "SUCCESS":
            return
    run = run_victim("run", root, 0, job_id, "true")
    assert run.returncode == 0, run.stderr


def final_run(root: Path, staged: Staged) -> None:
    job_id = staged.jobs[0]
    data = read_job(root, job_id)
    events = history_events(data)
    assert data["status"] == "SUCCESS"
    assert events[0] == "JOB_CREATED" and events.count("JOB_CREATED") == 1
    assert events.count("RUNNER_STARTED") == events.count("RUNNER_FINISHED") + events.count(
        "CRASH_RECOVERY"
    ), events
    assert "owner" not in data
    assert pids_with_cwd(root / job_id) == [], "the command outlived its job"


def stage_adopt(root: Path, procs: Processes) -> Staged:
    job_dir = root / "d"
    job_dir.mkdir()
    child = procs.track(subprocess.Popen(list(HELD_COMMAND), cwd=job_dir, start_new_session=True))
    runner = {"child_pid": child.pid, "child_start_token": start_token(child.pid)}
    write_job(root, "d", crashed_manifest("d", owner=dead_runner(**runner)))
    return Staged(["d"], ["d"], extra={"child": child})


def drive_adopt(root: Path, n: int, staged: Staged) -> VictimRun:
    return release_when(
        root, n, staged, lambda data, pid: (data.get("owner") or {}).get("pid") == pid
    )


def next_adopt(root: Path, staged: Staged, _procs: Processes) -> None:
    if (root / "d" / RELEASE).exists():  # released before the crash: let it finish first
        staged.extra["child"].wait(timeout=10)
    manager = JobRecoveryManager(root, operator="next")
    kind = manager.job("d").verdict.kind
    if kind is VerdictKind.DETACHED:
        run = drive_adopt(root, 0, staged)
        assert run.returncode == 0, run.stderr
    elif kind is VerdictKind.CRASHED:
        result = manager.recover_crashed_job("d")
        assert result.outcome is Outcome.RECOVERED, result.message
    staged.extra["child"].wait(timeout=10)


def final_adopt(root: Path, staged: Staged) -> None:
    data = read_job(root, "d")
    events = history_events(data)
    assert data["status"] in ("INTERVENTION_REQUIRED", "PENDING"), data["status"]
    assert "owner" not in data
    assert events[:3] == history_events(parse_manifest(staged.raw["d"]).data or {})
    assert events.count("RUNNER_FINISHED") + events.count("CRASH_RECOVERY") >= 1
    assert not is_alive(staged.extra["child"].pid)


def stage_fix(root: Path, _procs: Processes) -> Staged:
    good = crashed_manifest("c", status="PENDING")
    job_dir = write_job(root, "c", dumps(good)[:40])  # truncated mid-write by some other tool
    backups = job_dir / BACKUP_DIR
    backups.mkdir()
    (backups / "job_manifest_20260101T000000_000000.json.backup").write_bytes(dumps(good))
    broken = "job_manifest_20260102T000000_000000.json.backup"
    (backups / broken).write_bytes(b"{trunc")  # the newest backup is broken too: skipped
    return Staged([], ["c"], extra={"staged_backups": {broken}})


def next_fix(root: Path, _staged: Staged, _procs: Processes) -> None:
    run = run_victim("fix", root, 0)
    assert run.returncode == 0, run.stderr


def final_fix(root: Path, staged: Staged) -> None:
    data = read_job(root, "c")
    assert data["status"] == "PENDING"
    assert history_events(data).count("MANIFEST_RESTORED") == 1
    kept = [p.read_bytes() for p in (root / "c" / BACKUP_DIR).glob("*.corrupt")]
    assert staged.raw["c"] in kept, "the broken bytes were not kept"


# ---- the tests -----------------------------------------------------------------------------


def test_a_crash_at_any_step_of_an_atomic_write_leaves_the_old_or_the_new_manifest(
    tmp_path: Path, procs: Processes
) -> None:
    scenario = Scenario("write", stage_write, next_write, final_write)
    assert_sweep(
        scenario,
        tmp_path,
        procs,
        "rename w/<tmp:job_manifest.json> -> w/job_manifest.json",
        "fsync-dir w",
        "remove w/.backups/<backup>",
    )


def test_a_crash_at_any_step_of_a_recovery_leaves_the_job_crashed_or_recovered(
    tmp_path: Path, procs: Processes
) -> None:
    scenario = Scenario("recover", stage_recover, next_recover, final_recover)
    assert_sweep(scenario, tmp_path, procs, "flock-ex r/.lock", "create .logist/audit.jsonl")


def test_a_crash_at_any_step_of_a_bulk_recovery_is_finished_by_resume_recovering_each_job_once(
    tmp_path: Path, procs: Processes
) -> None:
    scenario = Scenario("bulk", stage_bulk, next_bulk, final_bulk)
    assert_sweep(
        scenario,
        tmp_path,
        procs,
        "rename .logist/<tmp:bulk-request.json> -> .logist/bulk-request.json",
        "remove .logist/bulk-request.json",
    )


def test_a_runner_killed_at_any_step_leaves_a_recoverable_job_and_no_untracked_command(
    tmp_path: Path, procs: Processes
) -> None:
    scenario = Scenario(
        "run", stage_run, next_run, final_run, drive=drive_run, check_crash=no_untracked_command
    )
    assert_sweep(scenario, tmp_path, procs, "create x/logs/runner.log", "remove x/heartbeat")


def test_an_adopter_killed_at_any_step_leaves_the_job_adoptable_or_recoverable(
    tmp_path: Path, procs: Processes
) -> None:
    scenario = Scenario(
        "adopt",
        stage_adopt,
        next_adopt,
        final_adopt,
        drive=drive_adopt,
        check_crash=no_untracked_command,
    )
    assert_sweep(scenario, tmp_path, procs, "flock-ex d/.lock", "rename d/<tmp:job_manifest.json>")


def test_a_crash_while_restoring_a_manifest_from_backup_keeps_the_broken_bytes_and_the_backup(
    tmp_path: Path, procs: Processes
) -> None:
    scenario = Scenario("fix", stage_fix, next_fix, final_fix)
    assert_sweep(scenario, tmp_path, procs, "create c/.backups/<tmp:<corrupt>>")


def test_validate_fix_on_the_command_line_reports_and_removes_an_interrupted_writes_temp_file(
    tmp_path: Path,
) -> None:
    trace_root, root = tmp_path / "trace", tmp_path / "jobs"
    for base in (trace_root, root):
        base.mkdir()
        write_job(base, "r", crashed_manifest("r"))
    original = (root / "r" / MANIFEST_NAME).read_bytes()
    steps = run_victim("recover", trace_root, 0, "r").labels
    n = steps.index("create r/<tmp:job_manifest.json>") + 2  # killed after the temp's creation
    crashed = run_victim("recover", root, n, "r")
    assert crashed.killed and len(temp_leftovers(root)) == 1

    report = run_cli("validate", "--root", str(root), "--json")
    codes = [f["code"] for f in report.json()["findings"]]
    assert "write-leftovers" in codes, report.stdout
    fixed = run_cli("validate", "--root", str(root), "--fix", "--yes", "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert [r["outcome"] for r in fixed.json()["fixes"]] == ["fixed"]
    assert temp_leftovers(root) == []
    assert (root / "r" / MANIFEST_NAME).read_bytes() == original, "the manifest was touched"
