"""The console's budget at 10,000 jobs (DESIGN.md section 8), measured on the real thing.

    uv run python benchmarks/console_bench.py [--jobs 10000] [--seconds 12] [--interval 1]

Not a test: it prints numbers. The console runs as `logist console` would (Textual's Linux
driver writing real escape sequences) inside a 200x60 pseudo-terminal, in a child process that
records its own timings; this process keeps the terminal drained, and rewrites 1% of the
manifests every second while the console polls, so that every poll has a diff to apply.

Measured, in the child:
- first paint: from process start (interpreter and imports included) to the first frame that
  shows the jobs; also from the app's start;
- event-loop stalls while polling: a task that sleeps 5 ms in a loop records how late it wakes;
- key to repaint (first, while the console polls): a key is injected as the terminal driver
  would deliver it, and the time runs until a frame is written whose state shows the key's
  effect (cursor moved, sorted, marked, filtered, pane switched); also the CPU time of the event
  loop's thread over that span, which other processes on the machine do not inflate;
- RSS after all of that; the poll's worker time and its apply time on the event loop.
Measured here: bytes written to the terminal, while polling and while idle.

LOGIST_BENCH_PROFILE=FILE writes a cProfile of the console process (for finding where it goes);
LOGIST_BENCH_DUMP=FILE keeps what the console wrote to the terminal while idle.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import random
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from datetime import datetime
from pathlib import Path
from typing import Any

BUDGET = {"first_paint_s": 1.0, "stall_ms": 100.0, "key_ms": 50.0, "rss_mb": 150.0}
IMPOSSIBLE_PID = 2**22 + 1
SIZE = (200, 60)


# ---- the root --------------------------------------------------------------------------------


def make_root(root: Path, count: int) -> list[Path]:
    """`count` Logist-style jobs: mostly finished, 3% crashed, 1% stalled, 5% pending, a few
    corrupt. Returns the manifests of finished jobs (the ones rewritten while polling)."""
    now = time.time()
    index, finished = {}, []
    for number in range(count):
        job_id = f"job-{number:06d}"
        job_dir = root / job_id
        job_dir.mkdir(parents=True)
        age = 3600.0 * (1 + number % 48)
        kind = number % 100
        data: dict[str, Any] = {
            "job_id": job_id,
            "description": f"Nightly export {number} of the {random.choice(('ledger', 'crm'))}",
            "status": "SUCCESS",
            "current_phase": "publish",
            "phases": [{"name": name} for name in ("fetch", "transform", "publish")],
            "created_at": datetime.fromtimestamp(now - age - 3600).isoformat(),
            "metrics": {"cumulative_cost": 1.5, "cumulative_time_seconds": 900, "step_count": 5},
            "cost_threshold": 5.0,
            "time_threshold_minutes": 60,
            "history": [
                {
                    "timestamp": datetime.fromtimestamp(now - age - 60 * step).isoformat(),
                    "action": "step",
                    "summary": f"step {step}",
                }
                for step in range(5)
            ],
        }
        if kind < 3:
            data.update(status="EXECUTING", process_id=IMPOSSIBLE_PID)
        elif kind < 4:
            data["status"] = "EXECUTING"
            age = 5 * 3600.0
        elif kind < 9:
            data["status"] = "PENDING"
        manifest = job_dir / "job_manifest.json"
        if number % 1000 == 999:
            manifest.write_text('{"job_id": "broken", "sta')
        else:
            manifest.write_text(json.dumps(data, indent=2))
            if data["status"] == "SUCCESS":
                finished.append(manifest)
        os.utime(manifest, (now - age, now - age))
        index[job_id] = str(job_dir)
    (root / "jobs_index.json").write_text(json.dumps({"jobs": index, "queue": []}))
    return finished


def churn(manifests: list[Path], share: float) -> None:
    """Rewrite `share` of the manifests: status flips between SUCCESS and PENDING."""
    for manifest in random.sample(manifests, max(1, int(len(manifests) * share))):
        data = json.loads(manifest.read_text())
        data["status"] = "PENDING" if data["status"] == "SUCCESS" else "SUCCESS"
        manifest.write_text(json.dumps(data, indent=2))


# ---- the parent ------------------------------------------------------------------------------


def run_parent(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="logist-console-bench-") as tmp:
        root = Path(tmp) / "jobs"
        started = time.perf_counter()
        manifests = make_root(root, args.jobs)
        print(f"root: {args.jobs:,} jobs written in {time.perf_counter() - started:.1f} s")
        results = Path(tmp) / "results.json"
        ready = Path(tmp) / "ready"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        env.pop("NO_COLOR", None)
        child = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                str(root),
                str(results),
                str(ready),
                str(args.interval),
                str(args.seconds),
            ],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        written = {"polling": 0, "idle": 0}
        dump_path = os.environ.get("LOGIST_BENCH_DUMP")
        dump = open(dump_path, "wb") if dump_path else None  # noqa: SIM115
        phase = None
        next_churn = None
        churn_until = None
        while child.poll() is None:
            ready_now = ready.exists()
            if ready_now and next_churn is None:
                next_churn = time.monotonic() + 0.5
                churn_until = time.monotonic() + args.seconds - 4
            readable, _, _ = select.select([master], [], [], 0.05)
            if readable:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if phase is not None:
                    written[phase] += len(chunk)
                    if dump is not None and phase == "idle":
                        dump.write(chunk)
            now = time.monotonic()
            if next_churn is not None and churn_until is not None:
                # idle: 3 s without churn, ending before the console's exit redraws anything
                phase = (
                    "polling" if now < churn_until else "idle" if now < churn_until + 3 else None
                )
                if now >= next_churn and now < churn_until:
                    churn(manifests, 0.01)
                    next_churn = now + 1.0
        child.wait()
        os.close(master)
        if dump is not None:
            dump.close()
        if not results.exists():
            print("the console did not report (it crashed?)", file=sys.stderr)
            return 1
        report(json.loads(results.read_text()), written, args)
    return 0


def report(numbers: dict[str, Any], written: dict[str, int], args: argparse.Namespace) -> None:
    def verdict(value: float, budget: float) -> str:
        return "ok" if value <= budget else "OVER BUDGET"

    keys = numbers["keys"]
    key_worst = max(k["ms"] for k in keys) if keys else float("nan")
    key_median = sorted(k["ms"] for k in keys)[len(keys) // 2] if keys else float("nan")
    key_cpu = max(k["cpu_ms"] for k in keys) if keys else float("nan")
    rows = [
        (
            "first paint with jobs, from process start",
            f"{numbers['first_paint_s']:.2f} s",
            verdict(numbers["first_paint_s"], BUDGET["first_paint_s"]),
        ),
        ("  from the app's start", f"{numbers['first_paint_app_s']:.2f} s", ""),
        ("  first frame (before data)", f"{numbers['first_frame_s']:.2f} s", ""),
        (
            "worst event-loop stall while polling",
            f"{numbers['stall_max_ms']:.0f} ms",
            verdict(numbers["stall_max_ms"], BUDGET["stall_ms"]),
        ),
        ("  99th percentile stall", f"{numbers['stall_p99_ms']:.1f} ms", ""),
        (
            "key to repaint, worst",
            f"{key_worst:.0f} ms",
            verdict(key_worst, BUDGET["key_ms"]),
        ),
        ("  median", f"{key_median:.0f} ms", ""),
        ("  worst CPU of the event loop's thread", f"{key_cpu:.0f} ms", ""),
        ("RSS", f"{numbers['rss_mb']:.0f} MB", verdict(numbers["rss_mb"], BUDGET["rss_mb"])),
        ("polls applied", f"{numbers['polls']}", ""),
        ("poll in the worker (median)", f"{numbers['poll_worker_ms']:.0f} ms", ""),
        ("poll applied on the event loop (worst)", f"{numbers['apply_max_ms']:.0f} ms", ""),
        ("longest garbage collection", f"{numbers['gc_max_ms']:.0f} ms", ""),
        (
            "terminal output while polling, 1% churn",
            f"{written['polling'] / max(1, args.seconds - 4) / 1024:.1f} KiB/s",
            "",
        ),
        ("terminal output while idle", f"{written['idle'] / 4 / 1024:.1f} KiB/s", ""),
    ]
    print(f"console at {args.jobs:,} jobs, {SIZE[0]}x{SIZE[1]}, poll every {args.interval} s")
    for name, value, status in rows:
        print(f"  {name:<44} {value:>12}  {status}")
    print(
        "  keys (wall/cpu ms): "
        + ", ".join(f"{k['key']} {k['ms']:.0f}/{k['cpu_ms']:.0f}" for k in keys)
    )
    print(f"  load average: {os.getloadavg()[0]:.2f} on 2 cores (other work inflates wall times)")


# ---- the child (the console itself) ----------------------------------------------------------


def run_child(root: str, results: str, ready: str, interval: float, seconds: float) -> None:
    import asyncio
    import gc
    import statistics

    import psutil

    process_start = psutil.Process().create_time()
    app_start = time.time()
    # as `logist console` does (logist.console.launch): the first scan starts before Textual
    # is imported
    from logist.console.poller import Poller, PollResult
    from logist.core import JobRecoveryManager

    manager = JobRecoveryManager(root)
    poller = Poller(manager=manager, clock=time.time)
    poller.prefetch()

    from textual import events

    from logist.console.app import ConsoleApp

    class BenchApp(ConsoleApp):
        """The console, with clocks on frames, polls and injected keys."""

        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            self.first_frame: float | None = None
            self.first_paint: float | None = None
            self.stalls: list[float] = []
            self.applies: list[float] = []
            self.workers_ms: list[float] = []
            self.keys: list[dict[str, Any]] = []
            self.gc_pauses: list[float] = []
            self._gc_started = 0.0
            self._pending: tuple[str, float, float, Any] | None = None
            self._measuring = False

        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if renderable is None:
                return
            now = time.time()
            if self.first_frame is None:
                self.first_frame = now
            if self.first_paint is None and self.poll_count:
                self.first_paint = now
                self.set_timer(0.5, self._start)
            if self._pending is not None:
                key, started, cpu, before = self._pending
                if self._state() != before:
                    self.keys.append(
                        {
                            "key": key,
                            "ms": (time.perf_counter() - started) * 1000,
                            "cpu_ms": (time.thread_time() - cpu) * 1000,
                        }
                    )
                    self._pending = None

        def _apply(self, result: PollResult) -> None:
            started = time.perf_counter()
            super()._apply(result)
            if self._measuring:
                self.applies.append((time.perf_counter() - started) * 1000)
                self.workers_ms.append(result.scan_s * 1000)

        def _state(self) -> tuple[Any, ...]:
            screen = self.main_screen
            table = screen.active_table
            return (
                screen._active,
                table.cursor_key,
                table.sort_label,
                len(self.marks),
                screen._query.text,
            )

        def _start(self) -> None:
            self.run_worker(self._press_keys(), group="bench")
            gc.callbacks.append(self._gc_timer)

        def _gc_timer(self, phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                self._gc_started = time.perf_counter()
            elif self._measuring:
                self.gc_pauses.append((time.perf_counter() - self._gc_started) * 1000)

        def _polling_phase(self) -> None:
            """Keys done: the parent starts rewriting manifests; stalls are watched."""
            Path(ready).touch()
            self._measuring = True
            self.run_worker(self._watch_loop(), group="bench")
            self.set_timer(seconds, self._finish)

        async def _watch_loop(self) -> None:
            while True:
                started = time.perf_counter()
                await asyncio.sleep(0.005)
                self.stalls.append((time.perf_counter() - started - 0.005) * 1000)

        async def _press_keys(self) -> None:
            sequence = [
                *["down"] * 8,
                *["pagedown"] * 3,
                "s",
                "s",
                "S",
                "space",
                "space",
                "slash",
                *"crash",
                "enter",
                "escape",
                "2",
                "down",
                "1",
            ]
            for key in sequence:
                await asyncio.sleep(0.3)
                before = self._state()
                character = key if len(key) == 1 else None
                if key == "slash":
                    character = "/"
                elif key == "space":
                    character = " "
                self._pending = (key, time.perf_counter(), time.thread_time(), before)
                assert self._driver is not None
                self._driver.send_message(events.Key(key, character))
            await asyncio.sleep(0.5)
            self._pending = None
            self._polling_phase()

        def _finish(self) -> None:
            stalls = sorted(self.stalls) or [0.0]
            assert self.first_paint is not None and self.first_frame is not None
            numbers = {
                "first_paint_s": self.first_paint - process_start,
                "first_paint_app_s": self.first_paint - app_start,
                "first_frame_s": self.first_frame - process_start,
                "stall_max_ms": stalls[-1],
                "stall_p99_ms": stalls[int(len(stalls) * 0.99)],
                "keys": self.keys,
                "rss_mb": psutil.Process().memory_info().rss / 2**20,
                "polls": self.poll_count,
                "poll_worker_ms": statistics.median(self.workers_ms or [0.0]),
                "apply_max_ms": max(self.applies or [0.0]),
                "gc_max_ms": max(self.gc_pauses or [0.0]),
            }
            Path(results).write_text(json.dumps(numbers))
            self.exit()

    app = BenchApp(manager=manager, interval=interval, poller=poller)
    profile = os.environ.get("LOGIST_BENCH_PROFILE")
    if profile:
        import cProfile

        cProfile.runctx("app.run()", globals(), {"app": app}, profile)
    else:
        app.run()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        root, results, ready, interval, seconds = sys.argv[2:7]
        run_child(root, results, ready, float(interval), float(seconds))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=12.0, help="measuring time")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")
    return run_parent(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
