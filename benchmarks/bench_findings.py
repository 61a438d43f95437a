"""Quick findings and health of a long-lived manager at 100,000 jobs: CPU per poll.

Not a test. On a realistic root (benchmarks/roots.py, its live jobs held by a real owner), one
manager scans again and again as a console polls it; each snapshot is judged twice in the same
round, by the full computation (`_fixes.quick_findings` + `build_health_report` counting every
job: what `status` did before `_quick_status`) and by the manager's `status(snapshot)` (kept
per job), so machine load inflates both alike. Figures are CPU seconds (`time.process_time`) of
the judging only, not of the scan:

- first: a fresh manager's first `status(snapshot)` (nothing kept yet) against the full one;
- unchanged: a new scan of an unchanged root (active jobs get new states, the rest are reused);
- 1% changed: 1% of the manifests rewritten (another 1% each round) before the scan;
- job added: a new job directory (not indexed) before the scan: the root is listed again;
- tick, 1 gone: that job removed, and a light tick (`rejudge`) of it: one job less, every
  other state the same.

    uv run python benchmarks/bench_findings.py [--jobs 100000] [--rounds 5] [--work DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import roots

from logist.core import JobRecoveryManager
from logist.core._fixes import quick_findings
from logist.core._health import build_health_report
from logist.core._scan import Snapshot


def cpu(work: Callable[[], object]) -> float:
    """CPU seconds of `work`, started after a full collection: a collection of the whole heap
    (100,000 jobs' objects) that one of the two figures happens to trigger is not its own."""
    gc.collect()
    started = time.process_time()
    work()
    return time.process_time() - started


def judged(root: Path, snapshot: Snapshot, manager: JobRecoveryManager) -> tuple[float, float]:
    """CPU of the full computation (every job's findings and counts anew: what `status` did
    before `_quick_status`), then of the manager's `status(snapshot)`, on one snapshot."""
    before = cpu(lambda: build_health_report(root, snapshot, quick_findings(snapshot)))
    return before, cpu(lambda: manager.status(snapshot))


def churn(root: roots.Root, share: float, round_number: int) -> None:
    """Rewrite `share` of the manifests (another slice each round): status flipped."""
    step = int(1 / share)
    for manifest in root.manifests[round_number % step :: step]:
        try:
            data = json.loads(Path(manifest).read_bytes())
        except (OSError, ValueError):
            continue  # a corrupt one: left as it is
        data["status"] = "PENDING" if data.get("status") == "SUCCESS" else "SUCCESS"
        temporary = manifest + ".bench"
        Path(temporary).write_text(json.dumps(data, indent=2) + "\n")
        os.replace(temporary, manifest)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/logist-bench-findings"))
    args = parser.parse_args()
    os.environ.setdefault("XDG_CACHE_HOME", str(args.work / "cache"))
    root = roots.build(args.work / f"root-{args.jobs}", args.jobs)
    figures: dict[str, list[tuple[float, float]]] = {}
    with roots.live_owners(root):
        kept = JobRecoveryManager(root.path, scan_cache=True)
        kept.scan()  # the scan cache, filled once
        for number in range(args.rounds):
            shown = kept.scan()  # what the console shows holds the states of the last poll
            fresh = JobRecoveryManager(root.path)
            figures.setdefault("first", []).append(judged(root.path, shown, fresh))
            kept.status(shown)

            def poll(name: str, snapshot: Snapshot) -> Snapshot:
                """Judge a new snapshot while the last one is still shown: its states are let
                go of afterwards, as a console lets go of them with its last poll's rows."""
                figures.setdefault(name, []).append(judged(root.path, snapshot, kept))
                return snapshot

            shown = poll("unchanged", kept.scan())
            churn(root, 0.01, number)
            shown = poll("1% changed", kept.scan())
            newcomer = root.path / f"newcomer-{number}"
            newcomer.mkdir()
            (newcomer / "job_manifest.json").write_text(json.dumps({"status": "PENDING"}))
            shown = poll("job added", kept.scan())
            shutil.rmtree(newcomer)
            shown = poll("tick, 1 gone", kept.rejudge(frozenset({newcomer.name})))
            del shown
    print(f"{roots.machine()}; {args.jobs:,} jobs, {args.rounds} rounds; CPU ms (median, max)")
    for name, pairs in figures.items():
        before = [b * 1000 for b, _ in pairs]
        after = [a * 1000 for _, a in pairs]
        print(
            f"{name:>12}: full {statistics.median(before):7.1f} {max(before):7.1f}   "
            f"kept {statistics.median(after):6.1f} {max(after):6.1f}   "
            f"ratio {statistics.median(b / a for b, a in pairs):5.1f}x"
        )


if __name__ == "__main__":
    main()
