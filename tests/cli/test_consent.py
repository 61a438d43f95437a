"""Consent is never implied: without `--yes` an acting command asks on a terminal and refuses
without one, whatever the output format (issue 12: `recover --force --json` acted unasked).

The terminal is a real pseudo-terminal; "no terminal" is stdin from /dev/null.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.terminal import run_on_terminal
from conftest import read_job, write_job
from logist.core._identity import identity_of
from staging import Processes, crashed_job, runner_block, tree_state


def without_terminal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logist", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def crashed(jobs_root: Path, procs: Processes) -> str:
    crashed_job(jobs_root, "crashed", procs.dead_identity())
    return "crashed"


@pytest.fixture
def detached(jobs_root: Path, procs: Processes) -> str:
    """A job whose runner is dead while its command (a real sleep) still runs."""
    command = identity_of(procs.sleeper(120).pid)
    assert command is not None
    crashed_job(
        jobs_root,
        "detached",
        procs.dead_identity(),
        owner=runner_block(procs.dead_identity(), command),
    )
    return "detached"


def test_recover_json_on_a_terminal_asks_and_a_no_changes_nothing(
    jobs_root: Path, crashed: str
) -> None:
    before = tree_state(jobs_root)
    run = run_on_terminal("recover", crashed, "--root", str(jobs_root), "--json", answer="n")
    assert run.returncode == 1
    assert "crashed: EXECUTING -> PENDING" in run.screen
    assert "Recover these jobs? [y/N]" in run.screen
    assert "not confirmed" in run.screen
    assert tree_state(jobs_root) == before


def test_recover_force_json_on_a_terminal_acts_only_after_a_yes_and_prints_pure_json(
    jobs_root: Path, crashed: str
) -> None:
    run = run_on_terminal(
        "recover", crashed, "--force", "--root", str(jobs_root), "--json", answer="y"
    )
    assert run.returncode == 0, run.screen
    [result] = json.loads(run.stdout)["results"]
    assert result["outcome"] == "recovered"
    assert read_job(jobs_root, crashed)["status"] == "PENDING"


@pytest.mark.parametrize("output", [(), ("--json",)])
def test_recover_without_a_terminal_refuses_in_both_formats(
    jobs_root: Path, crashed: str, output: tuple[str, ...]
) -> None:
    before = tree_state(jobs_root)
    done = without_terminal("recover", crashed, "--root", str(jobs_root), *output)
    assert done.returncode == 1
    assert "not confirmed (use --yes)" in done.stderr and "Traceback" not in done.stderr
    assert tree_state(jobs_root) == before


def test_yes_acts_without_a_question_even_on_a_terminal(jobs_root: Path, crashed: str) -> None:
    run = run_on_terminal("recover", crashed, "--root", str(jobs_root), "--yes")
    assert run.returncode == 0
    assert "[y/N]" not in run.screen
    assert read_job(jobs_root, crashed)["status"] == "PENDING"


def test_bulk_recover_apply_asks_on_a_terminal_and_refuses_without_one(
    jobs_root: Path, crashed: str
) -> None:
    before = tree_state(jobs_root)
    refused = without_terminal("bulk-recover", "--root", str(jobs_root), "--apply", "--json")
    assert refused.returncode == 1 and "not confirmed" in refused.stderr
    declined = run_on_terminal("bulk-recover", "--root", str(jobs_root), "--apply", answer="n")
    assert declined.returncode == 1 and "Recover these 1 job(s)?" in declined.screen
    assert tree_state(jobs_root) == before
    applied = run_on_terminal(
        "bulk-recover", "--root", str(jobs_root), "--apply", "--json", answer="y"
    )
    assert applied.returncode == 0, applied.screen
    assert json.loads(applied.stdout)["counts"] == {"recovered": 1}


def _corrupt_with_backup(jobs_root: Path) -> Path:
    job_dir = write_job(jobs_root, "c", b"")
    (job_dir / ".backups").mkdir()
    (job_dir / ".backups" / "job_manifest_20260101T000000_000001.json.backup").write_text(
        json.dumps({"job_id": "c", "status": "PENDING"})
    )
    return job_dir


def test_validate_fix_dry_run_lists_the_fixes_and_changes_nothing(jobs_root: Path) -> None:
    _corrupt_with_backup(jobs_root)
    before = tree_state(jobs_root)
    done = without_terminal("validate", "--root", str(jobs_root), "--fix", "--dry-run", "--json")
    assert done.returncode == 1  # the error is still there
    [planned] = json.loads(done.stdout)["fixes"]
    assert (planned["job_id"], planned["outcome"]) == ("c", "planned")
    assert "would restore-backup" in planned["message"]
    assert tree_state(jobs_root) == before


def test_validate_fix_asks_on_a_terminal_and_refuses_without_one(jobs_root: Path) -> None:
    _corrupt_with_backup(jobs_root)
    before = tree_state(jobs_root)
    refused = without_terminal("validate", "--root", str(jobs_root), "--fix", "--json")
    assert refused.returncode == 1 and "not confirmed (use --yes)" in refused.stderr
    assert tree_state(jobs_root) == before
    fixed = run_on_terminal("validate", "--root", str(jobs_root), "--fix", "--json", answer="y")
    assert "Apply 1 fix(es)? [y/N]" in fixed.screen
    assert fixed.returncode == 0, fixed.screen
    assert [r["outcome"] for r in json.loads(fixed.stdout)["fixes"]] == ["fixed"]
    assert read_job(jobs_root, "c")["status"] == "PENDING"


def test_reattach_dry_run_says_it_would_adopt_and_starts_nothing(
    jobs_root: Path, detached: str
) -> None:
    before = tree_state(jobs_root)
    done = without_terminal("reattach", detached, "--root", str(jobs_root), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["mode"], data["verdict"], data["supervisor_pid"]) == (
        "would-adopt",
        "detached",
        None,
    )
    assert tree_state(jobs_root) == before


def test_adopting_through_reattach_asks_and_refuses_without_a_terminal(
    jobs_root: Path, detached: str, procs: Processes
) -> None:
    before = tree_state(jobs_root)
    refused = without_terminal("reattach", detached, "--root", str(jobs_root), "--json")
    assert refused.returncode == 1 and "not confirmed (use --yes)" in refused.stderr
    declined = run_on_terminal("reattach", detached, "--root", str(jobs_root), answer="n")
    assert declined.returncode == 1 and "Adopt it? [y/N]" in declined.screen
    assert tree_state(jobs_root) == before
    adopted = run_on_terminal("reattach", detached, "--root", str(jobs_root), "--json", answer="y")
    assert adopted.returncode == 0, adopted.screen
    data = json.loads(adopted.stdout)
    procs.adopt_pid(data["supervisor_pid"])
    assert data["mode"] == "adopt"
