"""`logist console` is read before click is imported (`logist.console.launch.console_options`),
and reads exactly as the click `console` command does: whatever the short path accepts, click
would accept the same way; whatever click refuses or explains, and the screenshot options, the
short path leaves to click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from logist.cli import console, main
from logist.console.launch import CONSOLE_FLAGS, CONSOLE_VALUES, console_options


def click_reading(args: list[str]) -> dict[str, Any] | None:
    """`run_console`'s arguments as the click command makes them of `args` (None: it refuses,
    helps, or would take a screenshot)."""
    try:
        with console.make_context(
            "console", list(args), parent=click.Context(main, **main.context_settings)
        ) as ctx:
            p = ctx.params
    except (click.UsageError, click.exceptions.Exit):
        return None
    if p["screenshot"] is not None:
        return None
    return {
        "root": p["root"],
        "demo": p["demo"],
        "read_only": p["read_only"],
        "interval": p["interval"],
        "bell": not p["no_bell"],
        "theme": p["theme"],
    }


def test_the_short_path_knows_every_option_of_the_click_console_command() -> None:
    declared = {
        opt
        for p in console.params
        if isinstance(p, click.Option)
        for opt in p.opts
        if opt not in ("--help", "--screenshot", "--size")
    }
    assert declared == {*CONSOLE_FLAGS, *CONSOLE_VALUES}


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--root", "ROOT"],
        ["--root=ROOT", "--read-only", "--no-bell", "--demo"],
        ["--interval", "0.2", "--theme", "textual-light"],
        ["--interval=3600", "--theme="],
        ["--interval", " 7 ", "--root", "ROOT/missing"],
        ["--theme", "--root", "--root", "ROOT"],
        ["--root", "", "--interval", "1e1"],
        ["--read-only", "--read-only", "--root", "a", "--root", "ROOT"],
    ],
)
def test_what_the_short_path_reads_click_reads_the_same_way(
    args: list[str], tmp_path: Path
) -> None:
    args = [a.replace("ROOT", str(tmp_path)) for a in args]
    fast = console_options(args)
    assert fast is not None
    assert fast == click_reading(args)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["--root"],
        ["--root", "FILE"],
        ["--interval", "0.1"],
        ["--interval", "often"],
        ["--demo=yes"],
        ["extra"],
        ["--theme"],
    ],
)
def test_what_click_refuses_or_explains_is_left_to_click(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    args = [str(tmp_path / "file") if a == "FILE" else a for a in args]
    assert click_reading(args) is None
    assert console_options(args) is None


@pytest.mark.parametrize(
    "args",
    [["--screenshot", "x.svg"], ["--size", "80x24"], ["--rot", "x"], ["--", "--demo"], ["-r"]],
)
def test_screenshots_and_what_the_short_path_does_not_know_are_left_to_click(
    args: list[str],
) -> None:
    assert console_options(args) is None  # click runs it as it always did


def test_logist_console_starts_without_importing_click(tmp_path: Path) -> None:
    """A root that does not exist: the console says so and exits 2 before it draws anything
    (as through click), having imported neither click nor the CLI's module."""
    script = Path(sys.executable).parent / "logist"  # the console script, as operators run it
    for entry in ([str(script)], ["-m", "logist"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *entry, "console", "--root", str(tmp_path / "no")],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert "logist: " in done.stderr and "Traceback" not in done.stderr
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "logist.console.launch" in imported
        assert not {m for m in imported if m.split(".")[0] == "click" or m == "logist.cli"}


def test_logist_console_help_is_clicks() -> None:
    script = Path(sys.executable).parent / "logist"
    helped = subprocess.run(
        [sys.executable, str(script), "console", "--help"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0
    assert "Open the live recovery console" in helped.stdout and "--screenshot" in helped.stdout
