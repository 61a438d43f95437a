"""A victim process for crash injection: run one scenario, SIGKILL itself before its Nth step.

    python _victim.py SCENARIO ROOT CRASH_AT [ARG ...]

A *step* is a mutating file-system call under ROOT, seen through `sys.addaudithook` before the
call happens: `open` for writing (or of a directory, which is how a directory gets fsynced),
`os.rename` (the audit event of `os.replace`), `os.remove`, `os.mkdir`, `os.utime`,
`os.truncate`, and exclusive `fcntl.flock`. Each step is reported on stdout as one JSON line
*before* it runs; step CRASH_AT is reported and then the process sends itself SIGKILL, so the
step never happens. CRASH_AT 0 never crashes (the trace run that enumerates the steps).

For a rename onto a manifest the line also carries the projection of the manifest being installed
(`installs`), so the parent knows exactly which state each job must be in after a crash.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_TEMP = re.compile(r"\.logist-tmp-(.+?)\.\d+\.[0-9a-f]{8}")
_BACKUP = re.compile(r"job_manifest_\d{8}T\d{6}_\d{6}(?:-\d+)?\.json\.backup")
_CORRUPT = re.compile(r"job_manifest_\d{8}T\d{6}_\d{9}\.corrupt")
_DELETED = re.compile(r"#\d+ \(deleted\)$")


def projection(data: object) -> dict[str, Any] | None:
    """What must be exactly before-or-after across a crash: status, generation, history."""
    if not isinstance(data, dict):
        return None
    history = data.get("history") if isinstance(data.get("history"), list) else []
    return {
        "status": data.get("status"),
        "generation": data.get("generation"),
        "history": [
            [h.get("event"), h.get("new_status")] if isinstance(h, dict) else [None, None]
            for h in history
        ],
        "owner": isinstance(data.get("owner"), dict),
    }


class Injector:
    """Counts the steps under one root and kills the process at the chosen one."""

    def __init__(self, root: Path, crash_at: int) -> None:
        self.root = str(root) + os.sep
        self.crash_at = crash_at
        self.count = 0
        self.busy = False

    def rel(self, path: object) -> str | None:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or not (path + os.sep).startswith(self.root):
            return None
        rel = path[len(self.root) :] or "."
        rel = _DELETED.sub("<tmpfile>", _TEMP.sub(r"<tmp:\1>", rel))
        return _CORRUPT.sub("<corrupt>", _BACKUP.sub("<backup>", rel))

    def describe(self, event: str, args: tuple[Any, ...]) -> tuple[str, dict[str, Any]] | None:
        extra: dict[str, Any] = {}
        if event == "open":
            rel = self.rel(args[0])
            flags = args[2] if isinstance(args[2], int) else 0
            if rel is None:
                return None
            if flags & os.O_TMPFILE == os.O_TMPFILE:
                return f"tmpfile-in {rel}", extra
            if flags & os.O_DIRECTORY and not flags & WRITE_FLAGS:
                return f"fsync-dir {rel}", extra
            if isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
                return f"open({args[1]}) {rel}", extra
            if not flags & WRITE_FLAGS:
                return None
            kind = (
                "create" if flags & os.O_CREAT else "append" if flags & os.O_APPEND else "open-rw"
            )
            return f"{kind} {rel}", extra
        if event == "os.rename":
            src, dst = self.rel(args[0]), self.rel(args[1])
            if src is None and dst is None:
                return None
            if str(args[1]).endswith("job_manifest.json"):
                extra["job"] = os.path.basename(os.path.dirname(os.fspath(args[1])))
                extra["installs"] = projection(_read_json(os.fspath(args[0])))
            return f"rename {src} -> {dst}", extra
        if event in ("os.remove", "os.mkdir", "os.rmdir", "os.utime", "os.truncate"):
            rel = self.rel(args[0])
            return None if rel is None else (f"{event[3:]} {rel}", extra)
        if event == "fcntl.flock" and isinstance(args[1], int) and args[1] & 2:  # LOCK_EX
            try:
                rel = self.rel(os.readlink(f"/proc/self/fd/{args[0]}"))
            except (OSError, TypeError):
                rel = None
            return f"flock-ex {rel or '?'}", extra
        return None

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            described = self.describe(event, args)
            if described is None:
                return
            self.count += 1
            label, extra = described
            emit({"n": self.count, "step": label, **extra})
            if self.count == self.crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
        finally:
            self.busy = False


def _read_json(path: str) -> object:
    try:
        with open(path, "rb") as stream:
            return json.loads(stream.read())
    except (OSError, ValueError):
        return None


def emit(record: dict[str, Any]) -> None:
    os.write(1, (json.dumps(record, default=str) + "\n").encode())


def run_scenario(name: str, root: Path, args: list[str]) -> object:
    from logist.core._manifest import MANIFEST_NAME, history_entry, read_manifest, write_manifest
    from logist.core.recovery import JobRecoveryManager
    from logist.runner import adopt_job, run_job

    if name == "write":
        job_dir = root / args[0]
        read = read_manifest(job_dir / MANIFEST_NAME)
        assert read.data is not None
        data = read.data
        data["status"] = "PENDING"
        data["history"].append(history_entry("VICTIM_WRITE", new_status="PENDING"))
        return write_manifest(job_dir, data, previous_raw=read.raw).to_dict()
    if name == "recover":
        manager = JobRecoveryManager(root, operator="victim")
        return [manager.recover_crashed_job(job_id).to_dict() for job_id in args]
    if name == "bulk":  # as an operator would: finish an interrupted run, then start one
        manager = JobRecoveryManager(root, operator="victim")
        manager.resume_bulk_recovery()
        return manager.perform_bulk_recovery().to_dict()
    if name == "resume":
        bulk = JobRecoveryManager(root, operator="victim").resume_bulk_recovery()
        return None if bulk is None else bulk.to_dict()
    if name == "fix":
        manager = JobRecoveryManager(root, operator="victim")
        findings = manager.validate_job_consistency()
        return [manager.fix(f).to_dict() for f in findings if f.fix is not None]
    if name == "run":
        return run_job(root, args[0], args[1:] or ["true"], heartbeat=60.0)
    if name == "adopt":
        return adopt_job(root, args[0], heartbeat=60.0, poll=0.02)
    raise SystemExit(f"unknown scenario {name!r}")


def main(argv: list[str]) -> int:
    name, root, crash_at, *args = argv
    root_path = Path(root).absolute()
    # Import everything before the hook goes in: imports are not steps.
    import logist.core.recovery
    import logist.runner  # noqa: F401

    sys.addaudithook(Injector(root_path, int(crash_at)))
    result = run_scenario(name, root_path, args)
    emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
