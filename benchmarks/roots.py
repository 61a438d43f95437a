"""Jobs roots that look like real ones, and the floors a fair benchmark divides by.

Shared by every benchmark (bench_core.py, console_bench.py, bench_watch.py), so that each
measures the same kind of root. A real root, not a flattering one:

- manifests written as Logist writes them (indented JSON, ~2 KB) with a history of steps;
- a mix of states: mostly finished or resting, a few active ones whose owner is alive (a real
  process holding each job's `.lock` and touching its `heartbeat`), a few crashed ones (owners
  with a real pid of this machine but another start token, as after pid reuse), legacy jobs
  whose `process_id` names a process that exists here, a few corrupt manifests;
- `logs/runner.log` in every job, `jobs_index.json` naming every job.

Floors do the same system calls as the code, nothing more (no buffered `open()`): the read
floor is `os.open` + `os.fstat` + `os.read` + `os.close` + `json.loads` of every manifest; the
stat floor is `os.stat` of every manifest. A "cold" figure runs in a fresh process; as root, a
"dropped" figure also empties the page cache first (`/proc/sys/vm/drop_caches`).
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from logist.core._identity import boot_id, host_name, identity_of, read_proc_stat
from logist.core._manifest import OWNER_KEY

MANIFEST = "job_manifest.json"
ROOT_FORMAT = 4
"""Bumped when the shape of a built root changes: roots kept between runs are rebuilt."""

# per 1,000 jobs (the rest is SUCCESS)
MIX: dict[str, int] = {
    "FAILED": 50,
    "CANCELED": 30,
    "PENDING": 90,
    "PAUSED": 20,
    "INTERVENTION_REQUIRED": 20,
    "APPROVAL_REQUIRED": 10,
    "live": 10,
    "crashed": 20,
    "legacy": 10,
    "corrupt": 1,
}
LIVE_CAP = 200
"""Live jobs are held by one owner process (one descriptor per lock): capped below fd limits."""
PHASES = ("fetch", "plan", "transform", "review", "publish")


@dataclass
class Root:
    """A built root: where it is, its manifests, and which jobs are which."""

    path: Path
    manifests: list[str]
    kinds: dict[str, list[str]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.manifests)


def _kind_of(number: int) -> str:
    """The kind of job number `number`, spread evenly through the root (not in blocks)."""
    slot = (number * 7919) % 1000  # a permutation of 0..999 inside each thousand
    for kind, share in MIX.items():
        if slot < share:
            return kind
        slot -= share
    return "SUCCESS"


def _history(now: float, age: float, steps: int) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": datetime.fromtimestamp(now - age - 60 * (steps - step)).isoformat(),
            "event": "STEP_COMPLETED",
            "phase": PHASES[step % len(PHASES)],
            "summary": f"step {step}: processed batch {step * 17 % 101} of the nightly export",
            "cost": round(0.05 * step, 2),
        }
        for step in range(steps)
    ]


def manifest(job_id: str, number: int, kind: str, now: float) -> dict[str, Any]:
    """A Logist-style manifest of about 2 KB once indented."""
    age = 3600.0 * (1 + number % 72)
    status = kind if kind.isupper() else "EXECUTING"
    data: dict[str, Any] = {
        "job_id": job_id,
        "description": f"Nightly export {number} of the ledger into the warehouse, region "
        f"{number % 13}",
        "status": status,
        "current_phase": "transform" if status == "EXECUTING" else "publish",
        "phases": [{"name": name, "status": "done"} for name in PHASES],
        "created_at": datetime.fromtimestamp(now - age - 3600).isoformat(),
        "updated_at": datetime.fromtimestamp(now - age).isoformat(),
        "config": {"model": "large", "retries": 2, "tools": ["sql", "http"]},
        "metrics": {
            "cumulative_cost": round(0.37 * (number % 11), 2),
            "cumulative_time_seconds": 60 * (number % 50),
            "step_count": 9,
        },
        "cost_threshold": 10.0,
        "time_threshold_minutes": 120,
        "history": _history(now, age, 9),
    }
    if kind == "legacy":
        data["process_id"] = 1  # exists here: presence proves nothing (pid reuse)
    return data


def owner_record(pid: int, start_token: int, heartbeat: float = 5.0) -> dict[str, Any]:
    """An owner record as our runner writes it."""
    return {
        "host": host_name(),
        "boot_id": boot_id(),
        "pid": pid,
        "start_token": start_token,
        "started_at": datetime.now().isoformat(),
        "command": ["sh", "-c", "./export.sh"],
        "child_pid": None,
        "child_start_token": None,
        "heartbeat_interval_s": heartbeat,
        "log_path": "logs/runner.log",
    }


def _reused_pid() -> tuple[int, int]:
    """A pid that exists here (init's) with a start token that is not its own: a dead owner
    after pid reuse, which costs a real /proc read to tell."""
    stat = read_proc_stat(1)
    return 1, (stat.start_token if stat else 0) + 12345


def build(path: Path, size: int) -> Root:
    """Build (or reuse, when complete and of this format) a root of `size` jobs."""
    marker = path / ".bench-root"
    ids = [f"job-{number:06d}" for number in range(size)]
    kinds: dict[str, list[str]] = {}
    for number, job_id in enumerate(ids):
        kinds.setdefault(_kind_of(number), []).append(job_id)
    kinds["live"] = kinds.get("live", [])[:LIVE_CAP]
    manifests = [os.path.join(path, job_id, MANIFEST) for job_id in ids]
    if marker.exists() and marker.read_text() == f"{ROOT_FORMAT} {size}":
        return Root(path, manifests, kinds)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    now = time.time()
    dead_pid, dead_token = _reused_pid()
    index = {}
    live = set(kinds["live"])
    for number, job_id in enumerate(ids):
        kind = _kind_of(number)
        if kind == "live" and job_id not in live:
            kind = "crashed"
        job_dir = path / job_id
        (job_dir / "logs").mkdir(parents=True)
        data = manifest(job_id, number, kind, now)
        if kind in ("crashed", "live"):
            data[OWNER_KEY] = owner_record(dead_pid, dead_token)
        target = job_dir / MANIFEST
        if kind == "corrupt":
            target.write_text(json.dumps(data, indent=2)[:700])
        else:
            target.write_text(json.dumps(data, indent=2) + "\n")
        age = 3600.0 * (1 + number % 72)
        os.utime(target, (now - age, now - age))
        (job_dir / ".lock").touch()
        (job_dir / "logs" / "runner.log").write_text(
            "".join(f"[{i}] step {i} done: 120 rows exported\n" for i in range(6))
        )
        index[job_id] = str(job_dir)
    (path / "jobs_index.json").write_text(json.dumps({"jobs": index, "queue": []}, indent=2))
    marker.write_text(f"{ROOT_FORMAT} {size}")
    return Root(path, manifests, kinds)


_OWNER_SCRIPT = r"""
import fcntl, os, sys, time
interval = float(sys.argv[1])
parent = os.getppid()
dirs = sys.stdin.read().split("\0")[:-1]
held = []
for d in dirs:
    fd = os.open(os.path.join(d, ".lock"), os.O_RDWR | os.O_CLOEXEC)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held.append(fd)
beats = [os.path.join(d, "heartbeat") for d in dirs]
print("ready", flush=True)
while True:
    for beat in beats:
        with open(beat, "a"):
            os.utime(beat)
    time.sleep(interval)
    if os.getppid() != parent:  # the benchmark is gone: so are its live jobs
        sys.exit()
"""


@contextmanager
def live_owners(root: Root, heartbeat: float = 5.0) -> Iterator[int | None]:
    """Start the owner of the root's live jobs: one process holding their locks and beating
    their heartbeats; their manifests name it. Yields its pid; stops it on exit."""
    dirs = [str(root.path / job_id) for job_id in root.kinds.get("live", [])]
    if not dirs:
        yield None
        return
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER_SCRIPT, str(heartbeat)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdin is not None and owner.stdout is not None
        owner.stdin.write("".join(d + "\0" for d in dirs))
        owner.stdin.close()
        if owner.stdout.readline().strip() != "ready":
            raise RuntimeError("the live owner did not start")
        identity = identity_of(owner.pid)
        assert identity is not None
        for job_dir in dirs:
            target = Path(job_dir) / MANIFEST
            data = json.loads(target.read_bytes())
            data[OWNER_KEY] = owner_record(owner.pid, identity.start_token, heartbeat)
            target.write_text(json.dumps(data, indent=2) + "\n")
        yield owner.pid
    finally:
        owner.kill()
        owner.wait()


# ---- floors ----------------------------------------------------------------------------------

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def floor_read(root: Path, manifests: list[str]) -> None:
    """What a scan cannot avoid: list the root, read and parse the index and every manifest,
    with the scanner's own system calls (open, fstat, read, close)."""
    os.listdir(root)
    for path in (os.path.join(root, "jobs_index.json"), *manifests):
        try:
            fd = os.open(path, _READ_FLAGS)
        except OSError:
            continue
        try:
            size = os.fstat(fd).st_size
            raw = os.read(fd, size + 1)
        finally:
            os.close(fd)
        try:  # noqa: SIM105 (a context manager per job would slow the floor: flattering)
            json.loads(raw)
        except ValueError:
            pass


def floor_stat(root: Path, manifests: list[str]) -> None:
    """What a repeated scan cannot avoid: list the root and stat every manifest."""
    os.listdir(root)
    for path in manifests:
        os.stat(path, follow_symlinks=False)


def floor_stat_only(root: Path, manifests: list[str]) -> None:
    """What an in-process rescan cannot avoid: stat every manifest (the listing is cached)."""
    for path in manifests:
        os.stat(path, follow_symlinks=False)


FLOORS: dict[str, Callable[[Path, list[str]], None]] = {
    "read": floor_read,
    "stat": floor_stat,
    "stat_only": floor_stat_only,
}


def can_drop_caches() -> bool:
    return os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)


def drop_caches() -> None:
    """Empty the page cache, dentries and inodes (root only): the next read goes to the disk."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as stream:
        stream.write("3\n")


def floor_script(name: str, root: Root) -> str:
    """A program for a fresh interpreter that runs floor `name` on `root` and prints the
    floor's own seconds. It holds the floor's own source and imports only `os` and `json`: a
    floor that imported this module would also import the backend (~60 ms), flattering every
    command's ratio."""
    return (
        "from __future__ import annotations\n"
        "import json, os, sys, time\n"
        f"_READ_FLAGS = {_READ_FLAGS!r}\n"
        f"{inspect.getsource(FLOORS[name])}\n"
        f"paths = open({str(_manifest_list(root))!r}).read().split(chr(0))[:-1]\n"
        "started = time.perf_counter()\n"
        f"{FLOORS[name].__name__}({str(root.path)!r}, paths)\n"
        "print(time.perf_counter() - started)\n"
    )


def fresh_floor(name: str, root: Root) -> float:
    """Seconds a fresh interpreter of this venv takes for floor `name`, timed inside it (its
    start-up excluded, as a scan's own figure excludes it)."""
    out = subprocess.run(
        [sys.executable, "-c", floor_script(name, root)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


def _manifest_list(root: Root) -> Path:
    listing = root.path.parent / f".{root.path.name}.manifests"
    if not listing.exists():
        listing.write_text("".join(p + "\0" for p in root.manifests))
    return listing


def wall(command: list[str], **kwargs: Any) -> float:
    """Wall seconds of a command from fork to exit, its output discarded."""
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False, **kwargs)
    return time.perf_counter() - started


@dataclass
class Figure:
    """One measured figure: a sample per round, each with its floor from the same round."""

    name: str
    samples: list[float] = field(default_factory=list)
    floors: list[float] = field(default_factory=list)

    def add(self, value: float, floor: float | None = None) -> None:
        self.samples.append(value)
        if floor is not None:
            self.floors.append(floor)

    def ratios(self) -> list[float]:
        return [v / f for v, f in zip(self.samples, self.floors, strict=False) if f > 0]

    def row(self) -> dict[str, float | None]:
        ratios = self.ratios()
        return {
            "min": min(self.samples),
            "median": statistics.median(self.samples),
            "floor_median": statistics.median(self.floors) if self.floors else None,
            "ratio_min": min(ratios) if ratios else None,
            "ratio_median": statistics.median(ratios) if ratios else None,
        }

    def line(self, unit: float = 1000.0, suffix: str = "ms") -> str:
        row = self.row()
        text = (
            f"{self.name:<40} min {row['min'] * unit:9.1f} {suffix}  "
            f"median {row['median'] * unit:9.1f} {suffix}"
        )
        if row["floor_median"] is not None:
            text += (
                f"  floor {row['floor_median'] * unit:9.1f} {suffix}  "
                f"ratio min {row['ratio_min']:.2f}x median {row['ratio_median']:.2f}x"
            )
        return text


def machine() -> str:
    """One line naming the machine the figures come from."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as stream:
            for line in stream:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({model}), Python {sys.version.split()[0]}, "
        f"load average {load:.2f} now"
    )
