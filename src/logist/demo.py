"""Stage a demo jobs root with real processes, so that every verdict can be seen live.

Live jobs are real `logist run` runners whose commands print progress; crashes, a hang and a
detached command are produced by really killing or stopping those runners. The rest of the root
is written the way Logist writes it (a core-style index, manifests with phases, metrics,
thresholds and history, naive local timestamps, mtimes to match). Every process the demo starts
is recorded, with its start token, in `<root>/.logist/demo.json`, so that `stop()` (or
`logist demo-stop`) signals exactly those processes and their process groups, never a
recycled pid.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .core._identity import (
    Liveness,
    ProcessIdentity,
    identity_from_record,
    identity_of,
    liveness,
)
from .core._manifest import (
    MANIFEST_NAME,
    OWNER_KEY,
    atomic_write_bytes,
    backup_name,
    dumps,
    now_naive_iso,
    read_manifest,
)
from .core._root import INDEX_NAME, STATE_DIR
from .core._signals import signal_verified

PIDFILE = "demo.json"
START_TIMEOUT_S = 20.0
STOP_GRACE_S = 3.0
HUNG_HEARTBEAT_S = 0.5
LIVE_HEARTBEAT_S = 1.0


class DemoError(RuntimeError):
    """The demo could not be staged."""


def _loop(tag: str, message: str, *, seconds: float = 1.0, limit: int | None = None) -> str:
    """A shell loop printing progress (one line per step); stops after `limit` steps if given."""
    bound = f"[ $i -lt {limit} ]" if limit else "true"
    return (
        f'i=0; while {bound}; do i=$((i+1)); echo "[{tag}] step $i: {message}"; '
        f"sleep {seconds}; done"
    )


@dataclass(frozen=True, slots=True)
class LiveJob:
    """A job run by a real runner; `fate` is what the demo does to it once it runs."""

    job_id: str
    description: str
    script: str
    fate: str = "run"
    """run | crash (kill runner and command) | hang (SIGSTOP the runner) | detach (kill runner)."""


LIVE_JOBS = (
    LiveJob(
        "ingest-invoices",
        "Parse and load supplier invoices",
        _loop("ingest", "250 invoices parsed"),
    ),
    LiveJob(
        "train-ranker-v7",
        "Train the search ranker, 12 epochs",
        _loop("train", "loss 0.41 -> 0.39, eval ndcg@10 0.71", seconds=1.5),
    ),
    LiveJob(
        "sync-warehouse",
        "Nightly warehouse sync (finishes after ~30 s)",
        _loop("sync", "table copied", limit=30) + '; echo "[sync] all tables copied"',
    ),
    LiveJob(
        "etl-clickstream",
        "Clickstream ETL (its runner dies after ~15 s)",
        _loop("etl", "partition loaded", limit=15)
        + '; echo "[etl] fatal: out of memory (simulated)"; kill -KILL $PPID',
    ),
    LiveJob(
        "render-report-q3",
        "Render the Q3 board report",
        _loop("render", "page rendered"),
        fate="crash",
    ),
    LiveJob(
        "backfill-2024-06",
        "Backfill June 2024 events",
        _loop("backfill", "day backfilled"),
        fate="crash",
    ),
    LiveJob(
        "scrape-catalog",
        "Scrape the partner catalog (its runner is stopped: hung)",
        _loop("scrape", "page scraped"),
        fate="hang",
    ),
    LiveJob(
        "transcode-videos",
        "Transcode uploaded videos (runner killed, command goes on)",
        _loop("transcode", "video transcoded", seconds=2),
        fate="detach",
    ),
)

PHASES = ("plan", "fetch", "transform", "validate", "publish")
WORDS = (
    "invoices",
    "ledger",
    "catalog",
    "embeddings",
    "thumbnails",
    "payroll",
    "inventory",
    "sessions",
    "geo tiles",
    "audit trail",
    "search index",
    "churn model",
)
VERBS = ("Rebuild", "Export", "Reconcile", "Summarize", "Migrate", "Compact", "Score", "Archive")


@dataclass
class _Started:
    job: LiveJob
    proc: subprocess.Popen[bytes]
    child: int | None = None


@dataclass
class DemoRoot:
    """A staged demo root and the processes it started."""

    root: Path
    processes: list[dict[str, Any]] = field(default_factory=list)
    """{job_id, role, pid, start_token} of every process the demo started."""
    _popen: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def pids(self) -> list[int]:
        """Pids of the demo's processes that are still alive (and still the same processes)."""
        return [identity.pid for identity in _alive(self._identities())]

    def stop(self) -> list[int]:
        """Stop every process the demo started, and their process groups; returns their pids.

        Also stops owners recorded in the root's manifests (a supervisor the console started by
        adopting a detached job, for example): the demo root is ours.
        """
        stopped = _stop(self._identities())
        for proc in self._popen:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)
        return stopped

    def _identities(self) -> list[ProcessIdentity]:
        found = {
            identity
            for record in self.processes
            if (identity := identity_from_record(record)) is not None
        }
        found.update(_recorded_owners(self.root))
        return sorted(found, key=lambda i: i.pid)

    @classmethod
    def load(cls, root: Path) -> DemoRoot:
        """The demo staged in `root` earlier (by `logist demo`), from its pidfile."""
        read = read_manifest(root / STATE_DIR / PIDFILE)
        if read.data is None or not isinstance(read.data.get("processes"), list):
            raise DemoError(f"{root} holds no demo (no readable {STATE_DIR}/{PIDFILE})")
        return cls(root, [p for p in read.data["processes"] if isinstance(p, dict)])


def stage_demo(directory: Path | None = None) -> DemoRoot:
    """Create the demo root (a new temp dir, or `directory`, which must be empty) and start it."""
    root = _make_root(directory)
    rng = random.Random(20261127)
    now = time.time()
    index: dict[str, str] = {}
    for job_id, data, mtime in _static_jobs(rng, now):
        _write(root, job_id, data, mtime)
        index[job_id] = str(root / job_id)
    _write_corrupt(root, now)
    index["corrupt-billing-export"] = str(root / "corrupt-billing-export")
    # a job directory Logist forgot to index: a finding with an automatic fix
    _write(root, "orphan-adhoc-query", _finished(rng, "orphan-adhoc-query", now - 9000), now - 9000)
    for job in LIVE_JOBS:
        _write(root, job.job_id, _pending(job, now), now)
        index[job.job_id] = str(root / job.job_id)
    atomic_write_bytes(
        root / INDEX_NAME,
        dumps(
            {
                "version": 1,
                "created_at": now_naive_iso(now - 86400 * 3),
                "jobs": index,
                "queue": [],
                "archived_jobs": [],
            }
        ),
    )
    demo = DemoRoot(root)
    try:
        started = _start(root, demo)
        _apply_fates(started)
    except BaseException:
        demo.stop()
        raise
    _save_pidfile(demo)
    return demo


def stop_demo(root: Path) -> list[int]:
    """`logist demo-stop`: stop the processes of the demo staged in `root`."""
    return DemoRoot.load(root).stop()


# ---- processes -----------------------------------------------------------------------------


def _start(root: Path, demo: DemoRoot) -> list[_Started]:
    started = []
    for job in LIVE_JOBS:
        beat = HUNG_HEARTBEAT_S if job.fate == "hang" else LIVE_HEARTBEAT_S
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "logist",
                "run",
                "--root",
                str(root),
                "--job-id",
                job.job_id,
                "--heartbeat",
                str(beat),
                "--",
                "sh",
                "-c",
                job.script,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the console's terminal never signals them
            close_fds=True,
        )
        demo._popen.append(proc)
        _record(demo, job.job_id, "runner", proc.pid)
        started.append(_Started(job, proc))
    deadline = time.monotonic() + START_TIMEOUT_S
    for item in started:
        while item.child is None:
            owner = _owner_record(root, item.job.job_id)
            child = owner.get("child_pid") if owner else None
            if isinstance(child, int):
                item.child = child
                _record(demo, item.job.job_id, "command", child)
            elif item.proc.poll() is not None:
                raise DemoError(f"runner of {item.job.job_id} exited with {item.proc.returncode}")
            elif time.monotonic() > deadline:
                raise DemoError(f"runner of {item.job.job_id} did not start its command")
            else:
                time.sleep(0.05)
    return started


def _apply_fates(started: Iterable[_Started]) -> None:
    for item in started:
        fate = item.job.fate
        if fate == "crash" and item.child is not None:
            _kill_group(item.child, signal.SIGKILL)
        if fate in ("crash", "detach"):
            item.proc.kill()
            item.proc.wait()
        elif fate == "hang":
            item.proc.send_signal(signal.SIGSTOP)


def _kill_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _record(demo: DemoRoot, job_id: str, role: str, pid: int) -> None:
    identity = identity_of(pid)
    if identity is not None:
        demo.processes.append({"job_id": job_id, "role": role, **identity.to_dict()})


def _alive(identities: Iterable[ProcessIdentity]) -> list[ProcessIdentity]:
    return [i for i in identities if liveness(i) is Liveness.ALIVE]


def _stop(identities: list[ProcessIdentity]) -> list[int]:
    """CONT+TERM each verified process and its group, wait, then KILL what is left."""
    alive = _alive(identities)
    for identity in alive:
        signal_verified(identity, signal.SIGCONT)
        if _leads_group(identity):
            _kill_group(identity.pid, signal.SIGCONT)
            _kill_group(identity.pid, signal.SIGTERM)
        else:
            signal_verified(identity, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while _alive(alive) and time.monotonic() < deadline:
        time.sleep(0.05)
    for identity in identities:
        if _leads_group(identity):
            _kill_group(identity.pid, signal.SIGKILL)  # what is left of the group
        signal_verified(identity, signal.SIGKILL)
    return [i.pid for i in alive]


def _leads_group(identity: ProcessIdentity) -> bool:
    """True when the verified process leads its own process group (a session we started)."""
    if liveness(identity) is not Liveness.ALIVE:
        return False
    try:
        return os.getpgid(identity.pid) == identity.pid
    except OSError:
        return False


def _recorded_owners(root: Path) -> set[ProcessIdentity]:
    """Runner and command identities recorded in the root's manifests right now."""
    found: set[ProcessIdentity] = set()
    try:
        names = os.listdir(root)
    except OSError:
        return found
    for name in names:
        owner = _owner_record(root, name)
        for keys in (("pid", "start_token"), ("child_pid", "child_start_token")):
            identity = identity_from_record(owner, *keys)
            if identity is not None:
                found.add(identity)
    return found


def _owner_record(root: Path, job_id: str) -> dict[str, Any] | None:
    read = read_manifest(root / job_id / MANIFEST_NAME)
    owner = read.data.get(OWNER_KEY) if read.data else None
    return owner if isinstance(owner, dict) else None


def _save_pidfile(demo: DemoRoot) -> None:
    state = demo.root / STATE_DIR
    state.mkdir(exist_ok=True)
    atomic_write_bytes(
        state / PIDFILE,
        dumps({"created_at": now_naive_iso(time.time()), "processes": demo.processes}),
    )


# ---- files ---------------------------------------------------------------------------------


def _make_root(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="logist-demo-")) / "jobs"
    directory = directory.absolute()
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise DemoError(f"{directory} is not empty; give an empty or new directory")
    return directory


def _write(root: Path, job_id: str, data: dict[str, Any], mtime: float) -> None:
    job_dir = root / job_id
    job_dir.mkdir(parents=True, exist_ok=True)
    path = job_dir / MANIFEST_NAME
    path.write_bytes(dumps(data))
    os.utime(path, (mtime, mtime))


def _phases(done: int) -> list[dict[str, str]]:
    return [
        {"name": name, "status": "done" if i < done else "active" if i == done else "pending"}
        for i, name in enumerate(PHASES)
    ]


def _base(rng: random.Random, job_id: str, description: str, created: float) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "description": description,
        "status": "PENDING",
        "current_phase": PHASES[0],
        "phases": _phases(0),
        "created_at": now_naive_iso(created),
        "updated_at": now_naive_iso(created),
        "config": {"model": rng.choice(("small", "medium", "large")), "max_steps": 40},
        "metrics": {"cumulative_cost": 0.0, "cumulative_time_seconds": 0, "step_count": 0},
        "cost_threshold": rng.choice((5.0, 10.0, 25.0)),
        "time_threshold_minutes": rng.choice((30, 60, 120)),
        "history": [{"timestamp": now_naive_iso(created), "event": "JOB_CREATED"}],
    }


def _steps(data: dict[str, Any], rng: random.Random, start: float, count: int) -> float:
    """Append `count` step entries and metrics; returns the time of the last one."""
    moment = start
    for step in range(1, count + 1):
        moment += rng.randint(60, 600)
        phase = PHASES[min(len(PHASES) - 1, step * len(PHASES) // (count + 1))]
        data["history"].append(
            {
                "timestamp": now_naive_iso(moment),
                "action": "step",
                "summary": f"{phase}: step {step} complete",
                "new_status": "EXECUTING",
            }
        )
        data["current_phase"] = phase
        data["phases"] = _phases(PHASES.index(phase))
    metrics = data["metrics"]
    metrics["step_count"] = count
    metrics["cumulative_time_seconds"] = int(moment - start)
    metrics["cumulative_cost"] = round(count * rng.uniform(0.05, 0.9), 2)
    data["updated_at"] = now_naive_iso(moment)
    return moment


def _finished(rng: random.Random, job_id: str, created: float) -> dict[str, Any]:
    description = f"{rng.choice(VERBS)} {rng.choice(WORDS)}"
    data = _base(rng, job_id, description, created)
    end = _steps(data, rng, created, rng.randint(3, 12))
    data["status"] = "SUCCESS"
    data["current_phase"] = PHASES[-1]
    data["phases"] = _phases(len(PHASES))
    data["history"].append(
        {"timestamp": now_naive_iso(end), "event": "COMPLETED", "new_status": "SUCCESS"}
    )
    return data


def _static_jobs(rng: random.Random, now: float) -> Iterable[tuple[str, dict[str, Any], float]]:
    """Finished, pending and legacy jobs, written as Logist writes them."""
    for number in range(1, 27):
        created = now - rng.randint(2, 72) * 3600
        job_id = f"job-{number:03d}-{rng.choice(WORDS).replace(' ', '-')}"
        data = _finished(rng, job_id, created)
        yield job_id, data, datetime.fromisoformat(data["updated_at"]).timestamp()
    endings = (
        ("CANCELED", "cancelled by operator"),
        ("CANCELED", "superseded by a newer run"),
        ("FAILED", "deprecated state: failed before the retry policy"),
    )
    for number, (status, note) in enumerate(endings, 27):
        created = now - rng.randint(5, 48) * 3600
        job_id = f"job-{number:03d}-{status.lower()}"
        data = _base(rng, job_id, f"{rng.choice(VERBS)} {rng.choice(WORDS)}", created)
        end = _steps(data, rng, created, rng.randint(1, 4))
        data["status"] = status
        data["history"].append(
            {
                "timestamp": now_naive_iso(end),
                "event": "ERROR",
                "reason": note,
                "new_status": status,
            }
        )
        yield job_id, data, end
    resting = (
        ("PENDING", 0),
        ("PENDING", 0),
        ("PENDING", 0),
        ("DRAFT", 0),
        ("SUSPENDED", 2),
        ("APPROVAL_REQUIRED", 3),
        ("INTERVENTION_REQUIRED", 2),
        ("PAUSED", 1),
    )
    for number, (status, steps) in enumerate(resting, 30):
        created = now - rng.randint(1, 20) * 3600
        job_id = f"job-{number:03d}-{status.lower().replace('_', '-')}"
        data = _base(rng, job_id, f"{rng.choice(VERBS)} {rng.choice(WORDS)}", created)
        end = _steps(data, rng, created, steps) if steps else created
        data["status"] = status
        if status == "INTERVENTION_REQUIRED":
            data["history"].append(
                {
                    "timestamp": now_naive_iso(end),
                    "event": "EXECUTION_ERROR",
                    "error_classification": "RATE_LIMIT",
                    "reason": "provider returned 429 three times",
                    "new_status": status,
                }
            )
        yield job_id, data, end
    # A finished job whose id and description look like markup: shown literally.
    created = now - 7200
    data = _finished(rng, "train[gpu01]", created)
    data["description"] = "copy [/tmp/a] failed, then [b]retried[/b] on node[gpu01] [exit 137]"
    yield "train[gpu01]", data, datetime.fromisoformat(data["updated_at"]).timestamp()
    # Legacy Logist jobs: no owner record, EXECUTING. Hours of silence: stalled. The original's
    # `runner` is its runner's name, not an owner record.
    created = now - 9 * 3600
    data = _base(rng, "legacy-migrate-crm", "Migrate CRM contacts (legacy Logist worker)", created)
    end = _steps(data, rng, created, 6)
    data["status"] = "EXECUTING"
    data["runner"] = "direct"
    yield "legacy-migrate-crm", data, end
    # ...and one that wrote a few minutes ago: unverified, watch it.
    created = now - 3600
    data = _base(rng, "legacy-index-rebuild", "Rebuild the search index (legacy worker)", created)
    data["status"] = "EXECUTING"
    data["history"].append(
        {"timestamp": now_naive_iso(now - 240), "action": "step", "summary": "fetch: shard 3 of 8"}
    )
    data["updated_at"] = now_naive_iso(now - 240)
    yield "legacy-index-rebuild", data, now - 240


def _write_corrupt(root: Path, now: float) -> None:
    """A manifest cut short mid-write, with a valid backup from an hour before."""
    job_id = "corrupt-billing-export"
    rng = random.Random(5)
    good = _base(rng, job_id, "Export billing records to the ledger", now - 5 * 3600)
    _steps(good, rng, now - 5 * 3600, 3)
    good["status"] = "PENDING"
    job_dir = root / job_id
    backups = job_dir / ".backups"
    backups.mkdir(parents=True)
    backup = backups / backup_name(datetime.fromtimestamp(now - 3600))
    backup.write_bytes(dumps(good))
    os.utime(backup, (now - 3600, now - 3600))
    broken = dumps(good)[:300]
    manifest = job_dir / MANIFEST_NAME
    manifest.write_bytes(broken)
    os.utime(manifest, (now - 1800, now - 1800))


def _pending(job: LiveJob, now: float) -> dict[str, Any]:
    rng = random.Random(job.job_id)
    data = _base(rng, job.job_id, job.description, now - 600)
    data["metrics"]["cumulative_cost"] = round(rng.uniform(0.5, 4.0), 2)
    data["current_phase"] = "transform"
    data["phases"] = _phases(2)
    return data
