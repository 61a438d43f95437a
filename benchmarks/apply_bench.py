"""The event loop's share of a whole poll that rewrote many rows, headless, with the real app.

Builds (or reuses) a tmpfs root, starts the console headless, rewrites `--changed` manifests
(SUCCESS <-> PENDING), asks for a whole poll, and reports the CPU of the event loop's thread
in the poll's handler (the apply), the worst event-loop stall around it and the collections
that ran in each thread. Rounds alternate nothing: run the old code in its own worktree.
`--moved`: the root moved (`mv`) after it was built, its index still naming the old paths, as
a root restored to another place is: ~100,000 `index-path-mismatch` findings, whose pane then
takes a whole poll's findings too; `--findings-sort COLUMN` sorts that pane by a column first.
`--profile FILE`: a cProfile of the event loop's applies. `--filter TEXT`: typed into the
filter (`/TEXT` Enter) before the rounds, as the console bench does between `/` and Escape;
`--jobs-sort COLUMN`: the jobs table sorted by a column first (`s` that many times).

    uv run python benchmarks/apply_bench.py --jobs 100000 --work /dev/shm/<branch>/a [--moved]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import roots


def rewrite(manifests: list[str], count: int) -> int:
    """Flip SUCCESS <-> PENDING in the first `count` manifests that have either."""
    done = 0
    for path in manifests:
        if done >= count:
            break
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            continue
        if data.get("status") not in ("SUCCESS", "PENDING"):
            continue
        data["status"] = "PENDING" if data["status"] == "SUCCESS" else "SUCCESS"
        Path(path + ".tmp").write_text(json.dumps(data, indent=2))
        os.replace(path + ".tmp", path)
        done += 1
    return done


async def measure(
    root: Path,
    manifests: list[str],
    changed: int,
    rounds: int,
    profile: Path | None,
    findings_sort: int | None,
    typed: str | None,
    jobs_sort: int,
) -> None:
    from logist.console.app import ConsoleApp
    from logist.console.messages import PollFinished
    from logist.console.poller import Poller
    from logist.core import JobRecoveryManager

    manager = JobRecoveryManager(root, scan_cache=True)
    app = ConsoleApp(
        manager=manager, interval=None, poller=Poller(manager=manager, clock=time.time)
    )
    loop_thread = threading.get_ident()
    applies: list[float] = []
    collections: list[tuple[float, int, bool]] = []
    started = [0.0]
    handler = ConsoleApp.on_poll_finished
    profiler = cProfile.Profile() if profile is not None else None

    def timed(self: ConsoleApp, message: PollFinished) -> None:
        cpu = time.thread_time()
        if profiler is not None:
            profiler.enable()
        handler(self, message)
        if profiler is not None:
            profiler.disable()
        applies.append((time.thread_time() - cpu) * 1000)

    ConsoleApp.on_poll_finished = timed  # type: ignore[method-assign]  # (Textual looks it up on the class)

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            on_loop = threading.get_ident() == loop_thread
            collections.append(
                ((time.perf_counter() - started[0]) * 1000, info["generation"], on_loop)
            )

    async with app.run_test(size=(200, 60)) as pilot:
        while app.last_poll is None or not app.last_poll.complete or app._polling:
            await pilot.pause(0.1)
        findings = app.main_screen.table("findings")
        print(f"findings shown: {findings.row_count:,}")
        if findings_sort is not None:
            cpu = time.thread_time()
            findings.sort_by(findings_sort)
            print(f"findings sorted by column {findings_sort}: {time.thread_time() - cpu:.3f} s")
        if jobs_sort:
            await pilot.press(*"s" * jobs_sort)
            app.poll_now(full=False)  # (the tick that brings the column's orders)
            while app._polling:
                await pilot.pause(0.1)
            print(f"jobs sorted by {app.main_screen.table('jobs').sort_label}")
        if typed:
            await pilot.press("slash", *typed, "enter")
            jobs = app.main_screen.table("jobs")
            while not jobs.counted:
                await pilot.pause(0.05)
            print(f"filter {typed!r}: {jobs.shown_count:,} of {jobs.row_count:,} jobs shown")
        if profiler is not None:
            profiler = cProfile.Profile()  # the rounds' applies only, not the first ones
        for number in range(rounds):
            flipped = rewrite(manifests, changed)
            stalls: list[float] = []
            applies.clear()
            collections.clear()

            async def watch(stalls: list[float] = stalls) -> None:
                while True:
                    began = time.perf_counter()
                    await asyncio.sleep(0.005)
                    stalls.append((time.perf_counter() - began - 0.005) * 1000)

            gc.callbacks.append(collected)
            watcher = asyncio.ensure_future(watch())
            polls = app.poll_count
            app.poll_now(full=True)
            while app.poll_count == polls or app._polling:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            watcher.cancel()
            gc.callbacks.remove(collected)
            loop_gc = max((c[0] for c in collections if c[2]), default=0.0)
            other_gc = max((c[0] for c in collections if not c[2]), default=0.0)
            print(
                f"round {number}: {flipped} manifests rewritten, apply "
                f"{', '.join(f'{a:.0f}' for a in applies)} ms of the loop's CPU, worst stall "
                f"{max(stalls):.0f} ms, longest collection on the loop {loop_gc:.0f} ms, "
                f"elsewhere {other_gc:.0f} ms (load {os.getloadavg()[0]:.2f})"
            )
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--moved", action="store_true", help="the root moved with its index")
    parser.add_argument("--profile", type=Path, help="a cProfile of the applies to this file")
    parser.add_argument("--findings-sort", type=int, help="the findings pane sorted by it")
    parser.add_argument("--filter", help="this text typed into the filter before the rounds")
    parser.add_argument("--jobs-sort", type=int, default=0, help="`s` pressed this many times")
    args = parser.parse_args()
    path = args.work / f"root-{args.jobs}"
    if args.moved:
        path = args.work / f"moved-{args.jobs}"
        if not path.exists():  # built elsewhere, then moved here with its index
            built = roots.build(args.work / f"root-{args.jobs}", args.jobs)
            os.rename(built.path, path)
    else:
        path = roots.build(path, args.jobs).path
    manifests = [
        os.path.join(path, job, roots.MANIFEST)
        for job in sorted(os.listdir(path))
        if job.startswith("job-")
    ]
    asyncio.run(
        measure(
            path,
            manifests,
            args.changed,
            args.rounds,
            args.profile,
            args.findings_sort,
            args.filter,
            args.jobs_sort,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
