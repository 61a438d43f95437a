"""One `logist run` supervisor: its memory beside the bare interpreter, and its start.

Not a test. Usage:

    uv run python benchmarks/bench_runner.py [--rounds 5]

- PSS (proportional set size, from /proc/PID/smaps_rollup) of a runner supervising `sleep`, and
  of the bare interpreter of the same venv (`python -c` sleeping) measured in the same round:
  shared pages count by their share, as they cost the machine;
- start to command running: from spawning `logist run` to the command writing into a FIFO the
  benchmark is reading (interpreter start, argument parsing, exec into the light supervisor,
  the lock, the manifest writes with their fsyncs, the gate), beside its floor in the same
  round: an interpreter of the same venv that only execs the same command;
- the import set of the supervisor (sys.modules after a whole run of a short command).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import roots


def pss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as stream:
        for line in stream:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError("no Pss line")


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.01)


def started_in(argv: list[str], fifo: Path) -> tuple[subprocess.Popen[bytes], float]:
    """The process, and the seconds from its spawn to its command writing into `fifo`."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    with open(fifo) as stream:
        stream.read()
    return process, time.perf_counter() - started


def one_round(work: Path, number: int) -> tuple[float, float, float, float]:
    """(runner PSS MiB, bare interpreter PSS MiB, start to command running in s, its floor)."""
    root = work / "jobs"
    root.mkdir(exist_ok=True)
    fifo = work / f"fifo-{number}"
    os.mkfifo(fifo)
    command = ["sh", "-c", f"echo go > {fifo}; exec sleep 60"]
    floor, floor_s = started_in(
        [sys.executable, "-c", f"import os; os.execvp('sh', {command!r})"], fifo
    )
    floor.kill()
    floor.wait()
    runner, start_s = started_in(
        [
            sys.executable,
            "-m",
            "logist",
            "run",
            "--root",
            str(root),
            "--job-id",
            f"bench-{number}",
            "--",
            *command,
        ],
        fifo,
    )
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(1.0)  # both settled: the runner has beaten its heartbeat once at least
    runner_pss = pss_kib(runner.pid) / 1024
    bare_pss = pss_kib(bare.pid) / 1024
    bare.kill()
    runner.terminate()
    runner.wait(30)
    bare.wait()
    return runner_pss, bare_pss, start_s, floor_s


def import_set(work: Path) -> list[str]:
    """sys.modules of a supervisor (in a fresh interpreter) after it ran `true` as a job."""
    root = work / "imports"
    root.mkdir()
    probe = (
        "import sys, logist._run; "
        f"logist._run.main([{str(root)!r}, 'imports', '0.05', 'true']); "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runner_pss, bare_pss, starts, floors = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="logist-runner-bench-") as tmp:
        for number in range(args.rounds):
            r, b, s, f = one_round(Path(tmp), number)
            runner_pss.append(r)
            bare_pss.append(b)
            starts.append(s)
            floors.append(f)
        modules = import_set(Path(tmp))
    ratios = [r / b for r, b in zip(runner_pss, bare_pss, strict=True)]
    print(f"machine: {roots.machine()}")
    print(
        f"runner PSS: min {min(runner_pss):.1f} MiB, median {statistics.median(runner_pss):.1f} "
        f"MiB; bare interpreter {statistics.median(bare_pss):.1f} MiB; ratio min "
        f"{min(ratios):.2f}x median {statistics.median(ratios):.2f}x (budget 2x)"
    )
    print(
        f"start to command running: min {min(starts) * 1000:.0f} ms, median "
        f"{statistics.median(starts) * 1000:.0f} ms (budget 150 ms); floor (an interpreter that "
        f"only execs the command) min {min(floors) * 1000:.0f} ms, median "
        f"{statistics.median(floors) * 1000:.0f} ms"
    )
    ours = [m for m in modules if m.startswith("logist")]
    print(f"supervisor imports: {len(modules)} modules; ours: {', '.join(ours)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
