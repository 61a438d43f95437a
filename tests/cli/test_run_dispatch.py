"""`logist run` is read before click is imported (logist._launch; tests/test_import_hygiene.py
checks that click is not), and reads exactly as the click `run` command does: whatever the short
path accepts, click would accept the same way; whatever click refuses or explains, the short
path leaves to click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from logist._launch import RUN_OPTIONS, parse_run
from logist.cli import main, run


def click_reading(args: list[str]) -> tuple[str | None, str | None, float, list[str]] | None:
    """What the click command makes of `args`: its values, or None when it refuses or helps."""
    try:
        with run.make_context(
            "run", list(args), parent=click.Context(main, **main.context_settings)
        ) as ctx:
            p = ctx.params
            return p["root"], p["job_id"], p["heartbeat"], list(p["command"])
    except (click.UsageError, click.exceptions.Exit):
        return None


def test_the_short_path_knows_every_option_of_the_click_run_command() -> None:
    declared = {
        opt for p in run.params if isinstance(p, click.Option) for opt in p.opts if opt != "--help"
    }
    assert declared == set(RUN_OPTIONS)


@pytest.mark.parametrize(
    "args",
    [
        ["--", "true"],
        ["true"],
        ["sleep", "1"],
        ["--root", "ROOT", "--job-id", "j", "--", "sh", "-c", "exit 3"],
        ["--root=ROOT", "--job-id=j", "--heartbeat=0.2", "cmd", "--root", "x"],
        ["--heartbeat", "3600", "--job-id", "", "--", "--", "x"],
        ["--job-id", "--root", "cmd"],
        ["--job-id", "a", "--job-id", "b", "-", "x"],
        ["--root", "", "cmd", "-h"],
        ["--root", "ROOT/missing", "cmd"],
        ["--heartbeat", " 7 ", "cmd"],
    ],
)
def test_what_the_short_path_reads_click_reads_the_same_way(
    args: list[str], tmp_path: Path
) -> None:
    args = [a.replace("ROOT", str(tmp_path)) for a in args]
    fast = parse_run(args)
    assert fast is not None
    assert fast == click_reading(args)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--"],
        ["--help"],
        ["-h", "cmd"],
        ["--root"],
        ["--job-id", "j"],
        ["--heartbeat", "0.01", "cmd"],
        ["--heartbeat", "fast", "cmd"],
        ["--root", "FILE", "cmd"],
    ],
)
def test_what_click_refuses_or_explains_is_left_to_click(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    args = [str(tmp_path / "file") if a == "FILE" else a for a in args]
    assert click_reading(args) is None
    assert parse_run(args) is None


@pytest.mark.parametrize("args", [["--rot", "x", "cmd"], ["--jobid=x", "cmd"], ["-j", "x", "cmd"]])
def test_an_option_the_short_path_does_not_know_is_left_to_click(args: list[str]) -> None:
    assert parse_run(args) is None  # click runs it as it always did (as part of the command)


def logist(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `logist` console script, as an operator runs it."""
    script = Path(sys.executable).parent / "logist"
    return subprocess.run(
        [sys.executable, str(script), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_logist_run_help_and_usage_errors_are_clicks(jobs_root: Path) -> None:
    helped = logist("run", "--help")
    assert helped.returncode == 0
    assert "Run COMMAND as a supervised job" in helped.stdout and "--heartbeat" in helped.stdout
    refused = logist("run", "--root", str(jobs_root), "--heartbeat", "0", "--", "true")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Invalid value for '--heartbeat'" in refused.stderr
    missing = logist("run", "--root", str(jobs_root))
    assert missing.returncode == 2 and "Missing argument 'COMMAND...'" in missing.stderr
    assert list(jobs_root.iterdir()) == []


def test_logist_help_still_lists_run() -> None:
    helped = logist("--help")
    assert helped.returncode == 0
    assert any(line.split()[:1] == ["run"] for line in helped.stdout.splitlines())
