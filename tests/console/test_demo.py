"""The demo root: real runners driven into every verdict, and nothing left running after."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from conftest import wait_for
from logist.core import JobRecoveryManager, VerdictKind
from logist.demo import DemoRoot, stage_demo, stop_demo


def _leftovers(pids: set[int]) -> list[psutil.Process]:
    """Live processes among the demo's, or in one of their process groups."""
    found = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if process.pid in pids or os.getpgid(process.pid) in pids:
                found.append(process)
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def test_the_demo_shows_every_verdict_from_real_processes_and_stopping_leaves_none(
    tmp_path: Path,
) -> None:
    demo = stage_demo(tmp_path / "demo")
    pids: set[int] = set()
    try:
        pids = {p["pid"] for p in demo.processes}
        alive = set(demo.pids())  # the crashed jobs' processes are dead already
        assert len(alive) >= 8 and alive < pids
        assert {p["pid"] for p in DemoRoot.load(demo.root).processes} == pids
        manager = JobRecoveryManager(demo.root)
        shown = {
            VerdictKind.RUNNING,
            VerdictKind.CRASHED,
            VerdictKind.HUNG,
            VerdictKind.DETACHED,
            VerdictKind.STALLED,
            VerdictKind.CORRUPT,
            VerdictKind.IDLE,
            VerdictKind.DONE,
        }
        # The hung and detached jobs settle a moment after staging (a heartbeat lease lapses, a
        # SIGKILLed runner lets go of its lock): wait for the whole set, not one scan.
        wait_for(
            lambda: shown <= {job.kind for job in manager.scan().jobs.values()},
            timeout=15,
            interval=0.2,
        )
        assert manager.job("legacy-migrate-crm").facts.owner is None
        assert list((demo.root / "corrupt-billing-export" / ".backups").iterdir())
        assert len(manager.scan().jobs) >= 40
        assert set(stop_demo(demo.root)) <= pids  # what `logist demo-stop` does
    finally:
        demo.stop()
    assert _leftovers(pids) == []


def test_console_demo_removes_its_temporary_root_on_quit(tmp_path: Path) -> None:
    """The real `logist console --demo` on a pseudo-terminal: q quits, the temporary root it
    staged (under $TMPDIR) is gone with every process it started, and the settings are kept."""

    leader, follower = pty.openpty()
    config = tmp_path / "config"
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "TERM": "xterm-256color",
        "XDG_CONFIG_HOME": str(config),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "logist", "console", "--demo", "--interval", "0.5"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
    )
    os.close(follower)
    drain = threading.Thread(target=_drain, args=(leader,), daemon=True)
    drain.start()  # a terminal that is never read fills up and blocks the app's output
    pids: set[int] = set()
    try:
        staged = wait_for(lambda: list(tmp_path.glob("logist-demo-*/jobs/.logist")), timeout=30)
        demo = wait_for(lambda: _loaded(staged[0].parent), timeout=30)
        pids = {p["pid"] for p in demo.processes}
        time.sleep(2)  # the app is up and polling
        os.write(leader, b"q")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        drain.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(leader)
    assert list(tmp_path.glob("logist-demo-*")) == []
    assert _leftovers(pids) == []
    saved = json.loads((config / "logist" / "console.json").read_text())
    assert saved["interval"] == 0.5 and saved["theme"]  # remembered for the next run


_HANG_UP_WHILE_REMOVED = """
import asyncio, json, os, signal, sys
from logist.console import app, launch

class QuitsAtOnce:  # the app ran and quit: what follows is the demo's removal
    final_settings = None
    return_code = 0

    def __init__(self, **options):
        pass

    def run(self):  # as the app's: its loop's SIGHUP handler, gone as the loop closes
        async def mounted():
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, lambda: None)

        asyncio.run(mounted())

removing = launch._remove_demo

def removed_as_the_terminal_is_lost(staged):
    with open(sys.argv[1], "w") as pids:
        json.dump([record["pid"] for record in staged.processes], pids)
    os.kill(os.getpid(), signal.SIGHUP)
    removing(staged)

app.ConsoleApp = QuitsAtOnce
launch._remove_demo = removed_as_the_terminal_is_lost
sys.exit(launch.run_console(root=None, demo=True, read_only=False, interval=0.5))
"""


def test_a_terminal_lost_while_the_demo_is_removed_leaves_nothing(tmp_path: Path) -> None:
    """SIGHUP as `console --demo` removes its demo, after the app (and its own SIGHUP
    handler) ended: the removal goes on, every process stopped and the temporary root gone.
    The app is a stand-in that quits at once (its event loop's SIGHUP handler made and gone as
    the app's) and the hangup is the process's own signal: a real terminal cannot be made to
    drop at that point of the exit every time."""
    pids_file = tmp_path / "pids.json"
    env = {**os.environ, "TMPDIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(
        [sys.executable, "-c", _HANG_UP_WHILE_REMOVED, str(pids_file)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    pids = set(json.loads(pids_file.read_text()))
    left = _leftovers(pids)
    for process in left:  # (a failure must not leave them running either)
        with contextlib.suppress(psutil.Error):
            process.kill()
    assert done.returncode == 0, done.stderr.decode()
    assert pids
    assert list(tmp_path.glob("logist-demo-*")) == []
    assert left == []


def _drain(fd: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fd, 65536):
            pass


def _loaded(root: Path) -> DemoRoot | None:
    try:
        return DemoRoot.load(root)
    except Exception:
        return None
