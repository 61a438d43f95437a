"""The CLI speaks the console's filter language: `--verdict crashed,hung`, id globs like
`crash-*` for `jobs`, `recover` and `bulk-recover`; `jobs` has a header and an age column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import read_job, write_job
from logist.cli import main
from staging import Processes, crashed_job, touch


def logist(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def root(jobs_root: Path, procs: Processes) -> Path:
    for job_id in ("crash-1", "crash-2", "nightly-crash"):
        crashed_job(jobs_root, job_id, procs.dead_identity())
    touch(write_job(jobs_root, "stalled-1", status="EXECUTING") / "job_manifest.json", age=7200)
    write_job(jobs_root, "idle-1", status="PENDING")
    write_job(jobs_root, "waits", status="INTERVENTION_REQUIRED")
    return jobs_root


def ids(result: Result) -> list[str]:
    return [j["job_id"] for j in json.loads(result.stdout)["jobs"]]


def test_jobs_takes_comma_separated_verdicts_and_id_globs(root: Path) -> None:
    assert ids(logist("jobs", "--root", str(root), "--verdict", "crashed,stalled", "--json")) == [
        "crash-1",
        "crash-2",
        "nightly-crash",
        "stalled-1",
    ]
    assert ids(logist("jobs", "crash-*", "--root", str(root), "--json")) == ["crash-1", "crash-2"]
    assert ids(
        logist("jobs", "--root", str(root), "--json", "--", "verdict:crash", "-id:crash-2")
    ) == [
        "crash-1",
        "nightly-crash",
    ]


def test_an_unknown_verdict_is_a_usage_error_naming_the_verdicts(root: Path) -> None:
    result = logist("jobs", "--root", str(root), "--verdict", "crashed,broken")
    assert result.exit_code == 2
    assert "'broken' is not a verdict" in result.stderr and "waiting" in result.stderr


def test_jobs_text_has_a_header_and_an_age_column(root: Path) -> None:
    lines = logist("jobs", "--root", str(root), "--verdict", "stalled").stdout.splitlines()
    assert lines[0].split() == ["JOB", "STATUS", "VERDICT", "AGE", "REASON"]
    assert lines[1].split()[:5] == ["stalled-1", "EXECUTING", "stalled", "2", "hours"]


def test_recover_a_glob_narrowed_by_verdict_acts_on_exactly_those_jobs(root: Path) -> None:
    result = logist(
        "recover", "*crash*", "--verdict", "crashed", "--root", str(root), "--yes", "--json"
    )
    assert result.exit_code == 0, result.stderr
    recovered = [r["job_id"] for r in json.loads(result.stdout)["results"]]
    assert recovered == ["crash-1", "crash-2", "nightly-crash"]
    assert read_job(root, "stalled-1")["status"] == "EXECUTING"


def test_recover_a_glob_that_matches_nothing_is_an_unknown_id(root: Path) -> None:
    result = logist("recover", "nope-*", "--root", str(root), "--yes", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {
            "job_id": "nope-*",
            "error": "JobNotFound",
            "ok": False,
            "message": "no job matches 'nope-*'",
        }
    ]


def test_recover_needs_jobs_or_a_verdict(root: Path) -> None:
    assert logist("recover", "--root", str(root), "--yes").exit_code == 2


def test_bulk_recover_takes_globs_and_verdicts_within_what_bulk_may_do(root: Path) -> None:
    dry = logist("bulk-recover", "crash-*", "--root", str(root), "--json")
    assert json.loads(dry.stdout)["targets"] == ["crash-1", "crash-2"]
    inferred = logist(
        "bulk-recover", "--verdict", "stalled,crashed", "--include-inferred", "--root", str(root),
        "--json",
    )  # fmt: skip
    assert json.loads(inferred.stdout)["targets"] == [
        "crash-1",
        "crash-2",
        "nightly-crash",
        "stalled-1",
    ]
    # stalled is only inferred: without --include-inferred the verdict picks nothing bulk may do
    assert (
        json.loads(
            logist("bulk-recover", "--verdict", "stalled", "--root", str(root), "--json").stdout
        )["targets"]
        == []
    )
