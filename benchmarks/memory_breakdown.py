"""Where the console's memory goes at a big root, headless: RSS against live Python bytes, and
the bytes of what the poller, the manager and the scanner keep, per owner and per type.

    uv run python benchmarks/memory_breakdown.py [--jobs 100000] [--work DIR] [--churn 0.2]

Not a test: it prints numbers. The root is the shared realistic one (benchmarks/roots.py, its
live jobs owned by a real process), with the scan cache a `logist status` leaves. It polls as
the console does (a first look, then whole polls) with no Textual: the first whole poll, then
one after `--churn` of the finished manifests were rewritten (the console's whole poll applies
some 30 s of the console bench's 1 %-a-second churn).

With `--console SECONDS`: the console itself (Textual, headless) instead, polling every second
while another process rewrites 1 % of the finished manifests a second (as the console bench);
then what the collector finds among the objects the polls froze (`gc.freeze`), and the same
breakdown with the app first.

Each object is counted once, under the first owner that reaches it (in the order listed):
what is shared between owners shows under the first.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).parent))

import roots


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def pymalloc_mb() -> tuple[float, float]:
    """(bytes in allocated blocks, bytes in arenas) of pymalloc, from `sys._debugmallocstats`."""
    read, write = os.pipe()
    saved = os.dup(2)
    os.dup2(write, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    stats: dict[str, float] = {}
    for line in b"".join(chunks).decode().splitlines():
        name, equals, value = line.partition("=")
        name = name.strip("# ").strip()
        number = value.strip().replace(",", "")
        if equals and number.isdigit() and name not in stats:  # the first Total: the arenas'
            stats[name] = float(number)
    return (
        stats.get("bytes in allocated blocks", 0.0) / 2**20,
        stats.get("Total", 0.0) / 2**20,
    )


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_mb() -> tuple[float, float, float]:
    """glibc's heap: (in use, free inside the heap, mmapped blocks), from `mallinfo2`."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return info.uordblks / 2**20, info.fordblks / 2**20, info.hblkhd / 2**20


def memory_line() -> str:
    used, arenas = pymalloc_mb()
    heap_used, heap_free, mapped = malloc_mb()
    return (
        f"RSS {rss_mb():.0f} MB; pymalloc blocks {used:.0f} MB in arenas of {arenas:.0f} MB; "
        f"malloc heap {heap_used:.0f} MB used, {heap_free:.0f} MB free, {mapped:.0f} MB mmapped"
    )


def attribute(owners: list[tuple[str, Any]]) -> dict[str, Counter[str]]:
    """Per owner: bytes per type of every object reachable from it not reached before."""
    seen: set[int] = set()
    skip = (type, type(sys), type(attribute))  # classes, modules, functions: not data
    found: dict[str, Counter[str]] = {}
    for name, start in owners:
        counts: Counter[str] = Counter()
        stack = [start]
        while stack:
            obj = stack.pop()
            key = id(obj)
            if key in seen or isinstance(obj, skip):
                continue
            seen.add(key)
            kind = type(obj).__name__
            counts[kind] += sys.getsizeof(obj)
            counts[f"#{kind}"] += 1
            stack.extend(gc.get_referents(obj))
        found[name] = counts
    return found


def show(title: str, owners: list[tuple[str, Any]], jobs: int) -> None:
    found = attribute(owners)
    print(f"-- {title}")
    for name, counts in found.items():
        total = sum(v for k, v in counts.items() if not k.startswith("#"))
        if total < 2**19:
            continue
        print(f"  {name:<26} {total / 2**20:7.1f} MB  {total / max(jobs, 1):6.0f} B/job")
        top = sorted(
            ((k, v) for k, v in counts.items() if not k.startswith("#")), key=lambda kv: -kv[1]
        )[:8]
        for kind, size in top:
            if size >= 2**19:
                print(f"      {kind:<22} {size / 2**20:6.1f} MB  {counts['#' + kind]:>8} objects")


def churn(manifests: Iterable[str]) -> int:
    done = 0
    for path in manifests:
        try:
            data = json.loads(Path(path).read_bytes())
        except (OSError, ValueError):
            continue
        data["status"] = "PENDING" if data.get("status") == "SUCCESS" else "SUCCESS"
        Path(path + ".tmp").write_text(json.dumps(data, indent=2) + "\n")
        os.replace(path + ".tmp", path)
        done += 1
    return done


def _attributes(name: str, obj: Any) -> list[tuple[str, Any]]:
    """An object's own attributes, each an owner of its own (then the object)."""
    names = list(getattr(obj, "__dict__", {})) or [
        slot for cls in type(obj).__mro__ for slot in getattr(cls, "__slots__", ())
    ]
    found = [(f"{name}.{attr}", getattr(obj, attr, None)) for attr in names]
    return [*found, (name, obj)]


def owners_of(poller: Any, manager: Any) -> list[tuple[str, Any]]:
    """What is measured, in the order objects are attributed: the shown rows, the states they
    were made from, then whatever else each part keeps."""
    scanner = manager._scanner
    last = poller._last
    states = last.states if last is not None else {}
    return [
        ("rows", poller._rows),
        ("states", states),
        *_attributes("scanner", scanner),
        *_attributes("orders", poller._orders),
        *_attributes("quick", manager._quick),
        *_attributes("manager", manager),
        *_attributes("poller", poller),
        ("everything else", gc.get_objects()),
    ]


def measure(work: Path, jobs: int, share: float) -> None:
    built = roots.build(work / f"root-{jobs}", jobs)
    cache = work / "console-cache"
    os.environ["XDG_CACHE_HOME"] = str(cache)
    with roots.live_owners(built):
        subprocess.run(
            [sys.executable, "-m", "logist", "status", "--root", str(built.path)],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        from logist.console.poller import Poller
        from logist.core import JobRecoveryManager

        print(f"start: {memory_line()}")
        manager = JobRecoveryManager(built.path, scan_cache=True)
        poller = Poller(manager=manager, clock=time.time)
        poller.prefetch()
        while not poller.poll().complete:
            pass
        print(f"first whole poll: {memory_line()}")
        show("after the first whole poll", owners_of(poller, manager), jobs)
        finished = built.kinds.get("SUCCESS", [])
        step = max(1, round(1 / share)) if share else 0
        rewritten = (
            churn(os.path.join(built.path, job_id, roots.MANIFEST) for job_id in finished[::step])
            if step
            else 0
        )
        poller.poll()
        print(f"whole poll after {rewritten} rewrites: {memory_line()}")
        poller.poll()
        print(f"one more whole poll: {memory_line()}")
        print(f"gc: frozen {gc.get_freeze_count()}, garbage found now {gc.collect()}")
        show("after the churn", owners_of(poller, manager), jobs)


def churn_loop() -> None:
    """Rewrite 1 % of the manifests named on stdin every second, until killed."""
    paths = sys.stdin.read().split("\0")
    step = 0
    while True:
        started = time.monotonic()
        churn(paths[step % 100 :: 100])
        step += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def measure_console(work: Path, jobs: int, seconds: float) -> None:
    """The console itself (Textual, headless), polling every second for `seconds` while 1 % of
    the finished manifests are rewritten every second, as in the console bench."""
    import asyncio

    built = roots.build(work / f"root-{jobs}", jobs)
    os.environ["XDG_CACHE_HOME"] = str(work / "console-cache")
    finished = [os.path.join(built.path, j, roots.MANIFEST) for j in built.kinds["SUCCESS"]]
    with roots.live_owners(built):
        import logist._memory as memory
        from logist.console.app import ConsoleApp
        from logist.console.poller import Poller
        from logist.core import JobRecoveryManager

        trims: list[float] = []
        give_back = memory.give_back_freed_memory

        def timed() -> bool:
            started = time.perf_counter()
            done = give_back()
            trims.append(time.perf_counter() - started)
            return done

        memory.give_back_freed_memory = timed  # type: ignore[assignment]
        import logist.console.poller as poller_module

        poller_module.give_back_freed_memory = timed  # type: ignore[attr-defined]
        threshold = os.environ.get("MEM_MMAP_THRESHOLD")
        if threshold:  # an experiment: glibc's M_MMAP_THRESHOLD fixed
            ctypes.CDLL(None).mallopt(-3, int(threshold))
        manager = JobRecoveryManager(built.path, scan_cache=True)
        poller = Poller(manager=manager, clock=time.time)
        poller.prefetch()
        app = ConsoleApp(manager=manager, interval=1.0, poller=poller)

        async def run() -> None:
            async with app.run_test(size=(200, 60)) as pilot:
                while app.last_poll is None or not app.last_poll.complete:
                    await pilot.pause(0.2)
                print(f"whole root applied: {memory_line()}")
                # in a process of its own, as in the console bench: its garbage is not ours
                churner = subprocess.Popen(
                    [sys.executable, __file__, "--churn-loop"], stdin=subprocess.PIPE, text=True
                )
                assert churner.stdin is not None
                churner.stdin.write("\0".join(finished))
                churner.stdin.close()
                pauses: list[float] = []
                began = [0.0]

                def timed_gc(phase: str, info: dict[str, int]) -> None:
                    if phase == "start":
                        began[0] = time.perf_counter()
                    else:
                        pauses.append(time.perf_counter() - began[0])

                gc.callbacks.append(timed_gc)
                ends = time.monotonic() + seconds
                while time.monotonic() < ends:
                    await pilot.pause(1.0)
                churner.kill()
                churner.wait()
                gc.callbacks.remove(timed_gc)
                print(
                    f"collections while polling: {len(pauses)}, longest "
                    f"{max(pauses, default=0.0) * 1000:.1f} ms"
                )
                print(
                    f"after {seconds:.0f} s of polls and churn ({poller.full_polls} whole): "
                    f"{memory_line()}"
                )
                if trims:
                    print(
                        f"malloc_trim: {len(trims)} calls, worst {max(trims) * 1000:.1f} ms, "
                        f"median {sorted(trims)[len(trims) // 2] * 1000:.1f} ms"
                    )
                frozen = gc.get_freeze_count()
                loose = gc.collect()  # garbage the collector can still find (not frozen)
                print(f"gc: {loose} unreachable objects not frozen; {memory_line()}")
                gc.unfreeze()
                gc.set_debug(gc.DEBUG_SAVEALL)
                started = time.perf_counter()
                found = gc.collect()
                took = time.perf_counter() - started
                kinds = Counter(type(obj).__qualname__ for obj in gc.garbage)
                size = sum(map(sys.getsizeof, gc.garbage)) / 2**20
                print(
                    f"gc: {frozen} frozen, {found} unreachable once unfrozen ({size:.1f} MB, "
                    f"found in {took * 1000:.0f} ms): "
                    f"{kinds.most_common(25)}"
                )
                gc.set_debug(0)
                gc.garbage.clear()
                print(f"collected: {memory_line()}")
                show(
                    "the console",
                    [*owners_of(poller, manager)[:-1], *_attributes("app", app)],
                    jobs,
                )

        asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/logist-bench"))
    parser.add_argument("--churn", type=float, default=0.2)
    parser.add_argument(
        "--console", type=float, metavar="SECONDS", help="measure the console (Textual) instead"
    )
    parser.add_argument("--churn-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.churn_loop:
        churn_loop()
    if args.console:
        measure_console(args.work, args.jobs, args.console)
    else:
        measure(args.work, args.jobs, args.churn)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
