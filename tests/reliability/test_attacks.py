"""Attacks on the safety promise (issue 8), each staged for real: files, FIFOs, other users
(`nobody`), live processes, tmpfs mounts. Every case held means: no hang, no traceback, no
live job touched, nothing outside the root changed, no bytes that could not be kept replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import RunningJob, wait_for
from logist.core import JobRecoveryManager, LogistError, Outcome, Policy, VerdictKind
from logist.core._audit import read_audit
from logist.core._manifest import DEFAULT_SIZE_CAP, MANIFEST_NAME, read_manifest
from reliability._support import (
    Processes,
    add_figure,
    crashed_manifest,
    dead_runner,
    is_alive,
    pids_with_cwd,
    run_cli,
    start_token,
    tree_digest,
    write_job,
)

NOBODY = pwd.getpwnam("nobody")
NO_DAC = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-all",
    "--",
)
"""Root without the capabilities that ignore permission bits: another user, as far as files
go (`nobody` cannot run this interpreter, which lives under /root)."""
ATTACKS: set[str] = set()


def attack(name: str) -> None:
    """Count an attack case for the reliability figures line."""
    if name not in ATTACKS:
        ATTACKS.add(name)
        add_figure("attacks tried", 1)


def no_traceback(run: object) -> None:
    assert "Traceback" not in getattr(run, "stderr", ""), getattr(run, "stderr", "")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A sibling of the root holding every link target: it must never change."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


# ---- stale plans ------------------------------------------------------------------------


def test_a_stale_force_plan_for_a_hung_job_that_came_back_to_life_is_refused(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    attack("stale force plan, hung job revived")
    job = start_runner("h", "sleep", "60", heartbeat=0.2)
    manager = JobRecoveryManager(jobs_root)
    os.kill(job.runner_pid, signal.SIGSTOP)
    try:
        wait_for(lambda: manager.job("h").kind is VerdictKind.HUNG, timeout=20)
        plan = manager.plan("h", force=True)
        assert plan.allowed and plan.signals
    finally:
        os.kill(job.runner_pid, signal.SIGCONT)
    wait_for(lambda: manager.job("h").kind is VerdictKind.RUNNING, timeout=20)
    result = manager.apply(plan)
    assert (result.outcome, result.error) == (Outcome.REFUSED, "JobChanged"), result.message
    assert "hung when planned and is running now" in result.message
    assert is_alive(job.runner_pid) and is_alive(job.child_pid)


def test_a_stale_plan_for_a_stalled_job_is_refused_after_new_log_activity(
    jobs_root: Path,
) -> None:
    attack("stale plan, stalled job active again")
    job_dir = write_job(jobs_root, "s", {"job_id": "s", "status": "EXECUTING", "history": []})
    (job_dir / "logs").mkdir()
    log = job_dir / "logs" / "step.log"
    log.write_text("old\n")
    old = time.time() - 7200
    for path in (log, job_dir / MANIFEST_NAME):
        os.utime(path, (old, old))
    manager = JobRecoveryManager(jobs_root, policy=Policy(stall_after=1800))
    plan = manager.plan("s")
    assert plan.verdict is VerdictKind.STALLED and plan.allowed
    with log.open("a") as stream:
        stream.write("the job is alive after all\n")
    before = (job_dir / MANIFEST_NAME).read_bytes()
    result = manager.apply(plan)
    assert (result.outcome, result.error) == (Outcome.REFUSED, "JobChanged"), result.message
    assert (job_dir / MANIFEST_NAME).read_bytes() == before


# ---- bytes that cannot be kept ----------------------------------------------------------


def valid_backup(job_dir: Path, job_id: str) -> None:
    backups = job_dir / ".backups"
    backups.mkdir(exist_ok=True)
    (backups / "job_manifest_20260101T000000_000001.json.backup").write_text(
        json.dumps({"job_id": job_id, "status": "PENDING", "history": []})
    )


def test_validate_fix_never_reads_or_writes_through_a_backups_link_out_of_the_root(
    jobs_root: Path, outside: Path
) -> None:
    attack("validate --fix through a .backups link")
    job_dir = write_job(jobs_root, "b", b"{ truncated")
    valid_backup(outside, "b")
    (job_dir / ".backups").symlink_to(outside / ".backups")
    before = tree_digest(outside)
    run = run_cli("validate", "--fix", "--yes", "--root", str(jobs_root))
    no_traceback(run)
    assert tree_digest(outside) == before
    assert (job_dir / MANIFEST_NAME).read_bytes() == b"{ truncated"


def test_validate_fix_never_replaces_a_valid_manifest_too_large_to_read(jobs_root: Path) -> None:
    attack("validate --fix over a 13 MB valid manifest")
    big = {"job_id": "big", "status": "PENDING", "history": [{"note": "x" * 1000}] * 13_000}
    payload = json.dumps(big).encode()
    assert len(payload) > DEFAULT_SIZE_CAP
    job_dir = write_job(jobs_root, "big", payload)
    valid_backup(job_dir, "big")
    run = run_cli("validate", "--fix", "--yes", "--json", "--root", str(jobs_root))
    no_traceback(run)
    [finding] = [f for f in run.json()["findings"] if f["job_id"] == "big"]
    assert (finding["code"], finding["fix"]) == ("manifest-too-large", None)
    assert "not corrupt" in finding["recommendation"]
    assert (job_dir / MANIFEST_NAME).read_bytes() == payload


def test_validate_fix_never_replaces_a_manifest_its_user_may_not_read(jobs_root: Path) -> None:
    attack("validate --fix over a manifest it may not read")
    jobs_root.chmod(0o777)
    job_dir = write_job(jobs_root, "private", crashed_manifest("private", status="PENDING"))
    valid_backup(job_dir, "private")
    job_dir.chmod(0o777)
    (job_dir / ".backups").chmod(0o777)
    manifest = job_dir / MANIFEST_NAME
    manifest.chmod(0o600)
    os.chown(manifest, NOBODY.pw_uid, NOBODY.pw_gid)
    before = manifest.read_bytes()
    run = run_cli("validate", "--fix", "--yes", "--root", str(jobs_root), prefix=NO_DAC)
    no_traceback(run)
    assert "manifest-unreadable" in run.stdout, run.stdout + run.stderr
    assert manifest.read_bytes() == before and manifest.stat().st_uid == NOBODY.pw_uid


def test_a_restore_keeps_the_corrupt_bytes_before_replacing_them(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "c", b'{"job_id": "c", "status": ')
    valid_backup(job_dir, "c")
    manager = JobRecoveryManager(jobs_root)
    [finding] = [f for f in manager.validate_job_consistency("c") if f.fix is not None]
    assert manager.fix(finding).outcome is Outcome.FIXED
    [kept] = list((job_dir / ".backups").glob("*.corrupt"))
    assert kept.read_bytes() == b'{"job_id": "c", "status": '
    assert read_manifest(job_dir / MANIFEST_NAME).ok


def test_recovery_keeps_a_large_compact_manifest_compact_and_readable(jobs_root: Path) -> None:
    attack("compact 5.6 MB manifest rewritten indented")
    data = crashed_manifest("big")
    data["history"] += [
        {"timestamp": None, "k": i, "v": [1, 2, 3, {"a": "b"}]} for i in range(150_000)
    ]
    payload = json.dumps(data, separators=(",", ":")).encode()
    assert 4_000_000 < len(payload) < DEFAULT_SIZE_CAP
    assert len(json.dumps(data, indent=2)) > DEFAULT_SIZE_CAP  # indenting it overflows the cap
    write_job(jobs_root, "big", payload)
    result = JobRecoveryManager(jobs_root).recover_crashed_job("big")
    assert result.outcome is Outcome.RECOVERED, result.message
    read = read_manifest(jobs_root / "big" / MANIFEST_NAME)
    assert read.ok and read.data is not None and read.data["status"] == "PENDING"


# ---- signals ----------------------------------------------------------------------------


def test_force_recovery_spares_a_sidecar_in_the_runners_session(
    jobs_root: Path, procs: Processes
) -> None:
    attack("sidecar in the runner's session")
    script = (
        f"sleep 300 & echo $! > {jobs_root.parent}/sidecar; exec {sys.executable} -m logist run "
        f"--root {jobs_root} --job-id side --heartbeat 0.2 -- sleep 300"
    )
    shell = procs.track(subprocess.Popen(["sh", "-c", script], start_new_session=True))
    sidecar_file = jobs_root.parent / "sidecar"
    manager = JobRecoveryManager(jobs_root)
    wait_for(lambda: sidecar_file.exists() and sidecar_file.read_text().strip(), timeout=20)
    sidecar = int(sidecar_file.read_text())

    def command_recorded() -> bool:
        with contextlib.suppress(LogistError):
            return manager.job("side").observation.child_pid is not None
        return False

    wait_for(command_recorded, timeout=20)
    command = manager.job("side").observation.child_pid
    assert command is not None
    os.kill(shell.pid, signal.SIGSTOP)  # the runner (it exec'd the shell) stops beating
    try:
        wait_for(lambda: manager.job("side").kind is VerdictKind.HUNG, timeout=20)
        result = manager.recover_crashed_job("side", force=True)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(shell.pid, signal.SIGCONT)
    assert result.ok, result.message
    wait_for(lambda: not is_alive(command), timeout=10)
    assert is_alive(sidecar), "the sidecar beside the runner was killed"
    os.kill(sidecar, signal.SIGKILL)


def planted_hung_job(root: Path, job_id: str, victim_pid: int) -> Path:
    """A manifest naming someone else's live process as the command of a job whose runner
    died (detached: force would terminate it), owned by nobody."""
    identity = {"child_pid": victim_pid, "child_start_token": start_token(victim_pid)}
    job_dir = write_job(root, job_id, crashed_manifest(job_id, owner=dead_runner(**identity)))
    (job_dir / "heartbeat").touch()
    old = time.time() - 3600
    os.utime(job_dir / "heartbeat", (old, old))
    for path in (job_dir, job_dir / MANIFEST_NAME, job_dir / "heartbeat"):
        os.chown(path, NOBODY.pw_uid, NOBODY.pw_gid)
    return job_dir


def test_a_manifest_planted_by_nobody_cannot_aim_bulk_force_at_a_root_process(
    jobs_root: Path, procs: Processes
) -> None:
    attack("manifest planted by nobody aims force at root's process")
    jobs_root.chmod(0o1777)
    victim = procs.recorder(jobs_root.parent / "signals")
    planted_hung_job(jobs_root, "planted", victim.pid)
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("planted").kind is VerdictKind.DETACHED
    bulk = manager.perform_bulk_recovery(force=True)
    [result] = [r for r in bulk.results if r.job_id == "planted"]
    assert result.outcome is Outcome.REFUSED and "not signalled" in result.message
    time.sleep(0.1)
    assert victim.alive() and victim.received() == []


def test_the_force_confirmation_lists_each_processs_command_line(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    job = start_runner("cl", "sleep", "61", heartbeat=0.2)
    os.kill(job.runner_pid, signal.SIGKILL)
    job.proc.wait()
    manager = JobRecoveryManager(jobs_root)
    wait_for(lambda: manager.job("cl").kind is VerdictKind.DETACHED)
    plan = manager.plan("cl", force=True)
    assert plan.commands == ("sleep 61",)
    assert plan.to_dict()["signals"][0]["command"] == "sleep 61"
    assert manager.apply(plan).outcome is Outcome.RECOVERED


def test_a_recovery_by_root_keeps_the_manifests_owner_and_mode(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "own", crashed_manifest("own"))
    manifest = job_dir / MANIFEST_NAME
    os.chown(manifest, NOBODY.pw_uid, NOBODY.pw_gid)
    manifest.chmod(0o640)
    assert JobRecoveryManager(jobs_root).recover_crashed_job("own").outcome is Outcome.RECOVERED
    st = manifest.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (NOBODY.pw_uid, NOBODY.pw_gid, 0o640)


# ---- bulk requests ----------------------------------------------------------------------


def pending_request(root: Path, force: bool, verdicts: dict[str, str]) -> Path:
    state = root / ".logist"
    state.mkdir(exist_ok=True)
    path = state / "bulk-request.json"
    path.write_text(
        json.dumps(
            {
                "tool": "logist-recovery",
                "operator": "x",
                "force": force,
                "targets": list(verdicts),
                "verdicts": verdicts,
            }
        )
    )
    return path


def test_a_bulk_request_planted_by_nobody_is_refused(jobs_root: Path) -> None:
    attack("bulk request planted by nobody")
    write_job(jobs_root, "c", crashed_manifest("c"))
    request = pending_request(jobs_root, False, {"c": "crashed"})
    os.chown(request, NOBODY.pw_uid, NOBODY.pw_gid)
    before = (jobs_root / "c" / MANIFEST_NAME).read_bytes()
    for args in (("--resume",), ("--resume", "--apply")):
        run = run_cli("bulk-recover", *args, "--yes", "--root", str(jobs_root))
        no_traceback(run)
        assert run.returncode == 1 and "not acted on" in run.stderr, run.stderr
    assert (jobs_root / "c" / MANIFEST_NAME).read_bytes() == before


def test_resume_is_a_dry_run_without_apply(jobs_root: Path) -> None:
    attack("--resume acts without --apply")
    write_job(jobs_root, "c", crashed_manifest("c"))
    pending_request(jobs_root, False, {"c": "crashed"})
    before = (jobs_root / "c" / MANIFEST_NAME).read_bytes()
    run = run_cli("bulk-recover", "--resume", "--root", str(jobs_root))
    assert run.returncode == 0 and "add --apply to resume" in run.stderr, run.stderr
    assert (jobs_root / "c" / MANIFEST_NAME).read_bytes() == before
    run = run_cli("bulk-recover", "--resume", "--apply", "--yes", "--root", str(jobs_root))
    assert run.returncode == 0, run.stderr
    assert read_manifest(jobs_root / "c" / MANIFEST_NAME).data["status"] == "PENDING"


def test_a_request_not_written_by_this_tool_is_refused(jobs_root: Path) -> None:
    state = jobs_root / ".logist"
    state.mkdir()
    (state / "bulk-request.json").write_text(json.dumps({"force": True, "targets": ["c"]}))
    run = run_cli("bulk-recover", "--resume", "--apply", "--yes", "--root", str(jobs_root))
    assert run.returncode == 1 and "not written by this tool" in run.stderr


def test_a_resumed_bulk_request_never_escalates_to_force(jobs_root: Path, procs: Processes) -> None:
    attack("resumed bulk escalated")
    sleeper = procs.sleeper()
    planted_hung_job(jobs_root, "h", sleeper.pid)
    for path in (jobs_root / "h", jobs_root / "h" / MANIFEST_NAME):
        os.chown(path, 0, 0)
    pending_request(jobs_root, True, {"h": "crashed"})  # forced, but h was crashed back then
    bulk = JobRecoveryManager(jobs_root).resume_bulk_recovery()
    assert bulk is not None
    [result] = bulk.results
    assert result.outcome is Outcome.REFUSED and "not resumed" in result.message
    assert is_alive(sleeper.pid)


# ---- special files ----------------------------------------------------------------------


def test_a_fifo_among_a_corrupt_jobs_backups_does_not_hang_status(jobs_root: Path) -> None:
    attack("FIFO among backups")
    job_dir = write_job(jobs_root, "c", b"{")
    (job_dir / ".backups").mkdir()
    os.mkfifo(job_dir / ".backups" / "job_manifest_20990101T000000_000001.json.backup")
    run = run_cli("status", "--root", str(jobs_root), timeout=30)
    no_traceback(run)
    assert run.returncode == 2


def test_a_fifo_audit_log_hangs_neither_validate_nor_recover(jobs_root: Path) -> None:
    attack("FIFO audit log")
    write_job(jobs_root, "c", crashed_manifest("c"))
    (jobs_root / ".logist").mkdir()
    os.mkfifo(jobs_root / ".logist" / "audit.jsonl")
    before = (jobs_root / "c" / MANIFEST_NAME).read_bytes()
    for args in (("validate",), ("recover", "c", "--yes"), ("validate", "--fix", "--yes")):
        run = run_cli(*args, "--root", str(jobs_root), timeout=30)
        no_traceback(run)
    assert run_cli("recover", "c", "--yes", "--root", str(jobs_root)).returncode == 1
    assert (jobs_root / "c" / MANIFEST_NAME).read_bytes() == before


def test_a_fifo_index_does_not_hang_validate_fix(jobs_root: Path) -> None:
    attack("FIFO index")
    write_job(jobs_root, "c", {"status": "PENDING"})
    os.mkfifo(jobs_root / "jobs_index.json")
    run = run_cli("validate", "--fix", "--yes", "--root", str(jobs_root), timeout=30)
    no_traceback(run)
    assert (jobs_root / "jobs_index.json").is_fifo()


def test_dev_zero_as_index_or_audit_log_exhausts_nothing(jobs_root: Path) -> None:
    attack("/dev/zero as index or audit log")
    write_job(jobs_root, "c", crashed_manifest("c"))
    (jobs_root / ".logist").mkdir()
    os.symlink("/dev/zero", jobs_root / "jobs_index.json")
    os.symlink("/dev/zero", jobs_root / ".logist" / "audit.jsonl")
    for args in (("validate", "--fix", "--yes"), ("status",), ("recover", "c", "--yes")):
        run = run_cli(*args, "--root", str(jobs_root), prefix=("prlimit", "--as=1000000000"))
        no_traceback(run)
        assert run.returncode in (0, 1, 2), run.stderr
    assert os.readlink(jobs_root / ".logist" / "audit.jsonl") == "/dev/zero"


def test_a_heartbeat_fifo_does_not_hang_the_runner_and_its_outcome_is_recorded(
    jobs_root: Path,
) -> None:
    attack("heartbeat FIFO")
    (jobs_root / "hb").mkdir()
    os.mkfifo(jobs_root / "hb" / "heartbeat")
    run = run_cli(
        "run",
        "--root",
        str(jobs_root),
        "--job-id",
        "hb",
        "--heartbeat",
        "0.1",
        "--",
        "sleep",
        "0.5",
        timeout=30,
    )
    no_traceback(run)
    assert run.returncode == 0
    assert read_manifest(jobs_root / "hb" / MANIFEST_NAME).data["status"] == "SUCCESS"


def test_a_runner_log_fifo_stops_the_runner_with_one_line(jobs_root: Path) -> None:
    attack("runner log FIFO")
    (jobs_root / "lf" / "logs").mkdir(parents=True)
    os.mkfifo(jobs_root / "lf" / "logs" / "runner.log")
    run = run_cli("run", "--root", str(jobs_root), "--job-id", "lf", "--", "true", timeout=30)
    no_traceback(run)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "FIFO" in run.stderr
    data = read_manifest(jobs_root / "lf" / MANIFEST_NAME).data
    assert data is not None and data["status"] == "INTERVENTION_REQUIRED"
    assert "owner" not in data and "log cannot be written" in data["history"][-1]["reason"]


def test_an_adopt_log_fifo_does_not_hang_reattach(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    attack("adopt log FIFO")
    job = start_runner("ad", "sleep", "60", heartbeat=0.2)
    child = job.child_pid
    os.kill(job.runner_pid, signal.SIGKILL)
    job.proc.wait()
    os.mkfifo(jobs_root / "ad" / "logs" / "adopt.log")
    run = run_cli("reattach", "ad", "--yes", "--root", str(jobs_root), timeout=30)
    no_traceback(run)
    assert run.returncode == 0, run.stderr
    manager = JobRecoveryManager(jobs_root)
    assert manager.job("ad").kind is VerdictKind.RUNNING
    os.kill(child, signal.SIGKILL)  # the adopting supervisor then finishes the job
    wait_for(lambda: manager.job("ad").facts.status == "INTERVENTION_REQUIRED", timeout=20)


# ---- the CLI's error guard for `run` ----------------------------------------------------


def one_line_exit_2(run: object) -> None:
    no_traceback(run)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_run_on_a_read_only_root_prints_one_line(tmp_path: Path) -> None:
    attack("run on a read-only root")
    with tmpfs(tmp_path / "ro", "1m") as root:
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        one_line_exit_2(run_cli("run", "--root", str(root), "--job-id", "j", "--", "true"))


def test_run_on_an_unwritable_root_prints_one_line(jobs_root: Path) -> None:
    attack("run on an unwritable root")
    jobs_root.chmod(0o755)
    os.chown(jobs_root, NOBODY.pw_uid, NOBODY.pw_gid)
    run = run_cli("run", "--root", str(jobs_root), "--job-id", "j", "--", "true", prefix=NO_DAC)
    one_line_exit_2(run)


@pytest.mark.parametrize("kind", ["fifo", "file"])
def test_run_where_a_special_file_sits_at_the_job_path_prints_one_line(
    jobs_root: Path, kind: str
) -> None:
    attack(f"run with a {kind} at the job path")
    if kind == "fifo":
        os.mkfifo(jobs_root / "j")
    else:
        (jobs_root / "j").write_text("x")
    one_line_exit_2(run_cli("run", "--root", str(jobs_root), "--job-id", "j", "--", "true"))


def test_runner_adopt_refuses_a_job_directory_linked_out_of_the_root(
    jobs_root: Path, outside: Path
) -> None:
    attack("runner adopt through a linked job directory")
    write_job(outside, "j", crashed_manifest("j"))
    (jobs_root / "j").symlink_to(outside / "j")
    before = tree_digest(outside)
    run = run_cli("runner", "adopt", "--root", str(jobs_root), "j")
    no_traceback(run)
    assert run.returncode != 0
    assert tree_digest(outside) == before


def test_a_command_leaves_no_process_behind_after_its_outcome(jobs_root: Path) -> None:
    attack("background process outlives its job")
    run = run_cli(
        "run",
        "--root",
        str(jobs_root),
        "--job-id",
        "bg",
        "--",
        "sh",
        "-c",
        "sleep 301 & exit 3",
        timeout=60,
    )
    assert run.returncode == 3, run.stderr
    assert read_manifest(jobs_root / "bg" / MANIFEST_NAME).data["status"] == (
        "INTERVENTION_REQUIRED"
    )
    assert pids_with_cwd(jobs_root / "bg") == []


# ---- the audit log on a full disk -------------------------------------------------------


def test_a_short_audit_write_on_a_full_disk_is_cut_back_and_reported(tmp_path: Path) -> None:
    attack("audit line on a full disk")
    from logist.core._audit import AuditUnavailable, append_audit

    with tmpfs(tmp_path / "full", "64k") as root:
        append_audit(root, {"action": "first"})
        audit = root / ".logist" / "audit.jsonl"
        before = audit.read_bytes()
        filler = root / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as stream:
            while True:
                stream.write(b"x" * 1024)
                stream.flush()
        with pytest.raises(AuditUnavailable):
            append_audit(root, {"action": "second", "result": "y" * 20_000})
        assert audit.read_bytes() == before  # whole lines only, never a torn one
        filler.unlink()


def test_an_action_on_a_full_disk_changes_nothing_and_says_why(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "full", "256k") as root:
        write_job(root, "c", crashed_manifest("c"))
        before = (root / "c" / MANIFEST_NAME).read_bytes()
        with contextlib.suppress(OSError), (root / "filler").open("wb") as stream:
            while True:
                stream.write(b"x" * 1024)
                stream.flush()
        result = JobRecoveryManager(root).recover_crashed_job("c")
        assert result.outcome is Outcome.FAILED, result.message
        assert (root / "c" / MANIFEST_NAME).read_bytes() == before


def test_a_force_recovery_audits_the_end_state_read_back_and_the_pids_it_signalled(
    jobs_root: Path, start_runner: Callable[..., RunningJob]
) -> None:
    """The runner gets the TERM and records INTERVENTION_REQUIRED on its way out: the audit line
    says so (not the PENDING the plan expected), and names the pids that got a signal."""
    job = start_runner("w", "sleep", "60", heartbeat=0.2)
    manager = JobRecoveryManager(jobs_root)
    os.kill(job.runner_pid, signal.SIGSTOP)
    wait_for(lambda: manager.job("w").kind is VerdictKind.HUNG, timeout=20)
    result = manager.recover_crashed_job("w", force=True)
    assert result.ok, result.message
    job.proc.wait(timeout=20)
    data = read_manifest(jobs_root / "w" / MANIFEST_NAME).data
    assert data is not None
    [line] = [a for a in read_audit(jobs_root) if a["job_id"] == "w"]
    assert line["to_status"] == data["status"] == result.to_status
    assert job.runner_pid in line["signalled"]


def test_backups_named_in_the_future_never_make_a_recovery_lose_its_own_backup(
    jobs_root: Path,
) -> None:
    attack("backups named in the future")
    job_dir = write_job(jobs_root, "f", crashed_manifest("f"))
    before = (job_dir / MANIFEST_NAME).read_bytes()
    backups = job_dir / ".backups"
    backups.mkdir()
    for n in range(12):
        (backups / f"job_manifest_2099{n + 1:02d}01T000000_000000.json.backup").write_text("{}")
    assert JobRecoveryManager(jobs_root).recover_crashed_job("f").outcome is Outcome.RECOVERED
    assert before in [p.read_bytes() for p in backups.iterdir()], "the new backup was rotated away"
