"""Backend benchmark: scan, rescan, crash detection, health and bulk recovery vs. the bare floor.

Not a test. Builds roots of 1k, 10k and 100k jobs (mostly terminal, 5% active with dead owners)
under a work directory (kept between runs), then prints one table. Usage:

    uv run python benchmarks/bench_core.py [--sizes 1000,10000,100000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from logist.core import JobRecoveryManager
from logist.core._identity import boot_id, current_identity, host_name, liveness
from logist.core._locking import probe_lock
from logist.core._manifest import MANIFEST_NAME, read_manifest, write_manifest

ACTIVE_FRACTION = 0.05


def manifest(job_id: str, i: int, active: bool) -> dict[str, object]:
    """A ~2 KB Logist-style manifest; active ones carry a runner block whose pid is dead."""
    data: dict[str, object] = {
        "job_id": job_id,
        "description": f"benchmark job {i} " + "x" * 200,
        "status": "EXECUTING" if active else ("SUCCESS" if i % 3 else "PENDING"),
        "current_phase": "build",
        "phases": [{"name": n, "status": "done"} for n in ("plan", "build", "test", "ship")],
        "created_at": "2026-11-27T10:00:00.000000",
        "updated_at": "2026-11-27T10:05:00.000000",
        "config": {"model": "m", "retries": 2},
        "metrics": {"cumulative_cost": 1.5, "cumulative_time_seconds": 300, "step_count": 7},
        "cost_threshold": 10,
        "time_threshold_minutes": 60,
        "history": [
            {"timestamp": f"2026-11-27T10:0{k}:00.000000", "event": "STEP", "summary": "s" * 80}
            for k in range(8)
        ],
    }
    if active:
        data["owner"] = {
            "host": host_name(),
            "boot_id": boot_id(),
            "pid": 2**22 + 1,
            "start_token": 1,
            "started_at": "2026-11-27T10:00:00.000000",
            "child_pid": None,
            "child_start_token": None,
            "heartbeat_interval_s": 5,
        }
    return data


def build_root(root: Path, size: int) -> None:
    marker = root / ".bench-complete"
    if marker.exists():
        return
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    every = int(1 / ACTIVE_FRACTION)
    index = {}
    for i in range(size):
        job_id = f"job-{i:06d}"
        job_dir = root / job_id
        job_dir.mkdir()
        (job_dir / MANIFEST_NAME).write_text(json.dumps(manifest(job_id, i, i % every == 0)))
        (job_dir / ".lock").touch()
        index[job_id] = str(job_dir)
    (root / "jobs_index.json").write_text(json.dumps({"jobs": index, "queue": []}))
    marker.touch()


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of `repeat` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def floor_stat(paths: list[str]) -> None:
    """The bare floor: os.stat of every manifest, paths precomputed as strings."""
    for path in paths:
        os.stat(path)


def floor_read(paths: list[str]) -> None:
    """The bare floor: open, read and json.loads every manifest."""
    for path in paths:
        with open(path, "rb") as stream:
            json.loads(stream.read())


def touch_fraction(root: Path, ids: list[str], fraction: float, salt: int) -> None:
    step = int(1 / fraction)
    for job_id in ids[::step]:
        path = root / job_id / MANIFEST_NAME
        data = json.loads(path.read_bytes())
        data["metrics"]["step_count"] = salt
        path.write_text(json.dumps(data))


def bench_size(work: Path, size: int) -> dict[str, float]:
    root = work / f"root-{size}"
    build_root(root, size)
    ids = sorted(p for p in os.listdir(root) if p.startswith("job-"))
    paths = [os.path.join(root, job_id, MANIFEST_NAME) for job_id in ids]
    repeat = 3 if size >= 100_000 else 5
    row: dict[str, float] = {"jobs": size}
    floor_read(paths)  # warm the page cache before any timing
    row["floor_stat"] = timed(lambda: floor_stat(paths), repeat)
    row["floor_read"] = timed(lambda: floor_read(paths), repeat)
    row["cold_scan"] = timed(lambda: JobRecoveryManager(root).scan(), repeat)
    manager = JobRecoveryManager(root)
    manager.scan()
    row["warm_rescan"] = timed(manager.scan, repeat)
    salts = iter(range(1, 100))

    def changed_rescan() -> None:
        touch_fraction(root, ids, 0.01, next(salts))
        start = time.perf_counter()
        manager.scan()
        samples.append(time.perf_counter() - start)

    samples: list[float] = []
    for _ in range(repeat):
        changed_rescan()
    row["rescan_1pct_changed"] = statistics.median(samples)
    row["detect_crashed"] = timed(manager.detect_crashed_jobs, repeat)
    row["health_report"] = timed(manager.get_recovery_status_report, repeat)
    return row


def bench_bulk(work: Path, count: int = 1000) -> tuple[int, float]:
    root = work / "bulk"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for i in range(count):
        job_id = f"crashed-{i:05d}"
        (root / job_id).mkdir()
        (root / job_id / MANIFEST_NAME).write_text(json.dumps(manifest(job_id, i, True)))
    manager = JobRecoveryManager(root)
    start = time.perf_counter()
    result = manager.perform_bulk_recovery(max_jobs=count)
    elapsed = time.perf_counter() - start
    recovered = result.counts().get("recovered", 0)
    shutil.rmtree(root)
    return recovered, elapsed


def bench_micro(work: Path, count: int = 2000) -> dict[str, float]:
    """Cost per job of each primitive, in microseconds (medians over `count` jobs)."""
    root = work / "micro"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    dirs = []
    for i in range(count):
        job_dir = root / f"m-{i:05d}"
        job_dir.mkdir()
        raw = json.dumps(manifest(job_dir.name, i, False)).encode()
        (job_dir / MANIFEST_NAME).write_bytes(raw)
        (job_dir / ".lock").touch()
        dirs.append(job_dir)
    manifests = [str(d / MANIFEST_NAME) for d in dirs]
    locks = [str(d / ".lock") for d in dirs]
    me = current_identity()

    def per_job(fn: Callable[[], object], n: int = count) -> float:
        return timed(fn, 5) / n * 1e6

    costs = {
        "manifest stat": per_job(lambda: [os.stat(p) for p in manifests]),
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
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--work", type=Path, default=Path("/tmp/logist-bench"))
    parser.add_argument("--bulk", type=int, default=1000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    columns = [
        ("jobs", "jobs"),
        ("floor_stat", "stat floor"),
        ("warm_rescan", "warm rescan"),
        ("rescan_1pct_changed", "rescan 1% chg"),
        ("floor_read", "read floor"),
        ("cold_scan", "cold scan"),
        ("detect_crashed", "detect crashed"),
        ("health_report", "health report"),
    ]
    print(" | ".join(f"{title:>14}" for _, title in columns))
    for size in sizes:
        row = bench_size(args.work, size)
        cells = [f"{int(row['jobs']):>14,}"] + [
            f"{row[key] * 1000:>11.1f} ms" for key, _ in columns[1:]
        ]
        print(" | ".join(cells), flush=True)
        print(
            f"{'':>14}   warm/stat floor = {row['warm_rescan'] / row['floor_stat']:.2f}x, "
            f"cold/read floor = {row['cold_scan'] / row['floor_read']:.2f}x",
            flush=True,
        )
    for name, micros in bench_micro(args.work).items():
        print(f"per job: {name:<30} {micros:8.1f} us")
    recovered, elapsed = bench_bulk(args.work, args.bulk)
    print(
        f"bulk recovery: {recovered} jobs in {elapsed:.2f} s = {recovered / elapsed:.0f} jobs/s "
        "(backup + atomic write + audit, each fsynced)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
