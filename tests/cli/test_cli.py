"""The `logist` command through click's runner: one JSON document on stdout, exit codes 0/1/2
(status 0/1/2/3), and every error as one line on stderr without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conftest import read_job, write_job
from logist.cli import main
from logist.core import VerdictKind
from staging import Processes, crashed_job, touch, tree_state, unwritable

VERDICTS = {str(kind) for kind in VerdictKind}


@pytest.fixture(autouse=True)
def no_ambient_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No root is found from the developer's environment, cwd or home."""
    monkeypatch.delenv("LOGIST_JOBS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield


def logist(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}"
    )
    return result


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def one_line_error(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def crashed(jobs_root: Path, procs: Processes) -> str:
    crashed_job(jobs_root, "crashed", procs.dead_identity())
    return "crashed"


def test_status_json_is_one_document_and_exits_0_when_healthy(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="PENDING")
    result = logist("status", "--root", str(jobs_root), "--json")
    assert result.exit_code == 0
    assert as_json(result)["overall"] == "healthy"
    assert result.stderr == ""


def test_status_exits_1_when_degraded(jobs_root: Path) -> None:
    write_job(jobs_root, "a", status="SOMETHING_ELSE")
    result = logist("status", "--root", str(jobs_root), "--json")
    assert (result.exit_code, as_json(result)["overall"]) == (1, "degraded")


def test_status_exits_2_when_critical_and_says_why_in_text(jobs_root: Path, crashed: str) -> None:
    result = logist("status", "--root", str(jobs_root))
    assert result.exit_code == 2
    assert result.stdout.splitlines()[0] == "CRITICAL: 1 jobs: 1 crashed"


def test_status_exits_3_unknown_when_there_is_no_root(tmp_path: Path) -> None:
    result = logist("status", "--root", str(tmp_path / "missing"), "--json")
    assert result.exit_code == 3
    assert as_json(result)["overall"] == "unknown"
    assert "does not exist" in one_line_error(result)


def test_jobs_json_carries_id_status_and_a_verdict_name_for_every_job(
    jobs_root: Path, crashed: str
) -> None:
    write_job(jobs_root, "idle", status="PENDING")
    write_job(jobs_root, "bad", b"\xff")
    result = logist("jobs", "--root", str(jobs_root), "--json")
    assert result.exit_code == 0
    jobs = {j["job_id"]: j for j in as_json(result)["jobs"]}
    assert {k: (j["status"], j["verdict"]) for k, j in jobs.items()} == {
        "crashed": ("EXECUTING", "crashed"),
        "idle": ("PENDING", "idle"),
        "bad": (None, "corrupt"),
    }
    assert {j["verdict"] for j in jobs.values()} <= VERDICTS


def test_jobs_can_be_filtered_by_verdict(jobs_root: Path, crashed: str) -> None:
    write_job(jobs_root, "idle", status="PENDING")
    result = logist("jobs", "--root", str(jobs_root), "--verdict", "crashed", "--json")
    assert [j["job_id"] for j in as_json(result)["jobs"]] == ["crashed"]


def test_jobs_text_shows_control_characters_in_ids_escaped(jobs_root: Path) -> None:
    write_job(jobs_root, "evil\x1b[31m", status="PENDING")
    result = logist("jobs", "--root", str(jobs_root))
    assert "\x1b" not in result.stdout and "evil\\x1b[31m" in result.stdout


def test_a_missing_root_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for command in (["jobs"], ["recover", "x", "--yes"], ["validate"], ["bulk-recover"]):
        result = logist(*command, "--root", str(tmp_path / "missing"))
        assert result.exit_code == 2, command
        assert "does not exist" in one_line_error(result)
        assert result.stdout == ""


def test_with_no_root_anywhere_the_error_points_at_the_demo() -> None:
    result = logist("jobs", "--json")
    assert result.exit_code == 2
    assert "logist console --demo" in one_line_error(result)


def test_the_root_is_found_from_the_environment_and_from_a_jobs_directory_upward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_job(tmp_path / "jobs", "found", status="PENDING")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert [j["job_id"] for j in as_json(logist("jobs", "--json"))["jobs"]] == ["found"]
    write_job(tmp_path / "env-root", "from-env", status="PENDING")
    monkeypatch.setenv("LOGIST_JOBS_DIR", str(tmp_path / "env-root"))
    assert [j["job_id"] for j in as_json(logist("jobs", "--json"))["jobs"]] == ["from-env"]


def test_recover_yes_json_recovers_and_exits_0(jobs_root: Path, crashed: str) -> None:
    result = logist("recover", crashed, "--root", str(jobs_root), "--yes", "--json")
    assert result.exit_code == 0
    [entry] = as_json(result)["results"]
    assert (entry["job_id"], entry["outcome"], entry["to_status"]) == (
        "crashed",
        "recovered",
        "PENDING",
    )
    assert read_job(jobs_root, "crashed")["status"] == "PENDING"


def test_recover_asks_and_without_a_terminal_does_nothing(jobs_root: Path, crashed: str) -> None:
    before = tree_state(jobs_root)
    result = logist("recover", crashed, "--root", str(jobs_root))
    assert result.exit_code == 1
    assert "not confirmed (use --yes)" in result.stderr
    assert tree_state(jobs_root) == before


def test_recover_dry_run_plans_and_changes_nothing(jobs_root: Path, crashed: str) -> None:
    before = tree_state(jobs_root)
    result = logist("recover", crashed, "--root", str(jobs_root), "--dry-run", "--json")
    assert result.exit_code == 0
    assert as_json(result)["results"][0]["outcome"] == "planned"
    assert tree_state(jobs_root) == before


@pytest.mark.parametrize(
    ("job_id", "message"),
    [("nope", "no job 'nope' in this root"), ("../x", "invalid job id '../x'")],
)
def test_recover_of_an_unknown_or_invalid_job_is_exit_1_with_one_line(
    jobs_root: Path, job_id: str, message: str
) -> None:
    result = logist("recover", job_id, "--root", str(jobs_root), "--yes")
    assert result.exit_code == 1
    assert message in one_line_error(result)


def test_recovering_several_jobs_reports_each_and_exits_1_if_any_could_not_be(
    jobs_root: Path, crashed: str
) -> None:
    write_job(jobs_root, "idle", status="PENDING")
    result = logist("recover", crashed, "idle", "nope", "--root", str(jobs_root), "--yes", "--json")
    assert result.exit_code == 1
    outcomes = {r["job_id"]: r["outcome"] for r in as_json(result)["results"]}
    assert outcomes == {"crashed": "recovered", "idle": "no-op"}
    assert [e["job_id"] for e in as_json(result)["errors"]] == ["nope"]


def test_recover_in_a_directory_that_refuses_writes_says_permission_denied(
    jobs_root: Path, crashed: str
) -> None:
    job_dir = jobs_root / crashed
    (job_dir / ".backups").mkdir()
    with unwritable(job_dir, job_dir / ".backups"):
        result = logist("recover", crashed, "--root", str(jobs_root), "--yes")
    assert result.exit_code == 1
    assert "permission denied" in one_line_error(result)


def test_bulk_recover_in_a_root_that_refuses_writes_is_a_one_line_root_error(
    jobs_root: Path, crashed: str
) -> None:
    with unwritable(jobs_root):
        result = logist("bulk-recover", "--root", str(jobs_root), "--apply", "--yes")
    assert result.exit_code == 2
    assert "permission denied" in one_line_error(result)
    assert read_job(jobs_root, crashed)["status"] == "EXECUTING"


def test_a_fix_on_a_job_whose_lock_is_held_is_refused_as_busy(
    jobs_root: Path, procs: Processes
) -> None:
    job_dir = write_job(jobs_root, "c", b"{")
    (job_dir / ".backups").mkdir()
    (job_dir / ".backups" / "job_manifest_20260101T000000_000001.json.backup").write_text(
        json.dumps({"job_id": "c", "status": "PENDING"})
    )
    holder = procs.lock_holder(job_dir / ".lock")
    result = logist("validate", "--root", str(jobs_root), "--fix", "--yes")
    assert result.exit_code == 1
    assert f"locked by its owner (held by pid {holder.pid})" in result.stderr


@pytest.mark.parametrize(
    ("job_id", "code", "message"),
    [("nope", 1, "no job 'nope'"), ("../x", 1, "invalid job id"), ("crashed", 1, "is crashed")],
)
def test_reattach_errors_are_one_line(
    jobs_root: Path, crashed: str, job_id: str, code: int, message: str
) -> None:
    result = logist("reattach", job_id, "--root", str(jobs_root))
    assert result.exit_code == code
    assert message in one_line_error(result)


def test_reattach_json_to_a_running_job_is_a_watch(jobs_root: Path, start_runner) -> None:
    job = start_runner("live", "sleep", "60", heartbeat=1.0)
    result = logist("reattach", "live", "--root", str(jobs_root), "--json")
    assert result.exit_code == 0
    data = as_json(result)
    assert (data["job_id"], data["mode"], data["pid"], data["verdict"]) == (
        "live",
        "watch",
        job.runner_pid,
        "running",
    )
    assert data["status"] == "EXECUTING"


def test_bulk_recover_is_a_dry_run_unless_applied(jobs_root: Path, crashed: str) -> None:
    before = tree_state(jobs_root)
    dry = logist("bulk-recover", "--root", str(jobs_root), "--json")
    assert dry.exit_code == 0
    assert (as_json(dry)["dry_run"], as_json(dry)["targets"]) == (True, ["crashed"])
    assert tree_state(jobs_root) == before
    applied = logist("bulk-recover", "--root", str(jobs_root), "--apply", "--yes", "--json")
    assert applied.exit_code == 0
    assert as_json(applied)["counts"] == {"recovered": 1}


def test_bulk_recover_with_nothing_to_resume_says_so(jobs_root: Path) -> None:
    result = logist("bulk-recover", "--root", str(jobs_root), "--resume")
    assert result.exit_code == 1
    assert "no interrupted bulk run" in one_line_error(result)


def test_validate_exits_1_on_errors_and_0_once_they_are_fixed(jobs_root: Path) -> None:
    job_dir = write_job(jobs_root, "c", b"")
    (job_dir / ".backups").mkdir()
    (job_dir / ".backups" / "job_manifest_20260101T000000_000001.json.backup").write_text(
        json.dumps({"job_id": "c", "status": "PENDING"})
    )
    found = logist("validate", "--root", str(jobs_root), "--json")
    assert found.exit_code == 1
    assert [f["code"] for f in as_json(found)["findings"]] == ["manifest-empty"]
    fixed = logist("validate", "--root", str(jobs_root), "--fix", "--yes", "--json")
    assert fixed.exit_code == 0
    assert [r["outcome"] for r in as_json(fixed)["fixes"]] == ["fixed"]
    assert logist("validate", "--root", str(jobs_root)).stdout == "no findings\n"


@pytest.mark.parametrize(
    "command",
    [
        ("recover", "--yes"),
        ("recover", "--dry-run"),
        ("reattach",),
        ("reattach", "--dry-run"),
        ("validate",),
        ("validate", "--fix", "--yes"),
    ],
)
@pytest.mark.parametrize(("job_id", "error"), [("nope", "JobNotFound"), ("../x", "InvalidJobId")])
def test_an_unknown_job_id_is_exit_1_and_the_same_json_errors_in_every_command(
    jobs_root: Path, command: tuple[str, ...], job_id: str, error: str
) -> None:
    write_job(jobs_root, "other", status="PENDING")
    text = logist(command[0], job_id, *command[1:], "--root", str(jobs_root))
    assert text.exit_code == 1
    assert job_id in one_line_error(text)
    result = logist(command[0], job_id, *command[1:], "--root", str(jobs_root), "--json")
    assert result.exit_code == 1
    message = one_line_error(text).removeprefix("logist: ")
    assert as_json(result)["errors"] == [
        {"job_id": job_id, "error": error, "ok": False, "message": message}
    ]


def test_an_unknown_option_is_a_usage_error_exit_2(jobs_root: Path) -> None:
    assert logist("jobs", "--bogus").exit_code == 2


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOGIST_JOBS_DIR"}
    return subprocess.run(
        [sys.executable, "-m", "logist", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_real_command_prints_a_one_line_error_and_no_traceback(tmp_path: Path) -> None:
    done = run_module("jobs", "--root", str(tmp_path / "missing"), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_real_command_status_json_parses_and_exits_with_the_health(
    jobs_root: Path, procs: Processes
) -> None:
    touch(write_job(jobs_root, "s", status="EXECUTING") / "job_manifest.json", age=3 * 3600)
    crashed_job(jobs_root, "c", procs.dead_identity())
    done = run_module("status", "--root", str(jobs_root), "--json")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["counts_by_verdict"] == {"crashed": 1, "stalled": 1}
