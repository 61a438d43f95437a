"""The core cannot see the screen: importing it must not load a UI or the CLI."""

import os
import subprocess
import sys
from pathlib import Path


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
# (it was the whole backend and click: 18 MB PSS each). Grow this list only on purpose.
SUPERVISOR_LOGIST = {
    "logist",
    "logist._run",
    "logist.core",
    "logist.core._errors",
    "logist.core._identity",
    "logist.core._index",
    "logist.core._locking",
    "logist.core._manifest",
    "logist.core._root",
    "logist.core._safeio",
    "logist.core._signals",
    "logist.core._states",
    "logist.runner",
}
SUPERVISOR_STDLIB = {
    "abc", "array", "ast", "builtins", "codecs", "collections", "contextlib", "copy", "copyreg",
    "dataclasses", "datetime", "dis", "encodings", "enum", "errno", "fcntl", "fnmatch",
    "functools", "genericpath", "importlib", "inspect", "io", "ipaddress", "itertools", "json",
    "keyword", "linecache", "locale", "marshal", "math", "ntpath", "opcode", "operator", "os",
    "pathlib", "posix", "posixpath", "re", "reprlib", "select", "selectors", "shlex", "signal",
    "site", "socket", "stat", "subprocess", "sys", "threading", "time", "token", "tokenize",
    "types", "typing", "urllib", "warnings", "weakref", "zipimport",
}  # fmt: skip


def test_the_run_supervisor_imports_only_what_supervising_needs() -> None:
    probe = "import sys, logist._run, logist.runner; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(out.stdout.split())
    ours = {m for m in modules if m.split(".")[0] == "logist"}
    assert ours == SUPERVISOR_LOGIST
    others = {m.split(".")[0] for m in modules} - {"logist", "__main__"}
    grown = sorted(m for m in others if not m.startswith("_") and m not in SUPERVISOR_STDLIB)
    assert grown == [], f"the supervisor now also imports {grown}"


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
