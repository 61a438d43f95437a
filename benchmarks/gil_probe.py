"""How long a thread that wants the GIL waits for it while the console polls, and who held it.

The event loop's over-budget keys at 100,000 jobs take 12-40 ms of its own CPU: the rest of
their wall time is waiting for the GIL. This finds the holds, headless and reproducibly: the
real app runs headless on a tmpfs root (built or reused); each round rewrites `--changed`
finished manifests (SUCCESS <-> PENDING, what 30 s of the console bench's churn leaves: ~20 %)
and runs a whole poll, then the ticks that bring a sort order (`s` three times, `S`), once with
the worker stepping aside for keys (`logist._pace`) and once without, alternated. Keys are
posted as the terminal driver posts them meanwhile; each one's wall to the refresh after its
handling and the loop's CPU are reported, with the loop's worst stall. A probe thread sleeps
1 ms at a time and measures how late it gets the GIL back: the worst wait and the 99th
percentile, and each wait over `--over` ms with the CPU every thread used during it (the
holder is the one that used about that much) and the holder's innermost frames as the probe
saw them on waking (the line the hold ended on). CPU, not wall, tells the holder on a loaded
machine: a wait with no thread busy was the probe's own scheduling. Old code: run this script
with PYTHONPATH at its worktree's `src` (no `pace` there: one run a round).

    uv run python benchmarks/gil_probe.py --jobs 100000 --work /dev/shm/<branch>/p
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import roots
from apply_bench import rewrite
from textual import events

PROBE_S = 0.001


@dataclass
class Wait:
    """One probe's wait past its sleep: how long, what each thread burned meanwhile, where the
    busiest thread stood when the probe got the GIL back."""

    at: float
    ms: float
    cpu_ms: dict[str, float]
    holder: str
    where: list[str]


@dataclass
class Probe:
    """A thread that asks for the GIL every PROBE_S and keeps the waits past `over_ms`."""

    over_ms: float
    waits: list[float] = field(default_factory=list)
    """How late each sleep ended, less the probe's own run-queue wait meanwhile (ms)."""
    walls: list[float] = field(default_factory=list)
    """How late each sleep ended (ms)."""
    long: list[Wait] = field(default_factory=list)
    busy: Counter[str] = field(default_factory=Counter)
    """Where the threads other than the event loop stood at each probe that found them busy
    (their innermost frame in logist, by function): a sampling profile of the worker."""
    running: bool = False
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.waits, self.walls, self.long, self.running = [], [], [], True
        self.busy = Counter()
        self._thread = threading.Thread(target=self._run, name="gil-probe", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.running = False
        assert self._thread is not None
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        clocks: dict[int, int] = {}
        while self.running:
            threads = {t.ident: t.name for t in threading.enumerate() if t.ident not in (me, None)}
            before = {}
            for ident in threads:
                try:
                    clock = clocks.get(ident) or clocks.setdefault(
                        ident, time.pthread_getcpuclockid(ident)
                    )
                    before[ident] = time.clock_gettime(clock)
                except OSError:  # the thread ended meanwhile
                    continue
            began, queued = time.perf_counter(), _queued()
            time.sleep(PROBE_S)
            late = (time.perf_counter() - began - PROBE_S) * 1000
            waited = late - (_queued() - queued)  # less the machine's load: the GIL
            self.walls.append(late)
            self.waits.append(waited)
            frames = sys._current_frames()
            used = {}
            for ident, start in before.items():
                try:
                    used[ident] = (time.clock_gettime(clocks[ident]) - start) * 1000
                except OSError:
                    used[ident] = float("nan")
            for ident, cpu in used.items():
                if threads[ident] == "MainThread":
                    continue
                where = _ours(frames.get(ident))
                if cpu > 0.2 or where.startswith("_pace.py"):  # busy, or stepping aside
                    self.busy[where] += 1
            if waited < self.over_ms:
                continue
            holder = max(used, key=lambda ident: used[ident], default=None)
            self.long.append(
                Wait(
                    began,
                    waited,
                    {threads[ident]: cpu for ident, cpu in used.items() if cpu >= 1},
                    "" if holder is None else threads[holder],
                    _where(frames.get(holder)) if holder is not None else [],
                )
            )


def _queued() -> float:
    """This thread's time waiting in the CPU run queue so far (ms): the machine's load, not
    the GIL (a thread waiting for the GIL sleeps, it is not queued)."""
    with open("/proc/thread-self/schedstat") as stat:
        return int(stat.read().split()[1]) / 1e6


def _where(frame: FrameType | None, depth: int = 5) -> list[str]:
    """The innermost `depth` frames, innermost first, as `file:line function`."""
    if frame is None:
        return []
    stack = traceback.extract_stack(frame)[-depth:]
    return [f"{Path(s.filename).name}:{s.lineno} {s.name}" for s in reversed(stack)]


def _ours(frame: FrameType | None) -> str:
    """The innermost frame in logist's own code, as `file:function`."""
    while frame is not None:
        code = frame.f_code
        if "/logist/" in code.co_filename:
            return f"{Path(code.co_filename).name}:{code.co_name}"
        frame = frame.f_back
    return "-"


def summary(name: str, probe: Probe, spans: list[tuple[str, float, float]]) -> None:
    """The worst wait and the 99th percentile, then each long wait with its holder."""
    waits = sorted(probe.waits)
    if not waits:
        print(f"{name}: no probe ran")
        return
    walls = sorted(probe.walls)

    def p99(values: list[float]) -> float:
        return values[min(len(values) - 1, int(len(values) * 0.99))]

    print(
        f"{name}: {len(waits)} probes; GIL wait (late less run queue) worst {waits[-1]:.1f} ms, "
        f"p99 {p99(waits):.1f} ms, median {waits[len(waits) // 2]:.2f} ms, over "
        f"{probe.over_ms:.0f} ms: {len(probe.long)}; late (wall) worst {walls[-1]:.1f} ms, p99 "
        f"{p99(walls):.1f} ms (load {os.getloadavg()[0]:.2f})"
    )
    total = sum(probe.busy.values())
    print(f"  other threads busy at {total} probes; where (share of those):")
    for where, count in probe.busy.most_common(12):
        print(f"    {100 * count / total:5.1f} % {where}")
    for wait in sorted(probe.long, key=lambda w: -w.ms)[:12]:
        phase = next((label for label, a, b in spans if a <= wait.at <= b), "-")
        cpu = ", ".join(f"{thread} {ms:.0f}" for thread, ms in wait.cpu_ms.items())
        print(f"  {wait.ms:6.1f} ms [{phase}] cpu ms: {cpu or 'none'}; holder {wait.holder}")
        for line in wait.where:
            print(f"      {line}")


async def measure(
    root: Path, manifests: list[str], changed: int, over_ms: float, rounds: int
) -> None:
    from logist.console.app import ConsoleApp
    from logist.console.messages import PollFinished
    from logist.console.poller import Poller
    from logist.core import JobRecoveryManager

    manager = JobRecoveryManager(root, scan_cache=True)
    app = ConsoleApp(
        manager=manager, interval=3600.0, poller=Poller(manager=manager, clock=time.time)
    )
    spans: list[tuple[str, float, float]] = []
    handler = ConsoleApp.on_poll_finished

    def timed(self: ConsoleApp, message: PollFinished) -> None:
        began = time.perf_counter()
        handler(self, message)
        spans.append(("apply", began, time.perf_counter()))

    ConsoleApp.on_poll_finished = timed  # type: ignore[method-assign]  # (Textual looks it up on the class)
    probe = Probe(over_ms)

    keys: list[tuple[str, float, float, float]] = []
    """Per key: the key, its wall to repaint, the loop's CPU and its run-queue wait (ms)."""
    stalls: list[tuple[float, float]] = []
    """Per 5 ms sleep of the loop: how late it woke, and how much of that in the run queue."""

    from logist.console import app as app_module

    finished: list[tuple[float, float, float]] = []
    real_busy = getattr(app_module, "foreground_busy", None)
    tokens = iter(range(1 << 30))

    def pacing(on: bool) -> None:
        """The worker steps aside for keys (the app as it is) or not (flags never set)."""
        if real_busy is not None:
            fake = lambda for_s: next(tokens)  # noqa: E731
            app_module.foreground_busy = real_busy if on else fake  # type: ignore[assignment]

    on_event = ConsoleApp.on_event

    async def timed_event(self: ConsoleApp, event: events.Event) -> None:
        await on_event(self, event)
        if isinstance(event, events.Key):
            # the refresh after the next (the widget handles the key in its own task)
            self.call_after_refresh(
                self.call_after_refresh,
                lambda: finished.append((time.perf_counter(), time.thread_time(), _queued())),
            )

    ConsoleApp.on_event = timed_event  # type: ignore[method-assign]

    async def press(key: str) -> None:
        """A key as the terminal driver delivers it: wall from then to its repaint (an
        after-refresh callback the key's handling asked for), and the loop's CPU meanwhile."""
        count = len(finished)
        began, cpu, queued = time.perf_counter(), time.thread_time(), _queued()
        app.post_message(events.Key(key, key if len(key) == 1 else None))
        while len(finished) == count:
            await asyncio.sleep(0.001)
        at, cpu_at, queued_at = finished[count]
        keys.append((key, (at - began) * 1000, (cpu_at - cpu) * 1000, queued_at - queued))

    async def watch_loop() -> None:
        while True:
            began, queued = time.perf_counter(), _queued()
            await asyncio.sleep(0.005)
            late = (time.perf_counter() - began - 0.005) * 1000
            stalls.append((late, _queued() - queued))

    def loop_summary() -> None:
        walls = sorted(k[1] for k in keys) or [0.0]
        less = sorted(k[1] - k[3] for k in keys) or [0.0]
        worst = max(keys, key=lambda k: k[1], default=("-", 0.0, 0.0, 0.0))
        stall = max(stalls, default=(0.0, 0.0))
        print(
            f"  event loop: worst stall {stall[0]:.0f} ms ({stall[1]:.0f} in the run queue), "
            f"less its run-queue wait {max((a - b for a, b in stalls), default=0):.0f}; "
            f"{len(keys)} keys: median {walls[len(walls) // 2]:.0f} ms, worst {worst[0]!r} "
            f"{worst[1]:.0f} ms wall / {worst[2]:.0f} CPU / {worst[3]:.0f} run queue; worst "
            f"less its run-queue wait {less[-1]:.0f} ms; slowest (wall/CPU/queue): "
            + " ".join(
                f"{k[1]:.0f}/{k[2]:.0f}/{k[3]:.0f}" for k in sorted(keys, key=lambda k: -k[1])[:6]
            )
        )
        waited = sorted(k[1] - k[2] - k[3] for k in keys) or [0.0]
        print(
            f"  keys' wall less their CPU and run-queue wait (the GIL, idle until a refresh): "
            f"worst {waited[-1]:.0f} ms, p90 {waited[int(len(waited) * 0.9)]:.0f}, "
            f"mean {sum(waited) / len(waited):.1f}"
        )
        keys.clear()
        stalls.clear()

    async def whole_poll(paced: bool) -> None:
        pacing(paced)
        flipped = rewrite(manifests, changed)
        await asyncio.sleep(2.5)  # past the racy window: as a poll 30 s into churn finds most
        spans.clear()
        watcher = asyncio.ensure_future(watch_loop())
        probe.start()
        began = time.perf_counter()
        app.poll_now(full=True)
        await asyncio.sleep(0.05)
        while app._polling:  # keys while the whole poll runs, as during the bench's churn
            await press(("down", "down", "pagedown", "up")[len(keys) % 4])
            await asyncio.sleep(0.1)
        spans.insert(0, ("poll", began, time.perf_counter()))
        await asyncio.sleep(0.5)
        probe.stop()
        watcher.cancel()
        summary(f"whole poll, {flipped} manifests rewritten, paced {paced}", probe, spans)
        loop_summary()

    async def sort_ticks(paced: bool) -> None:
        pacing(paced)
        spans.clear()
        watcher = asyncio.ensure_future(watch_loop())
        probe.start()
        for key in ("s", "s", "s", "S"):
            await press(key)
            began = time.perf_counter()
            app.poll_now(full=False)  # the next tick, brought forward
            await asyncio.sleep(0.05)
            while app._polling:  # keys while the tick makes the orders
                await press("down")
                await asyncio.sleep(0.02)
            spans.append((f"tick after {key}", began, time.perf_counter()))
            await asyncio.sleep(0.3)
        probe.stop()
        watcher.cancel()
        summary(f"sort ticks, paced {paced}", probe, spans)
        loop_summary()

    async with app.run_test(size=(200, 60)):
        while app.last_poll is None or not app.last_poll.complete or app._polling:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        for number in range(rounds):
            for paced in (True, False) if number % 2 == 0 else (False, True):
                if paced and real_busy is None:
                    continue  # code without `pace`: one run a round
                await whole_poll(paced)
                await sort_ticks(paced)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=20_000)
    parser.add_argument("--over", type=float, default=10.0, help="report waits over (ms)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument(
        "--rounds", type=int, default=2, help="each a whole poll and sort ticks paced and not"
    )
    args = parser.parse_args()
    built = roots.build(args.work / f"root-{args.jobs}", args.jobs)
    manifests = [
        os.path.join(built.path, job, roots.MANIFEST)
        for job in sorted(os.listdir(built.path))
        if job.startswith("job-")
    ]
    asyncio.run(measure(built.path, manifests, args.changed, args.over, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
