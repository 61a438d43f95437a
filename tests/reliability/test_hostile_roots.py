"""Hostile roots: every broken or malicious input is reported, and the CLI stays usable.

The corpus (`_corpus.py`) is run through the CLI as an operator or CI would: `logist jobs`,
`validate` and `status`, as JSON and as text, then the acting commands. No traceback, strict
JSON (no NaN), the documented exit codes, no raw escape sequence on a terminal, and not one bit
changed outside the root: the sibling tree holding every symlink target is digested before and
after (contents, modes, sizes, mtimes, ctimes, link targets).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from logist.core import JobRecoveryManager
from logist.core._manifest import MANIFEST_NAME, read_manifest
from reliability._corpus import UNREADABLE, HostileRoot, build_hostile_root, build_unreadable_root
from reliability._support import (
    ESCAPES,
    CliRun,
    Processes,
    add_figure,
    crashed_manifest,
    dead_runner,
    is_alive,
    run_cli,
    start_token,
    tree_digest,
    wait_for,
    write_job,
)

REPORTING = [
    ("jobs", "--json"),
    ("validate", "--json"),
    ("status", "--json"),
    ("jobs",),
    ("validate",),
    ("status",),
]
EXIT_CODES = {"jobs": {0}, "validate": {1}, "status": {2}}
"""jobs lists (0); validate finds errors (1); status is critical: corrupt and crashed jobs (2)."""


def strict_json(text: str) -> Any:
    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=reject)


def check_usable(run: CliRun, codes: set[int]) -> Any:
    """No traceback, a documented exit code, strict JSON or terminal-safe text."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode in codes, f"{run.args}: exit {run.returncode}: {run.stderr}"
    if "--json" in run.args:
        return strict_json(run.stdout)
    raw = [c for c in ESCAPES if c in run.stdout + run.stderr]
    assert not raw, f"{run.args} printed raw control characters {raw!r}"
    return None


def unprivileged() -> tuple[tuple[str, ...] | None, str]:
    """A command prefix under which permission bits are enforced, and why (or why not)."""
    if os.geteuid() != 0:
        return (), "not root: permission bits apply as they are"
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None, (
            "running as root, where chmod does not block reads (CAP_DAC_OVERRIDE), and "
            "setpriv (util-linux) is not installed to drop that capability"
        )
    drop = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--")
    return drop, "as root, with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped by setpriv"


def reported(hostile: HostileRoot, findings: list[dict[str, Any]], jobs: list[dict[str, Any]]):
    """The cases neither a finding nor a verdict reports."""
    codes = {(f["job_id"], f["code"]) for f in findings}
    verdicts = {(j["job_id"], j["verdict"]) for j in jobs}
    return [
        case.name
        for case in hostile.cases
        if case.must_report
        and not any((case.job_id, code) in codes for code in case.codes)
        and not any((case.job_id, verdict) in verdicts for verdict in case.verdicts)
    ]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRoot:
    return build_hostile_root(tmp_path_factory.mktemp("hostile"))


def test_every_hostile_input_is_reported_as_a_finding_or_a_verdict(hostile: HostileRoot) -> None:
    findings = check_usable(run_cli("validate", "--root", str(hostile.root), "--json"), {1})
    jobs = check_usable(run_cli("jobs", "--root", str(hostile.root), "--json"), {0})
    missing = reported(hostile, findings["findings"], jobs["jobs"])
    assert not missing, f"not reported: {missing}"
    add_figure("hostile inputs", len(hostile.cases))


@pytest.mark.parametrize("args", REPORTING, ids=" ".join)
def test_reporting_commands_stay_usable_on_a_hostile_root(
    hostile: HostileRoot, args: tuple[str, ...]
) -> None:
    before = tree_digest(hostile.outside)
    check_usable(run_cli(*args, "--root", str(hostile.root)), EXIT_CODES[args[0]])
    assert tree_digest(hostile.outside) == before


def test_the_backend_scans_and_validates_a_hostile_root_without_raising(
    hostile: HostileRoot,
) -> None:
    manager = JobRecoveryManager(hostile.root)
    snapshot = manager.scan()
    json.dumps([job.to_dict() for job in snapshot.jobs.values()])
    for job_id in snapshot.jobs:
        manager.detail(job_id)
        manager.plan(job_id, force=True)
    assert manager.validate_job_consistency()
    assert manager.get_recovery_status_report().overall.value == "critical"


def test_acting_on_a_hostile_root_changes_nothing_outside_it(tmp_path: Path) -> None:
    hostile = build_hostile_root(tmp_path)
    outside = tree_digest(hostile.outside)
    parsed = {p.parent.name for p in hostile.root.glob(f"*/{MANIFEST_NAME}") if read_manifest(p).ok}
    root = str(hostile.root)
    ids = [
        j["job_id"] for j in check_usable(run_cli("jobs", "--root", root, "--json"), {0})["jobs"]
    ]

    runs = [
        (("validate", "--root", root, "--fix", "--yes", "--json"), {0, 1}),
        (("bulk-recover", "--root", root, "--apply", "--yes", "--include-inferred", "--force",
          "--json"),
         {0, 1}),
        (("recover", "--root", root, "--yes", "--force", "--json", "--", *ids), {1}),
        (("recover", "--root", root, "--yes", "--", *ids), {1}),
        (("validate", "--root", root, "--fix", "--yes"), {0, 1}),
        (("bulk-recover", "--root", root, "--resume", "--yes"), {0, 1}),
    ]  # fmt: skip
    for args, codes in runs:
        check_usable(run_cli(*args), codes)
        assert tree_digest(hostile.outside) == outside, f"{args[0]} changed the outside tree"

    assert sorted(os.listdir(tmp_path)) == ["jobs", "outside"], "something was created beside"
    for job_id in parsed:
        assert read_manifest(hostile.root / job_id / MANIFEST_NAME).ok, f"{job_id} broke"
    restored = hostile.root / "manifest-link" / MANIFEST_NAME
    assert not restored.is_symlink() and read_manifest(restored).ok, "restored in place"
    mode = stat.S_IMODE(restored.stat().st_mode)
    assert not mode & 0o022, f"restored manifest is writable by others: {oct(mode)}"


def test_unreadable_files_and_directories_are_reported_without_a_traceback(
    tmp_path: Path,
) -> None:
    prefix, why = unprivileged()
    if prefix is None:
        pytest.skip(why)
    hostile = build_unreadable_root(tmp_path)
    probe = hostile.root / "unreadable-manifest" / MANIFEST_NAME
    if subprocess.run([*prefix, "cat", str(probe)], capture_output=True).returncode == 0:
        pytest.skip(f"{why}, yet a mode-000 file stayed readable")
    try:
        root = str(hostile.root)
        findings = check_usable(run_cli("validate", "--root", root, "--json", prefix=prefix), {1})
        jobs = check_usable(run_cli("jobs", "--root", root, "--json", prefix=prefix), {0})
        for args in (("status",), ("jobs",), ("validate", "--fix", "--yes")):
            check_usable(run_cli(*args, "--root", root, prefix=prefix), {0, 1, 2})
        missing = reported(hostile, findings["findings"], jobs["jobs"])
        assert not missing, f"not reported ({why}): {missing}"
        add_figure("hostile inputs", len(hostile.cases))
    finally:
        for name, _lock_out, _code in UNREADABLE:
            (hostile.root / name).chmod(0o755)
        (hostile.root / "unreadable-backups" / ".backups").chmod(0o755)


def test_adopting_a_job_whose_logs_and_heartbeat_are_symlinks_out_of_the_root_writes_nothing_there(
    tmp_path: Path, procs: Processes
) -> None:
    root, outside = tmp_path / "jobs", tmp_path / "outside"
    root.mkdir()
    (outside / "logs-target").mkdir(parents=True)
    (outside / "heartbeat-target").write_bytes(b"")
    command = procs.sleeper(60)
    runner = dead_runner(child_pid=command.pid, child_start_token=start_token(command.pid))
    job = write_job(root, "detached", crashed_manifest("detached", owner=runner))
    (job / "logs").symlink_to(outside / "logs-target")
    (job / "heartbeat").symlink_to(outside / "heartbeat-target")
    before = tree_digest(outside)

    run = run_cli("reattach", "detached", "--root", str(root), "--yes", "--json")
    result = check_usable(run, {0, 1})
    if result and result.get("supervisor_pid"):
        procs.groups.append(result["supervisor_pid"])
        time.sleep(0.3)  # let the adopter heartbeat at least once
    command.kill()
    command.wait()
    if result and result.get("supervisor_pid"):
        wait_for(lambda: not is_alive(result["supervisor_pid"]))

    assert tree_digest(outside) == before, "adoption wrote through a symlink out of the root"
