"""The unattended side against its budget, with real runners.

    uv run python benchmarks/bench_watch.py [--runners 1000] [--kills 20] [--idle 60]
                                            [--reboot 1000]

1. `--runners` jobs really running under `logist run` (heartbeat 5 s, command `sleep`), one
   `logist watch` and one `logist console` (a real terminal: tmux on a socket of its own) on the
   root, plus a headless console in this process's child that reports when a row appears;
2. `--kills` times: SIGKILL one runner (its command runs on: the job turns detached) and time
   (a) the journal line and (b) the console row from the kill, median and worst;
3. `--idle` seconds with nothing changing: CPU of the watch, of the console, and of all the
   runners' heartbeats;
4. a simulated reboot: `--reboot` EXECUTING jobs whose owners were recorded under another boot
   id; `logist watch --auto-recover` with the brake off recovers them all (time to the last
   recovery), and with the brake on recovers none.

Budget (issue 10, DESIGN.md section 8): death -> journal and console median <= 0.3 s, worst
<= 0.5 s at 1,000 running jobs; idle CPU watch <= 1 %, console <= 2 % of a core; 1,000 proven
crashes recovered in <= 10 s with the brake off, none with it on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from roots import machine, manifest, owner_record

from logist.core._identity import Liveness, identity_from_record, liveness

PYTHON = sys.executable
TMUX_SOCKET = "bench-watch"
JOURNAL = Path(".logist") / "events.jsonl"


# ---- processes -----------------------------------------------------------------------------


MEMORY_RESERVE = 4 * 2**30
"""Stop starting runners when less than this is left (the machine is shared): "as many as fit"."""


def start_runners(
    root: Path, count: int, runners: dict[str, subprocess.Popen[bytes]], batch: int = 20
) -> None:
    """Up to `count` real runners into `runners` (the caller stops them, whatever happens);
    returns when every one has recorded its command."""
    for start in range(0, count, batch):
        if psutil.virtual_memory().available < MEMORY_RESERVE:
            print(f"\n  memory: stopping at {len(runners)} runners", file=sys.stderr)
            break
        names = [f"run{n:04d}" for n in range(start, min(count, start + batch))]
        for name in names:
            with open(root.parent / f"{name}.err", "wb") as errors:
                runners[name] = subprocess.Popen(
                    [PYTHON, "-m", "logist", "run", "--root", str(root), "--job-id", name,
                     "--heartbeat", "5", "--", "sleep", "100000"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )  # fmt: skip
        for name in names:
            deadline = time.monotonic() + 120
            while _command(root, name) is None:
                if time.monotonic() > deadline or runners[name].poll() is not None:
                    why = (root.parent / f"{name}.err").read_text(errors="replace").strip()
                    raise SystemExit(f"runner {name} did not start: {why[-500:]}")
                time.sleep(0.02)
        print(f"  {len(runners)} runners started", file=sys.stderr, end="\r")
    print(file=sys.stderr)


def _command(root: Path, name: str) -> Any:
    try:
        data = json.loads((root / name / "job_manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return identity_from_record(data.get("owner"), "child_pid", "child_start_token")


def stop_runners(root: Path, runners: dict[str, subprocess.Popen[bytes]]) -> None:
    """Each command killed only if it is still verifiably the one recorded, then its runner."""
    commands = [_command(root, name) for name in runners]
    for proc in runners.values():
        if proc.poll() is None:
            proc.kill()
    for proc in runners.values():
        proc.wait()
    for command in commands:
        if command is not None and liveness(command) is Liveness.ALIVE:
            with contextlib.suppress(OSError):
                os.killpg(command.pid, signal.SIGKILL)


def start_watch(root: Path, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [PYTHON, "-m", "logist", "watch", "--root", str(root), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: events(root, "watch-start"), 60)
    return proc


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def events(root: Path, kind: str | None = None) -> list[dict[str, Any]]:
    try:
        lines = (root / JOURNAL).read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if kind is None or record.get("kind") == kind:
                found.append(record)
    return found


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s")
        time.sleep(interval)


def cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


# ---- the journal, tailed -------------------------------------------------------------------


class JournalTail(threading.Thread):
    """Notes when each verdict line first appears (the file polled every 2 ms)."""

    def __init__(self, root: Path) -> None:
        super().__init__(daemon=True)
        self.path = root / JOURNAL
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self._offset = self.path.stat().st_size if self.path.exists() else 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                size = self.path.stat().st_size
            except OSError:
                size = 0
            if size > self._offset:
                now = time.time()
                with open(self.path, "rb") as stream:
                    stream.seek(self._offset)
                    data = stream.read(size - self._offset)
                end = data.rfind(b"\n") + 1
                self._offset += end
                for line in data[:end].splitlines():
                    record = json.loads(line)
                    if record.get("kind") == "verdict":
                        self.seen.setdefault(record["job_id"], now)
            time.sleep(0.002)


# ---- the console, headless in a child that reports rows ----------------------------------


CONSOLE_CHILD = """
import asyncio, sys, time
from logist.console.app import ConsoleApp
from logist.core import JobRecoveryManager

async def main(root):
    app = ConsoleApp(manager=JobRecoveryManager(root, scan_cache=True), interval=2.0)
    async with app.run_test(size=(160, 50)) as pilot:
        while app.poll_count < 1:
            await pilot.pause(0.05)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            job = line.strip()
            while job not in app.main_screen.table("triage").shown_keys():
                await pilot.pause(0.002)
            print(f"seen {job} {time.time()}", flush=True)

asyncio.run(main(sys.argv[1]))
"""


def start_headless_console(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [PYTHON, "-c", CONSOLE_CHILD, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the headless console did not start")
    return proc


def start_tmux_console(root: Path) -> int:
    """The real console in a real terminal (tmux, own socket); returns its pid."""
    subprocess.run(
        ["tmux", "-L", TMUX_SOCKET, "-f", "/dev/null", "new", "-d", "-s", "t", "-x", "120",
         "-y", "40", f"{PYTHON} -m logist console --root {root}"],
        check=True,
    )  # fmt: skip
    out = subprocess.run(
        ["tmux", "-L", TMUX_SOCKET, "list-panes", "-F", "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[0])


def stop_tmux() -> None:
    subprocess.run(["tmux", "-L", TMUX_SOCKET, "kill-server"], capture_output=True)


# ---- the measurements ----------------------------------------------------------------------


def deaths(
    root: Path,
    runners: dict[str, subprocess.Popen[bytes]],
    kills: int,
    console: subprocess.Popen[str],
) -> dict[str, list[float]]:
    tail = JournalTail(root)
    tail.start()
    journal, rows = [], []
    victims = list(runners)[-kills:]
    assert console.stdin is not None and console.stdout is not None
    for job in victims:
        console.stdin.write(job + "\n")
        console.stdin.flush()
        time.sleep(0.2)  # the console is now waiting for the row
        killed = time.time()
        runners[job].send_signal(signal.SIGKILL)
        seen = console.stdout.readline().split()
        rows.append(float(seen[2]) - killed)
        wait_until(lambda job=job: job in tail.seen, 30, 0.005)
        journal.append(tail.seen[job] - killed)
        runners[job].wait()
        time.sleep(0.5)
    tail.stop.set()
    return {"journal": journal, "console": rows}


def idle_cpu(pids: dict[str, list[int]], seconds: float) -> dict[str, float]:
    before = {name: cpu_s(group) for name, group in pids.items()}
    time.sleep(seconds)
    return {name: (cpu_s(group) - before[name]) / seconds for name, group in pids.items()}


def stage_reboot(root: Path, count: int) -> None:
    """EXECUTING jobs whose owners ran before a reboot: another boot id, so proven dead."""
    now = time.time()
    root.mkdir(parents=True)
    for n in range(count):
        job_id = f"boot{n:05d}"
        data = manifest(job_id, n, "EXECUTING", now)
        data["owner"] = {**owner_record(4_000_000 + n, 1), "boot_id": "before-the-reboot"}
        (root / job_id).mkdir()
        (root / job_id / "job_manifest.json").write_text(json.dumps(data, indent=2))
        (root / job_id / ".lock").touch()


def reboot(base: Path, count: int) -> dict[str, float]:
    off = base / "reboot-brake-off"
    stage_reboot(off, count)
    started = time.monotonic()
    watch = start_watch(off, "--auto-recover", "--brake-share", "0", "--max-per-minute", "0")
    from_start = time.monotonic() - started
    wait_until(lambda: len(events(off, "auto-recovery")) >= count, 300, 0.02)
    total = time.monotonic() - started
    stop(watch)
    recovered = sum(1 for e in events(off, "auto-recovery") if e["outcome"] == "recovered")

    on = base / "reboot-brake-on"
    stage_reboot(on, count)
    watch = start_watch(on, "--auto-recover", "--max-per-minute", "0")
    wait_until(lambda: events(on, "brake-on"), 60)
    time.sleep(5)
    paused = len(events(on, "auto-recovery"))
    stop(watch)
    return {
        "recovered": recovered,
        "seconds": total,
        "watch_start_s": from_start,
        "with_brake_recovered_in_5s": paused,
    }


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms "
        f"(n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runners", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--reboot", type=int, default=1000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-watch-"))
    root = base / "jobs"
    root.mkdir()
    runners: dict[str, subprocess.Popen[bytes]] = {}
    watch = console = None
    results: dict[str, Any] = {"machine": machine(), "runners": args.runners}
    if args.runners:
        try:
            print(f"starting {args.runners} runners…", file=sys.stderr)
            started = time.monotonic()
            start_runners(root, args.runners, runners)
            results["runners_start_s"] = round(time.monotonic() - started, 1)
            rss = sum(psutil.Process(p.pid).memory_info().rss for p in runners.values())
            results["runners"] = len(runners)
            results["runner_rss_mib_each"] = round(rss / len(runners) / 2**20, 1)
            watch = start_watch(root, "--interval", "2")
            console = start_headless_console(root)
            tmux_pid = start_tmux_console(root)
            time.sleep(5)  # first polls done, everything settled
            print("killing runners…", file=sys.stderr)
            measured = deaths(root, runners, args.kills, console)
            results["death_to_journal"] = summary(measured["journal"])
            results["death_to_console_row"] = summary(measured["console"])
            alive = [p.pid for p in runners.values() if p.poll() is None]
            time.sleep(3)
            print(f"idle for {args.idle:g} s…", file=sys.stderr)
            cpu = idle_cpu(
                {"watch": [watch.pid], "console": [tmux_pid], "runners": alive}, args.idle
            )
            results["idle_cpu_watch"] = f"{cpu['watch']:.2%} of a core"
            results["idle_cpu_console"] = f"{cpu['console']:.2%} of a core (tmux, 120x40)"
            results["idle_cpu_runners"] = (
                f"{cpu['runners']:.2%} of a core for {len(alive)} runners "
                f"({cpu['runners'] / len(alive):.4%} each)"
            )
        finally:
            stop_tmux()
            if console is not None:
                console.kill()
                console.wait()
            if watch is not None:
                stop(watch)
            stop_runners(root, runners)
    if args.reboot:
        print(f"simulated reboot of {args.reboot} jobs…", file=sys.stderr)
        results["reboot"] = reboot(base, args.reboot)
    shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
