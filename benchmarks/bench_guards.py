"""What each guard of the acting path costs per action, on a 2 KB manifest.

Not a test. Times each step the acting path takes for one recovery (re-read and re-judge,
confinement, audit check, job lock, backup + atomic write, audit append) and a whole
`apply` of a crashed job, each the median of N runs in a fresh temp root. Usage:

    uv run python benchmarks/bench_guards.py [--runs 300] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from logist.core import JobRecoveryManager
from logist.core._audit import append_audit, check_audit_writable
from logist.core._identity import boot_id, host_name
from logist.core._locking import JobLock
from logist.core._manifest import MANIFEST_NAME, read_manifest, write_manifest
from logist.core._safeio import require_confined

IMPOSSIBLE_PID = 2**22 + 1


def crashed(job_id: str) -> bytes:
    """A crashed job's manifest of about 2 KB (dead owner on this host)."""
    history = [
        {"timestamp": "2026-01-01T00:00:00", "event": "STEP", "summary": f"step {i}"}
        for i in range(16)
    ]
    data = {
        "job_id": job_id,
        "description": "benchmark job",
        "status": "EXECUTING",
        "generation": 3,
        "history": history,
        "owner": {
            "host": host_name(),
            "boot_id": boot_id(),
            "pid": IMPOSSIBLE_PID,
            "start_token": 1,
            "heartbeat_interval_s": 5.0,
        },
    }
    return json.dumps(data, indent=2).encode()


def median_us(
    runs: int, step: Callable[[], object], setup: Callable[[], object] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        root = Path(work) / "jobs"
        job_dir = root / "j"
        job_dir.mkdir(parents=True)
        manifest = job_dir / MANIFEST_NAME
        payload = crashed("j")
        manifest.write_bytes(payload)
        manager = JobRecoveryManager(root, operator="bench")

        def stage() -> None:
            manifest.write_bytes(payload)

        read = read_manifest(manifest)
        assert read.data is not None
        figures = {
            "re-read + re-judge (scan_job)": median_us(args.runs, lambda: manager.job("j")),
            "confinement (lstat per component)": median_us(
                args.runs, lambda: require_confined("j", root, job_dir)
            ),
            "audit check (lstat + statvfs)": median_us(
                args.runs, lambda: check_audit_writable(root)
            ),
            "job lock (acquire + release)": median_us(
                args.runs, lambda: JobLock(job_dir, "j").acquire().release()
            ),
            "backup + atomic write (fsync x4)": median_us(
                args.runs,
                lambda: write_manifest(job_dir, dict(read.data or {}), previous_raw=payload),
            ),
            "audit append (flock + fsync)": median_us(
                args.runs, lambda: append_audit(root, {"action": "bench", "job_id": "j"})
            ),
            "whole apply of a crashed job": median_us(
                args.runs, lambda: manager.recover_crashed_job("j"), stage
            ),
        }
    print(f"manifest: {len(payload)} bytes; median of {args.runs} runs")
    for name, us in figures.items():
        print(f"  {name:<36} {us:9.1f} us")


if __name__ == "__main__":
    main()
