"""Honest health from the CLI: a directory that is not a jobs root is UNKNOWN (exit 3) and says
so, an empty directory is a valid empty root, and `status` exits 3 for its own failures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_job
from staging import tree_state


def logist(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LOGIST_JOBS_DIR"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "logist", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def a_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)
    (home / "Documents").mkdir()
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    (home / "notes.txt").write_text("todo\n")
    return home


def test_etc_is_unknown_exit_3_not_a_jobs_root() -> None:
    done = logist("status", "--root", "/etc", "--json")
    assert done.returncode == 3
    report = json.loads(done.stdout)
    assert report["overall"] == "unknown"
    assert "/etc is not a jobs root" in report["root_problem"]
    assert report["summary"] == report["root_problem"]
    assert "not a jobs root" in done.stderr


def test_a_home_directory_is_unknown_and_text_says_not_a_jobs_root(tmp_path: Path) -> None:
    done = logist("status", "--root", str(a_home(tmp_path)))
    assert done.returncode == 3
    assert done.stdout.splitlines()[0].startswith("UNKNOWN: ")
    assert "is not a jobs root" in done.stdout.splitlines()[0]
    assert "did you mean" not in done.stdout


def test_a_parent_holding_jobs_is_unknown_and_points_at_its_jobs_directory(
    tmp_path: Path,
) -> None:
    write_job(tmp_path / "jobs", "a", status="PENDING")
    (tmp_path / "src").mkdir()
    done = logist("status", "--root", str(tmp_path), "--json")
    assert done.returncode == 3
    report = json.loads(done.stdout)
    assert f"did you mean {tmp_path / 'jobs'}?" in report["root_problem"]
    assert report["suggested_root"] == str(tmp_path / "jobs")


def test_an_empty_directory_is_a_healthy_empty_root(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = logist("status", "--root", str(tmp_path / "empty"), "--json")
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["overall"], json.loads(done.stdout)["job_count"]) == (
        "healthy",
        0,
    )


@pytest.mark.parametrize("command", [("jobs",), ("validate", "--fix", "--yes"), ("bulk-recover",)])
def test_other_commands_refuse_a_directory_that_is_not_a_jobs_root_and_write_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    write_job(tmp_path / "parent" / "jobs", "a", b"{")  # corrupt: a fix would write
    (tmp_path / "parent" / "README").write_text("x")
    before = tree_state(tmp_path / "parent")
    done = logist(*command, "--root", str(tmp_path / "parent"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "not a jobs root" in done.stderr and "did you mean" in done.stderr
    assert tree_state(tmp_path / "parent") == before


@pytest.mark.parametrize(
    "args",
    [
        ("--bogus",),
        ("--json", "--json", "--verbose"),
        ("--root",),
        ("--root", "/nonexistent/jobs"),
        ("--root", "/etc/hostname"),
    ],
)
def test_status_exits_3_for_its_own_failures_never_2(args: tuple[str, ...]) -> None:
    done = logist("status", *args)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr


def test_status_of_an_unreadable_root_is_unknown_exit_3(tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    write_job(root, "a", status="PENDING")
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("as root chmod blocks nothing, and setpriv is missing to drop that")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--")
    root.chmod(0)
    try:
        done = logist("status", "--root", str(root), "--json", prefix=prefix)
    finally:
        root.chmod(0o755)
    assert done.returncode == 3, done.stderr
    assert "is not readable" in done.stderr and "Traceback" not in done.stderr
