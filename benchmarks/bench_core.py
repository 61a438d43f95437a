"""Backend and CLI benchmark: every figure beside its fair floor, measured in the same round.

Not a test. Builds realistic roots (benchmarks/roots.py) of 10k and 100k jobs under a work
directory (kept between runs), starts the owner of their live jobs, and runs interleaved rounds:
in each round every figure is measured right after its floor, so load from other work on the
machine inflates both alike and the ratio stays fair. Prints min and median of the rounds, and
the median ratio to the floor. Usage:

    uv run python benchmarks/bench_core.py [--sizes 10000,100000] [--rounds 3] [--work DIR]
                                           [--no-drop] [--skip-bulk] [--only cli]

Figures:
- cold scan: a fresh process scans the root (its own scan time); floor: a fresh process reads
  and parses every manifest with the same system calls (roots.floor_read);
- cold scan, page cache dropped (as root only): the same two, each after drop_caches;
- warm rescan, nothing changed / 1% changed: in process; floor: a stat of every manifest;
- `logist jobs --json` and `logist status`, first run (no scan cache) and repeated (scan cache
  kept): wall time of the command; floors: a fresh interpreter running the read floor (first
  runs) or the stat floor (repeated `status`), wall time too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import roots

from logist.core import JobRecoveryManager
from logist.core._identity import current_identity, liveness
from logist.core._locking import probe_lock
from logist.core._manifest import MANIFEST_NAME, read_manifest, write_manifest

LOGIST = [sys.executable, "-m", "logist"]
_FRESH_SCAN = (
    "import sys, time\n"
    "from logist.core import JobRecoveryManager\n"
    "manager = JobRecoveryManager(sys.argv[1])\n"
    "started = time.perf_counter()\n"
    "manager.scan()\n"
    "print(time.perf_counter() - started)\n"
)


def fresh_scan(root: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _FRESH_SCAN, str(root)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def floor_wall(name: str, root: roots.Root) -> float:
    """Wall time of a fresh interpreter running floor `name` (start-up included, as a
    command's wall time includes it)."""
    return roots.wall([sys.executable, "-c", roots.floor_script(name, root)])


def touch_fraction(root: roots.Root, fraction: float, salt: int) -> None:
    """Rewrite `fraction` of the finished manifests, as a writer would (atomically, new inode)."""
    step = int(1 / fraction)
    for path in root.manifests[::step]:
        try:
            data = json.loads(Path(path).read_bytes())
        except ValueError:
            continue
        data["metrics"]["step_count"] = salt
        tmp = path + ".tmp"
        Path(tmp).write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)


def finish_background(argv: list[str], timeout: float = 120.0) -> None:
    """Wait for what a command left running: `logist jobs` writes its scan cache from a child
    once its output is out, and the next figure must not start before that write is done (a
    "repeated" run would find no cache, a "first run" would find one)."""
    wanted = "\0".join(argv).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                alive = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0") == wanted
            except OSError:
                continue
            if alive:
                break
        if not alive:
            return
        time.sleep(0.05)


GROUPS = ("scan", "rescan", "cli")
"""Figure groups `--only` picks from: cold scans, in-process rescans, CLI commands."""


def bench_size(
    work: Path, size: int, rounds: int, drop: bool, only: frozenset[str] = frozenset(GROUPS)
) -> list[roots.Figure]:
    root = roots.build(work / f"root-{size}", size)
    cache_env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache")}
    figures = {
        name: roots.Figure(f"{name} ({size:,})")
        for name in (
            "cold scan",
            "cold scan, page cache dropped",
            "warm rescan",
            "rescan, 1% changed",
            "detect crashed (warm)",
            "health report (warm)",
            "jobs --json, first run",
            "jobs --json, repeated",
            "status, first run",
            "status, repeated",
        )
    }
    with roots.live_owners(root):
        roots.floor_read(root.path, root.manifests)  # warm the page cache before any timing
        for round_number in range(rounds):
            print(f"  round {round_number + 1} of {rounds} at {size:,}", file=sys.stderr)
            if "scan" in only:
                bench_cold(root, figures, drop)
            if "rescan" in only:
                bench_rescan(root, figures, round_number)
            if "cli" in only:
                bench_cli(work, root, figures, cache_env)
    return [f for f in figures.values() if f.samples]


def bench_cold(root: roots.Root, figures: dict[str, roots.Figure], drop: bool) -> None:
    figures["cold scan"].add(fresh_scan(root.path), roots.fresh_floor("read", root))
    if drop:
        roots.drop_caches()
        floor = roots.fresh_floor("read", root)
        roots.drop_caches()
        figures["cold scan, page cache dropped"].add(fresh_scan(root.path), floor)
        roots.floor_read(root.path, root.manifests)


def bench_rescan(root: roots.Root, figures: dict[str, roots.Figure], round_number: int) -> None:
    manager = JobRecoveryManager(root.path)
    manager.scan()
    figures["warm rescan"].add(
        timed(manager.scan),
        timed(lambda: roots.floor_stat_only(root.path, root.manifests)),
    )
    touch_fraction(root, 0.01, round_number + 1)
    floor = timed(lambda: roots.floor_stat_only(root.path, root.manifests))
    figures["rescan, 1% changed"].add(timed(manager.scan), floor)
    figures["detect crashed (warm)"].add(
        timed(manager.detect_crashed_jobs),
        timed(lambda: roots.floor_stat_only(root.path, root.manifests)),
    )
    figures["health report (warm)"].add(
        timed(manager.get_recovery_status_report),
        timed(lambda: roots.floor_stat_only(root.path, root.manifests)),
    )


def bench_cli(
    work: Path, root: roots.Root, figures: dict[str, roots.Figure], cache_env: dict[str, str]
) -> None:
    for command in ("jobs", "status"):
        argv = [*LOGIST, command, "--root", str(root.path), "--json"]
        shutil.rmtree(work / "cache", ignore_errors=True)
        floor = floor_wall("read", root)
        figures[f"{command}{' --json' if command == 'jobs' else ''}, first run"].add(
            roots.wall(argv, env=cache_env), floor
        )
        finish_background(argv)
        floor = floor_wall("stat", root)
        figures[f"{command}{' --json' if command == 'jobs' else ''}, repeated"].add(
            roots.wall(argv, env=cache_env), floor
        )
        finish_background(argv)


def bench_bulk(work: Path, count: int = 1000) -> tuple[int, float]:
    root = work / "bulk"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    now = time.time()
    dead = roots._reused_pid()
    for i in range(count):
        job_id = f"crashed-{i:05d}"
        (root / job_id).mkdir()
        data = roots.manifest(job_id, i, "crashed", now)
        data[roots.OWNER_KEY] = roots.owner_record(*dead)
        (root / job_id / MANIFEST_NAME).write_text(json.dumps(data, indent=2))
    manager = JobRecoveryManager(root)
    start = time.perf_counter()
    result = manager.perform_bulk_recovery(max_jobs=count)
    elapsed = time.perf_counter() - start
    recovered = result.counts().get("recovered", 0)
    shutil.rmtree(root)
    return recovered, elapsed


def bench_micro(work: Path, count: int = 2000) -> dict[str, float]:
    """Cost per job of each primitive, in microseconds (medians of 5 passes over `count` jobs)."""
    root = work / "micro"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    dirs = []
    now = time.time()
    for i in range(count):
        job_dir = root / f"m-{i:05d}"
        job_dir.mkdir()
        raw = json.dumps(roots.manifest(job_dir.name, i, "SUCCESS", now), indent=2).encode()
        (job_dir / MANIFEST_NAME).write_bytes(raw)
        (job_dir / ".lock").touch()
        dirs.append(job_dir)
    manifests = [str(d / MANIFEST_NAME) for d in dirs]
    locks = [str(d / ".lock") for d in dirs]
    me = current_identity()

    def per_job(fn: Callable[[], object]) -> float:
        return statistics.median(timed(fn) for _ in range(5)) / count * 1e6

    costs = {
        "manifest stat": per_job(lambda: [os.stat(p) for p in manifests]),
        "read floor (raw read + json.loads)": per_job(lambda: roots.floor_read(root, manifests)),
        "tolerant read + parse (2 KB)": per_job(lambda: [read_manifest(p) for p in manifests]),
        "lock probe": per_job(lambda: [probe_lock(p) for p in locks]),
        "identity check": per_job(lambda: [liveness(me) for _ in manifests]),
    }
    writes = dirs[:200]
    start = time.perf_counter()
    for job_dir in writes:
        read = read_manifest(job_dir / MANIFEST_NAME)
        assert read.data is not None
        write_manifest(job_dir, read.data, previous_raw=read.raw)
    costs["atomic write with backup"] = (time.perf_counter() - start) / len(writes) * 1e6
    shutil.rmtree(root)
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/logist-bench"))
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--no-drop", action="store_true", help="never drop the page cache")
    parser.add_argument("--skip-bulk", action="store_true")
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"figure groups to measure, comma-separated ({', '.join(GROUPS)})",
    )
    args = parser.parse_args()
    only = frozenset(g for g in args.only.split(",") if g)
    if not only <= set(GROUPS):
        parser.error(f"--only takes {', '.join(GROUPS)}")
    drop = not args.no_drop and roots.can_drop_caches()
    print(f"machine at the start: {roots.machine()}")
    if not drop:
        print("page cache not dropped (needs root): no 'page cache dropped' figures")
    for size in (int(s) for s in args.sizes.split(",") if s):
        for figure in bench_size(args.work, size, args.rounds, drop, only):
            print(figure.line(), flush=True)
    if args.skip_bulk:
        return 0
    for name, micros in bench_micro(args.work).items():
        print(f"per job: {name:<36} {micros:8.1f} us")
    recovered, elapsed = bench_bulk(args.work, args.bulk)
    print(
        f"bulk recovery: {recovered} jobs in {elapsed:.2f} s = {recovered / elapsed:.0f} jobs/s "
        "(backup + atomic write + audit, each fsynced)"
    )
    print(f"machine at the end: {roots.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
