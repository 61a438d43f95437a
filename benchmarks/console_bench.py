"""The console's budgets at 10,000 and 100,000 jobs (DESIGN.md section 8), on the real thing.

    uv run python benchmarks/console_bench.py [--jobs 10000] [--seconds 38] [--interval 1]
        [--moved]

Not a test: it prints numbers. The root is the shared realistic one (benchmarks/roots.py), its
live jobs owned by a real process. The console runs as `logist console` would (Textual's Linux
driver writing real escape sequences) inside a 200x60 pseudo-terminal, in a child process that
records its own timings; this process keeps the terminal drained, and once the whole root is on
screen rewrites 1% of the finished manifests every second while keys are pressed. The rewriting
runs in a thread of its own, so that the terminal is drained all the while (a console that
cannot write waits for its terminal, as on a slow link).

What the polls meanwhile are: the console's light ticks (every `--interval`) re-judge only the
jobs events cannot watch (the tables draw the ages); a rewritten resting manifest raises no
event (only active jobs are watched), so the churn shows at the next whole poll, which the
console makes every FULL_POLL_S (30 s). The measuring time is therefore longer than that
period (38 s by default, keys pressed in rounds all along): it holds light ticks and one whole
poll that applies some 30 s of churn, the console's worst regular poll. (A 14 s window, as
before, held light ticks only: the churn it wrote was never applied while measured.)

Measured, in the child:
- first paint: from process start (interpreter and imports included) to the first frame that
  shows jobs (a first look at 400 of them on a big root); whole root: to the first frame after
  the complete poll was applied;
- event-loop stalls while polling: a task that sleeps 5 ms in a loop records how late it wakes;
- key to repaint, during the churn: a key is injected as the terminal driver would deliver it,
  and the time runs until a frame is written whose state shows the key's effect (cursor moved,
  sorted, marked, filtered, pane switched); also the CPU time of the event loop's thread over
  that span, which other processes on the machine do not inflate; sort is the worst of `s`/`S`;
- RSS after all of that; the poll's worker time and its apply time on the event loop, the
  whole polls apart from the light ticks.
Measured here: bytes written to the terminal, while polling and while idle.

`--moved`: the root moved (`mv`) after it was built, its index still naming the old paths (a
root restored to another place): a finding per job (`index-path-mismatch`), whose pane takes
every whole poll's findings too.

LOGIST_BENCH_PROFILE=FILE writes a cProfile of the console process (for finding where it goes);
LOGIST_BENCH_DUMP=FILE keeps what the console wrote to the terminal while idle;
LOGIST_BENCH_STALLS=FILE, the event loop's stacks while it is late;
LOGIST_BENCH_BUSY=FILE, the CPU of the console's other threads while a key is being handled (the
poll worker is meant to step aside), by stack: every 1 ms, each thread whose CPU clock moved.
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
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import roots

BUDGETS = {
    # DESIGN.md section 8: at 10,000 jobs the first paint; at 100,000 the whole root and sort
    10_000: {"first_paint_s": 1.0, "stall_ms": 100.0, "key_ms": 50.0, "rss_mb": 150.0},
    100_000: {
        "whole_root_s": 2.5,
        "sort_ms": 100.0,
        "stall_ms": 100.0,
        "key_ms": 50.0,
        "rss_mb": 250.0,
    },
}
SIZE = (200, 60)


# ---- the root ------------------------------------------------------------------------------


def churn(manifests: list[str], share: float) -> None:
    """Rewrite `share` of the finished manifests (atomically, as a writer does): status flips
    between SUCCESS and PENDING."""
    for manifest in random.sample(manifests, max(1, int(len(manifests) * share))):
        try:
            data = json.loads(Path(manifest).read_bytes())
        except ValueError:
            continue
        data["status"] = "PENDING" if data["status"] == "SUCCESS" else "SUCCESS"
        tmp = manifest + ".tmp"
        Path(tmp).write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, manifest)


def churning(manifests: list[str], until: float, stop: threading.Event) -> None:
    """1% of the finished manifests rewritten every second until `until`, starting in 0.5 s."""
    next_churn = time.monotonic() + 0.5
    while not stop.wait(max(0.0, next_churn - time.monotonic())):
        if time.monotonic() >= until:
            return
        churn(manifests, 0.01)
        next_churn += 1.0


# ---- the parent ------------------------------------------------------------------------------


def run_parent(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.moved:  # moved with its index (`build` then finds it complete where it is now)
        moved = args.work / f"moved-{args.jobs}"
        if not moved.exists():
            os.rename(roots.build(args.work / f"root-{args.jobs}", args.jobs).path, moved)
        built = roots.build(moved, args.jobs)
    else:
        built = roots.build(args.work / f"root-{args.jobs}", args.jobs)
    root = built.path
    manifests = [
        os.path.join(root, job_id, roots.MANIFEST) for job_id in built.kinds.get("SUCCESS", [])
    ]
    print(f"root: {args.jobs:,} jobs ready in {time.perf_counter() - started:.1f} s")
    with (
        tempfile.TemporaryDirectory(prefix="logist-console-bench-") as tmp,
        roots.live_owners(built),
    ):
        results = Path(tmp) / "results.json"
        ready = Path(tmp) / "ready"
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        env.pop("NO_COLOR", None)
        env["XDG_CACHE_HOME"] = str(args.work / "console-cache")
        if args.no_scan_cache:
            env["LOGIST_SCAN_CACHE"] = "0"
        else:  # as after any `logist status` on this root: the scan cache is there
            subprocess.run(
                [sys.executable, "-m", "logist", "status", "--root", str(root)],
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            saved_by_status(Path(env["XDG_CACHE_HOME"]) / "logist")
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
        churn_until = None
        stop = threading.Event()
        churner = None
        while child.poll() is None:
            if churner is None and ready.exists():
                churn_until = time.monotonic() + args.seconds - 4
                # in its own thread: at 100,000 jobs a round of churn takes seconds, and a
                # terminal left undrained that long blocks the console's writes (its event
                # loop waited 5 s on a full output queue: the benchmark's stall, not the app's)
                churner = threading.Thread(target=churning, args=(manifests, churn_until, stop))
                churner.start()
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
            if churn_until is not None:
                # idle: 3 s without churn, ending before the console's exit redraws anything
                phase = (
                    "polling" if now < churn_until else "idle" if now < churn_until + 3 else None
                )
        stop.set()
        if churner is not None:
            churner.join()
        child.wait()
        os.close(master)
        if dump is not None:
            dump.close()
        if not results.exists():
            print("the console did not report (it crashed?)", file=sys.stderr)
            return 1
        report(json.loads(results.read_text()), written, args)
    return 0


def saved_by_status(cache: Path) -> None:
    """Wait for the caches `status` writes in a child after its output (the scan cache, then
    the root's listing): a console started at once raced that child, and on a loaded machine
    lost, reading all 100,000 manifests (a whole root at 7-14 s that said nothing of the
    console). As a console opened on a root that a monitor runs `status` on every minute."""
    deadline = time.monotonic() + 60
    while not list(cache.glob("scan-*.marshal")) and time.monotonic() < deadline:
        time.sleep(0.05)
    deadline = time.monotonic() + 5  # (written by the code that keeps a listing)
    while not list(cache.glob("listing-*.marshal")) and time.monotonic() < deadline:
        time.sleep(0.05)


def report(numbers: dict[str, Any], written: dict[str, int], args: argparse.Namespace) -> None:
    budget = BUDGETS.get(args.jobs, BUDGETS[10_000] if args.jobs <= 10_000 else BUDGETS[100_000])

    def verdict(name: str, value: float) -> str:
        if name not in budget:
            return ""
        return f"<= {budget[name]:g}: " + ("ok" if value <= budget[name] else "OVER BUDGET")

    keys = numbers["keys"]
    whole = numbers["whole"] or [(float("nan"),) * 3 + ("",)]
    walls = sorted(k["ms"] for k in keys) or [float("nan")]
    sorts = [k["ms"] for k in keys if k["key"] in ("s", "S")] or [float("nan")]
    key_cpu = max((k["cpu_ms"] for k in keys), default=float("nan"))
    worst = max(keys, key=lambda k: k["ms"], default={"cpu_ms": float("nan")})
    rows = [
        (
            "first paint with jobs, from process start",
            numbers["first_paint_s"],
            "s",
            "first_paint_s",
        ),
        ("  from the app's start", numbers["first_paint_app_s"], "s", ""),
        ("  first frame (before data)", numbers["first_frame_s"], "s", ""),
        ("whole root on screen, from process start", numbers["whole_root_s"], "s", "whole_root_s"),
        ("worst event-loop stall (polling, 1% churn)", numbers["stall_max_ms"], "ms", "stall_ms"),
        ("  99th percentile stall", numbers["stall_p99_ms"], "ms", ""),
        ("  the worst stall's own CPU (the rest: waiting)", numbers["stall_max_cpu_ms"], "ms", ""),
        ("key to repaint, worst (during churn)", walls[-1], "ms", "key_ms"),
        ("  median", walls[len(walls) // 2], "ms", ""),
        ("  worst CPU of the event loop's thread", key_cpu, "ms", ""),
        ("  the worst key's CPU: the event loop's", worst["cpu_ms"], "ms", ""),
        ("    the console's other threads'", worst.get("others_ms", float("nan")), "ms", ""),
        ("sort (key to repaint of s / S), worst", max(sorts), "ms", "sort_ms"),
        ("RSS", numbers["rss_mb"], "MB", "rss_mb"),
        ("  read during a whole poll (1: yes)", int(numbers["rss_in_whole_poll"]), "", ""),
        ("  peak RSS of the run", numbers["peak_rss_mb"], "MB", ""),
        ("polls applied", numbers["polls"], "", ""),
        ("light tick in the worker (median)", numbers["poll_worker_ms"], "ms", ""),
        ("light tick applied on the event loop (worst)", numbers["apply_max_ms"], "ms", ""),
        ("whole polls applied while measuring", len(numbers["whole"]), "", ""),
        ("  whole poll in the worker (worst)", max(w[0] for w in whole), "ms", ""),
        ("  whole poll applied on the event loop (worst)", max(w[1] for w in whole), "ms", ""),
        ("  rows changed by a whole poll (most)", max(w[2] for w in whole), "", ""),
        ("  of them applied with the filter on", sum(bool(w[3]) for w in whole), "", ""),
        ("longest garbage collection on the event loop", numbers["gc_max_ms"], "ms", ""),
        ("  its generation", numbers["gc_worst"][0], "", ""),
        ("  objects it found unreachable", numbers["gc_worst"][1], "", ""),
        ("  net allocations in generation 0 as it started", numbers["gc_worst"][2][0], "", ""),
        ("  in another thread", numbers["gc_max_other_ms"], "ms", ""),
        (
            "terminal output while polling",
            written["polling"] / 1024 / numbers["polling_s"],
            "KiB/s",
            "",
        ),
        ("terminal output while idle", written["idle"] / 4 / 1024, "KiB/s", ""),
    ]
    cache = "without" if args.no_scan_cache else "with"
    print(
        f"console at {args.jobs:,} jobs, {SIZE[0]}x{SIZE[1]}, poll every {args.interval} s, "
        f"{cache} the scan cache at start"
    )
    print(f"machine: {roots.machine()}")
    for name, value, unit, budget_name in rows:
        shown = f"{value:.2f}" if unit == "s" else f"{value:.0f}"
        print(f"  {name:<46} {shown:>8} {unit:<5} {verdict(budget_name, value)}")
    print(
        "  keys (wall/cpu ms): "
        + ", ".join(f"{k['key']} {k['ms']:.0f}/{k['cpu_ms']:.0f}" for k in keys)
    )
    print(
        "  the other threads' CPU in those keys (ms): "
        + ", ".join(f"{k.get('others_ms', float('nan')):.0f}" for k in keys)
    )


# ---- the child (the console itself) ----------------------------------------------------------


def started_at() -> float:
    """When this process started, on the wall clock, to the kernel's clock tick (10 ms).

    Not `psutil.Process().create_time()`: it adds the start's ticks since boot to /proc/stat's
    `btime`, the boot time cut to a whole second, so every figure "from process start" was
    longer by the fraction cut (the same for every run since that boot: 0.887 s on the boot
    of 2026-12-01). Here the boot is the wall clock less CLOCK_BOOTTIME, the clock the start's
    ticks count on."""
    after_paren = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    ticks_since_boot = int(after_paren[19])  # field 22, starttime
    booted = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return booted + ticks_since_boot / os.sysconf("SC_CLK_TCK")


def other_threads_cpu(loop: int) -> dict[int, float]:
    """The CPU time of every Python thread but `loop`, by thread (its own clock, in s)."""
    spent = {}
    for thread in threading.enumerate():
        if thread.ident is not None and thread.ident != loop:
            try:
                spent[thread.ident] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):  # ended meanwhile
                continue
    return spent


def run_child(root: str, results: str, ready: str, interval: float, seconds: float) -> None:
    import asyncio
    import gc
    import resource
    import statistics

    import psutil

    process_start = started_at()
    app_start = time.time()
    # as `logist console` does (logist.console.launch): the first scan starts before Textual
    # is imported
    from logist.console.poller import Poller, PollResult
    from logist.core import JobRecoveryManager

    manager = JobRecoveryManager(root, scan_cache=True)
    poller = Poller(manager=manager, clock=time.time)
    whole_poll_running = threading.Event()
    """Set while the poll worker makes a whole poll (RSS read then has its temporaries)."""
    whole_poll = poller._poll

    def tracked_whole_poll() -> PollResult:
        whole_poll_running.set()
        try:
            return whole_poll()
        finally:
            whole_poll_running.clear()

    poller._poll = tracked_whole_poll  # type: ignore[method-assign]
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
            self.stall_cpu: list[tuple[float, float]] = []
            """(stall, the event loop's CPU meanwhile) in ms."""
            self.applies: list[float] = []
            self.workers_ms: list[float] = []
            self.whole: list[tuple[float, float, int, str]] = []
            """(worker ms, apply ms, rows changed, the filter then) of each whole poll applied
            while measuring (the keys type `/crash`: a whole poll may come while it is on)."""
            self._whole_seen = 0
            self.keys: list[dict[str, Any]] = []
            self.gc_pauses: list[float] = []
            """Collections on the event loop's thread (ms)."""
            self.gc_pauses_other: list[float] = []
            """...and in the others (the poll worker's: the event loop waits for their GIL)."""
            self._gc_started = 0.0
            self._loop_thread = threading.get_ident()
            self._gc_counts = (0, 0, 0)
            self.gc_worst: tuple[int, int, tuple[int, int, int]] = (0, 0, (0, 0, 0))
            """The longest on the event loop: its generation, the objects it found unreachable,
            `gc.get_count()` as it started (the allocations that started it)."""
            self._pending: tuple[str, float, float, Any] | None = None
            self._others_at_key: dict[int, float] = {}
            """The other threads' CPU as the pending key was sent (`other_threads_cpu`)."""
            self._measuring = False
            self._complete_applied = False
            self.whole_root: float | None = None
            self.polling_started = 0.0
            self._last_tick = 0.0
            """When the stall watcher last ran (`LOGIST_BENCH_STALLS`: what the loop was doing)."""
            self.stall_samples: list[tuple[float, list[str]]] = []
            self.busy_by_stack: Counter[str] = Counter()
            """`LOGIST_BENCH_BUSY`: the other threads' CPU (ms) in keys, by stack."""

        def _display(self, screen: Any, renderable: Any) -> None:
            super()._display(screen, renderable)
            if renderable is None:
                return
            now = time.time()
            if self.first_frame is None:
                self.first_frame = now
            if self.first_paint is None and self.poll_count:
                self.first_paint = now
            if self.whole_root is None and self._complete_applied:
                self.whole_root = now
                self.set_timer(0.2, self._start)
            if self._pending is not None:
                key, started, cpu, before = self._pending
                if self._state() != before:
                    others = other_threads_cpu(self._loop_thread)
                    at_key = self._others_at_key
                    self.keys.append(
                        {
                            "key": key,
                            "ms": (time.perf_counter() - started) * 1000,
                            "cpu_ms": (time.thread_time() - cpu) * 1000,
                            "others_ms": sum(
                                spent - at_key.get(ident, 0.0) for ident, spent in others.items()
                            )
                            * 1000,
                        }
                    )
                    self._pending = None

        def _apply(self, result: PollResult) -> None:
            started = time.perf_counter()
            super()._apply(result)
            self._complete_applied = self._complete_applied or result.complete
            applied_ms = (time.perf_counter() - started) * 1000
            full_polls = self._poller.full_polls
            whole, self._whole_seen = full_polls > self._whole_seen, full_polls
            if self._measuring and whole:
                changed = len(result.jobs_changed)
                query = self.main_screen._query.text
                self.whole.append((result.scan_s * 1000, applied_ms, changed, query))
            elif self._measuring:
                self.applies.append(applied_ms)
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
            """The whole root is on screen: the parent starts rewriting manifests, stalls are
            watched, and keys are pressed while polls apply the churn."""
            Path(ready).touch()
            self._measuring = True
            self.polling_started = time.perf_counter()
            gc.callbacks.append(self._gc_timer)
            if os.environ.get("LOGIST_BENCH_STALLS"):
                threading.Thread(target=self._sample_stalls, daemon=True).start()
            if os.environ.get("LOGIST_BENCH_BUSY"):
                threading.Thread(target=self._sample_busy, daemon=True).start()
            self.run_worker(self._watch_loop(), group="bench")
            self.run_worker(self._press_keys(), group="bench")
            self.set_timer(seconds, self._finish)

        def _gc_timer(self, phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                self._gc_started = time.perf_counter()
                self._gc_counts = gc.get_count()
            elif self._measuring:
                on_loop = threading.get_ident() == self._loop_thread
                pauses = self.gc_pauses if on_loop else self.gc_pauses_other
                pause = (time.perf_counter() - self._gc_started) * 1000
                pauses.append(pause)
                if on_loop and pause >= max(self.gc_pauses):
                    self.gc_worst = (info["generation"], info["collected"], self._gc_counts)

        def _sample_stalls(self) -> None:
            """Every 2 ms, while the stall watcher is 30 ms late: the event loop's stack (a
            profile of the stalls; the watcher's figures then include this thread's share)."""
            import traceback

            while self._measuring:
                time.sleep(0.002)
                late = time.perf_counter() - self._last_tick
                frame = sys._current_frames().get(self._loop_thread)
                if late > 0.03 and frame is not None:
                    stack = traceback.extract_stack(frame)[-14:]
                    where = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack]
                    self.stall_samples.append((late * 1000, where))

        def _sample_busy(self) -> None:
            """Every 1 ms while a key is being handled (`logist._pace`'s flag): each other
            thread whose CPU clock moved since the last look, its CPU by its innermost frames
            (what the poll worker did instead of stepping aside)."""
            import traceback

            from logist import _pace

            me = threading.get_ident()
            last: dict[int, float] = {}
            while self._measuring:
                time.sleep(0.001)
                flagged = _pace._busy_until > time.monotonic()
                frames = sys._current_frames()
                for ident, spent in other_threads_cpu(self._loop_thread).items():
                    ran, last[ident] = spent - last.get(ident, spent), spent
                    if ident == me or not flagged or not ran or ident not in frames:
                        continue
                    stack = traceback.extract_stack(frames[ident])[-6:]
                    where = " < ".join(
                        f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack)
                    )
                    self.busy_by_stack[where] += ran * 1000
                    del stack
                del frames

        async def _watch_loop(self) -> None:
            while True:
                self._last_tick = started = time.perf_counter()
                cpu = time.thread_time()
                await asyncio.sleep(0.005)
                stall = (time.perf_counter() - started - 0.005) * 1000
                self.stalls.append(stall)
                self.stall_cpu.append((stall, (time.thread_time() - cpu) * 1000))

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
            await asyncio.sleep(1.5)  # the churn is under way
            ends = time.perf_counter() + seconds - 3.5
            keys = iter(())
            while time.perf_counter() < ends:  # rounds of the sequence, until the churn stops
                key = next(keys, None)
                if key is None:
                    keys = iter(sequence)
                    continue
                await asyncio.sleep(0.3)
                before = self._state()
                character = key if len(key) == 1 else None
                if key == "slash":
                    character = "/"
                elif key == "space":
                    character = " "
                self._others_at_key = other_threads_cpu(self._loop_thread)
                self._pending = (key, time.perf_counter(), time.thread_time(), before)
                assert self._driver is not None
                self._driver.send_message(events.Key(key, character))
            await asyncio.sleep(0.5)
            self._pending = None

        def _finish(self) -> None:
            stalls = sorted(self.stalls) or [0.0]
            assert self.first_paint is not None and self.first_frame is not None
            assert self.whole_root is not None
            numbers = {
                "whole_root_s": self.whole_root - process_start,
                "polling_s": seconds - 4,
                "first_paint_s": self.first_paint - process_start,
                "first_paint_app_s": self.first_paint - app_start,
                "first_frame_s": self.first_frame - process_start,
                "stall_max_ms": stalls[-1],
                "stall_p99_ms": stalls[int(len(stalls) * 0.99)],
                "keys": self.keys,
                "rss_mb": psutil.Process().memory_info().rss / 2**20,
                "rss_in_whole_poll": whole_poll_running.is_set(),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "polls": self.poll_count,
                "poll_worker_ms": statistics.median(self.workers_ms or [0.0]),
                "apply_max_ms": max(self.applies or [0.0]),
                "whole": self.whole,
                "gc_max_ms": max(self.gc_pauses or [0.0]),
                "gc_max_other_ms": max(self.gc_pauses_other or [0.0]),
                "gc_worst": self.gc_worst,
                "stall_max_cpu_ms": max(self.stall_cpu or [(0.0, 0.0)])[1],
            }
            Path(results).write_text(json.dumps(numbers))
            if samples := os.environ.get("LOGIST_BENCH_STALLS"):
                Path(samples).write_text(json.dumps(self.stall_samples))
            if busy := os.environ.get("LOGIST_BENCH_BUSY"):
                Path(busy).write_text(json.dumps(self.busy_by_stack.most_common()))
            self._measuring = False
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
    parser.add_argument(
        "--seconds",
        type=float,
        default=38.0,
        help="measuring time (longer than the console's 30 s between whole polls)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/logist-bench"))
    parser.add_argument(
        "--no-scan-cache", action="store_true", help="start without the persistent scan cache"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval (s)")
    parser.add_argument("--moved", action="store_true", help="the root moved with its index")
    return run_parent(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
