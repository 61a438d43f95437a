"""The core cannot see the screen: importing it must not load a UI or the CLI."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import write_job


def test_importing_logist_core_loads_no_textual_no_click_and_no_console() -> None:
    probe = (
        "import sys, logist.core, logist.core.recovery; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'click', 'rich') "
        "or m.startswith(('logist.console', 'logist.cli'))); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# What the long-lived `logist run` supervisor (logist._run) may load. It runs for as long as its
# command, once per running job: every module here is memory 1,000 running jobs pay 1,000 times
# (it was the whole backend and click: 18 MB PSS each; then dataclasses, typing, pathlib,
# subprocess and datetime: 9 MB). Grow this list only on purpose, and measure it with
# benchmarks/bench_runner.py.
SUPERVISOR_LOGIST = {
    "logist",
    "logist._run",
    "logist.core",
    "logist.core._errors",
    "logist.core._identity",
    "logist.core._index",
    "logist.core._jobid",
    "logist.core._locate",
    "logist.core._locking",
    "logist.core._manifest",
    "logist.core._safeio",
    "logist.core._states",
    "logist.runner",
}
SUPERVISOR_STDLIB = {
    "abc", "builtins", "codecs", "collections", "contextlib", "copyreg", "encodings", "enum",
    "errno", "fcntl", "functools", "genericpath", "io", "itertools", "json", "keyword", "marshal",
    "operator", "os", "posix", "posixpath", "re", "reprlib", "shlex", "signal", "site", "stat",
    "sys", "threading", "time", "types", "zipimport",
}  # fmt: skip


def test_the_run_supervisor_imports_only_what_supervising_needs(tmp_path: Path) -> None:
    """A whole run (lock, manifest writes, index, heartbeat, the command, its outcome) in a
    fresh interpreter, then the modules it loaded on the way."""
    root = tmp_path / "jobs"
    root.mkdir()
    (root / "jobs_index.json").write_text('{"jobs": {}}')  # the index is registered into too
    probe = (
        "import sys, logist._run; "
        f"code = logist._run.main([{str(root)!r}, 'light', '0.05', 'sleep', '0.2']); "
        "print(code, ' '.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    code, *modules = out.stdout.split()
    assert code == "0", out.stderr
    ours = {m for m in modules if m.split(".")[0] == "logist"}
    assert ours == SUPERVISOR_LOGIST
    others = {m.split(".")[0] for m in modules} - {"logist", "__main__"}
    grown = sorted(m for m in others if not m.startswith("_") and m not in SUPERVISOR_STDLIB)
    assert grown == [], f"the supervisor now also imports {grown}"
    assert '"light"' in (root / "jobs_index.json").read_text()


def test_logist_run_reads_its_arguments_and_execs_without_importing_click(tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    root.mkdir()
    script = Path(sys.executable).parent / "logist"  # the console script, as operators run it
    for entry in ([str(script)], ["-m", "logist"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *entry, "run", "--root", str(root), "--", "true"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        # -X importtime is not passed on through the exec: these are the imports before it
        before = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "logist._launch" in before
        assert not {m for m in before if m.split(".")[0] in ("click", "psutil", "textual")}
        assert not {m for m in before if m.startswith(("logist.cli", "logist.runner"))}
        assert not {"dataclasses", "logist.core._root", "logist.core._scan"} & before


def test_logist_run_execs_into_the_light_supervisor(tmp_path: Path) -> None:
    """The process that stays is the exec'd `logist._run` (same pid as the CLI started)."""
    root = tmp_path / "jobs"
    root.mkdir()
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    logist_run = [sys.executable, "-m", "logist", "run", "--root", str(root), "--job-id", "light"]
    runner = subprocess.Popen(
        [*logist_run, "--", "sh", "-c", f"echo go > {fifo}; exec sleep 30"],
        stdout=subprocess.DEVNULL,
    )
    try:
        with open(fifo) as stream:
            assert stream.read().strip() == "go"
        command_line = Path(f"/proc/{runner.pid}/cmdline").read_bytes().split(b"\0")
        assert command_line[1:3] == [b"-m", b"logist._run"]
        maps = Path(f"/proc/{runner.pid}/maps").read_text()
        assert "/click/" not in maps and "psutil" not in maps
    finally:
        runner.terminate()
        runner.wait(30)


# Screens the console pushes on a key, and the actions' module: imported when first opened,
# not on the way to the first frame (the event loop's start-up shares the GIL with the first
# whole poll of a big root).
CONSOLE_LATER = {
    "logist.console.operations",
    "logist.console.screens.activity",
    "logist.console.screens.archived",
    "logist.console.screens.confirm",
    "logist.console.screens.detail",
    "logist.console.screens.help",
    "logist.console.screens.logs",
    "logist.console.screens.record",
    "logist.console.screens.resume_auto",
    "logist.console.screens.timeline",
    "logist.console.widgets.activity",
    "logist.console.widgets.archived",
}


def test_the_consoles_first_frame_loads_no_screen_pushed_later(tmp_path: Path) -> None:
    """The real app, headless at 200x60 (the side detail shown), until a poll is on screen;
    then the modules loaded. One of the later screens opened after: it still works."""
    root = tmp_path / "jobs"
    write_job(root, "first", status="SUCCESS")
    write_job(root, "second", status="FAILED")
    (root / "jobs_index.json").write_text('{"jobs": {}}')
    probe = f"""
import asyncio, sys
from logist.console.app import ConsoleApp
from logist.core import JobRecoveryManager

async def main():
    app = ConsoleApp(manager=JobRecoveryManager({str(root)!r}), interval=None, host="h")
    async with app.run_test(size=(200, 60)) as pilot:
        while not app.poll_count:
            await pilot.pause(0.02)
        await pilot.pause()
        print(" ".join(sys.modules))
        await pilot.press("enter")
        while app.screen is app.main_screen:
            await pilot.pause(0.02)
        print(type(app.screen).__name__, app.screen.job_id)

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    modules, opened = out.stdout.strip().splitlines()
    loaded = set(modules.split())
    assert "logist.console.screens.main" in loaded
    assert sorted(loaded & CONSOLE_LATER) == []
    assert opened.split()[0] == "DetailScreen"
