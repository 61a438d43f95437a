"""JobRecoveryManager: the one API the CLI and the console use.

Deciding is pure (`classify`, `plan_recovery`, `snapshot_findings`); this module gathers the
evidence, applies plans under the job lock with a fingerprint compare-and-swap, and writes the
audit log. It never prints and never imports a UI.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import psutil
from filelock import FileLock, Timeout

from ._audit import append_audit, audited_action_ids, operator_name, read_audit, state_dir
from ._errors import (
    BulkInProgress,
    JobChanged,
    JobNotFound,
    LogistError,
    NotRecoverable,
    OutsideRoot,
    PermissionDenied,
)
from ._health import HealthReport, build_health_report
from ._identity import (
    TERMINATE_GRACE_S,
    Liveness,
    identity_from_record,
    liveness,
    terminate_verified,
)
from ._journal import WatchStatus, read_brake, read_events, watch_status, write_brake
from ._locking import JobLock, LockState
from ._manifest import (
    LAST_OWNER_KEY,
    MANIFEST_NAME,
    OWNER_KEY,
    TEMP_PREFIX,
    Fingerprint,
    atomic_write_bytes,
    dumps,
    history_entry,
    list_backups,
    now_naive_iso,
    parse_manifest,
    read_manifest,
    write_manifest,
)
from ._plans import RecoveryPlan, eligible_for_bulk, plan_recovery
from ._results import (
    ActionResult,
    BulkResult,
    JobDetail,
    LogChunk,
    Outcome,
    ProgressCallback,
    ReattachResult,
    failure,
)
from ._root import INDEX_NAME, STATE_DIR, RootIssue, resolve_root, validate_job_id
from ._scan import JobState, Scanner, Snapshot, facts_from
from ._states import Category
from ._validation import DiskFacts, Finding, FixKind, snapshot_findings
from ._verdicts import RESTING_KINDS, Policy, VerdictKind, classify

log = logging.getLogger(__name__)

TOOL = "logist-recovery"
BULK_REQUEST = "bulk-request.json"
DEFAULT_BULK_CAP = 100
OLD_TEMP_AGE_S = 3600.0


class JobRecoveryManager:
    """Scan a jobs root, judge every job, and act on them safely."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        policy: Policy | None = None,
        operator: str | None = None,
        clock: Callable[[], float] = time.time,
        scan_cache: bool = False,
    ) -> None:
        """`scan_cache`: keep what the manifests said between processes (`_scan_cache`), for
        commands run again and again on the same root (`logist status` from a monitor)."""
        self.root = resolve_root(root)
        self.policy = policy or Policy()
        self.operator = operator or operator_name()
        self._clock = clock
        self._scanner = Scanner(self.root, self.policy, persistent=scan_cache)
        self._scan_lock = threading.Lock()
        self._last: Snapshot | None = None

    # ---- reading -------------------------------------------------------------------------

    def scan(self, *, limit: int | None = None) -> Snapshot:
        """The whole root now; incremental after the first call.

        With `limit`, a partial first look (`Snapshot.complete` is False) that is not kept as
        the last snapshot.
        """
        with self._scan_lock:
            snapshot = self._scanner.scan(self._clock(), limit=limit)
            if snapshot.complete:
                self._last = snapshot
            return snapshot

    def last_snapshot(self) -> Snapshot:
        return self._last or self.scan()

    def job(self, job_id: str) -> JobState:
        """One job re-read from disk now."""
        validate_job_id(job_id)
        with self._scan_lock:
            state = self._scanner.scan_job(job_id, self._clock())
        if state is None:
            raise JobNotFound(job_id)
        return state

    def detect_crashed_jobs(self) -> list[JobState]:
        """Jobs whose owner is proven dead, oldest activity first."""
        return [j for j in self.scan().triage() if j.verdict.kind is VerdictKind.CRASHED]

    def triage(self) -> list[JobState]:
        return self.scan().triage()

    def detail(self, job_id: str, log_lines: int = 200) -> JobDetail:
        """One job re-read now, with its history and plans; `log_lines=0` skips the log's tail
        (a caller that follows the log with `read_log` has no use for it)."""
        state = self.job(job_id)
        read = read_manifest(state.path / MANIFEST_NAME)
        history: tuple[dict[str, Any], ...] = ()
        if read.data is not None and isinstance(read.data.get("history"), list):
            history = tuple(h for h in read.data["history"] if isinstance(h, dict))
        log_path = self.log_path(state)
        tail = tuple(tail_file(Path(log_path), log_lines)) if log_path and log_lines > 0 else ()
        force_plan = (
            plan_recovery(state, self.policy, force=True)
            if state.verdict.kind in (VerdictKind.HUNG, VerdictKind.DETACHED)
            else None
        )
        plan = plan_recovery(state, self.policy)
        return JobDetail(state, history, plan, log_path, tail, force_plan)

    def log_path(self, state: JobState) -> str | None:
        """The job's log, only if it lies inside the job directory (never read outside): the
        runner's recorded log, else the newest `logs/*.log`."""
        job_real = os.path.realpath(state.path)

        def inside(candidate: Path) -> bool:
            real = os.path.realpath(candidate)
            return real.startswith(job_real + os.sep) and os.path.isfile(real)

        if state.facts.log_path and inside(Path(state.facts.log_path)):
            return state.facts.log_path
        try:
            logs = sorted(
                (state.path / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True
            )
        except OSError:
            return None
        return next((str(log) for log in logs[:1] if inside(log)), None)

    def audit_log(self, limit: int | None = 200) -> list[dict[str, Any]]:
        """The newest `limit` audit records (None: all of them), oldest first."""
        return read_audit(self.root, limit)

    # ---- the unattended watch (written by logist.watch, read here) -------------------------

    def events(
        self,
        job_id: str | None = None,
        *,
        since: float | None = None,
        limit: int | None = None,
        max_bytes: int | None = None,
    ) -> list[dict[str, Any]]:
        """The watch's incident journal, oldest first (`max_bytes`: only that much of its end)."""
        return read_events(self.root, job_id=job_id, since=since, limit=limit, max_bytes=max_bytes)

    def watch_status(self) -> WatchStatus | None:
        return watch_status(self.root)

    def resume_auto_recovery(self) -> bool:
        """Release the storm brake (the watch journals it on its next pass); False if it was off."""
        brake = read_brake(self.root)
        if brake is None:
            return False
        write_brake(
            self.root,
            {**brake, "engaged": False, "reset_by": self.operator, "reset_at": self._clock()},
        )
        return True

    def read_log(
        self, job_id: str, offset: int | None = None, *, max_bytes: int = 256 * 1024
    ) -> LogChunk:
        """Read-only: the job's log from `offset` (None: its last `max_bytes`), for following.

        Only complete lines are returned, so a line being written is never shown half.
        """
        # A follower calls this every half second: the polled state is fresh enough to find
        # the log by; re-reading the job each time cost a manifest read and a lock probe.
        known = self._last.jobs.get(job_id) if self._last is not None else None
        path = self.log_path(known or self.job(job_id))
        if path is None:
            return LogChunk(None, (), 0)
        try:
            with open(path, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                restarted = offset is None or offset > size or size - offset > max_bytes
                start = max(0, size - max_bytes) if restarted else offset
                stream.seek(start)
                data = stream.read(min(size - start, max_bytes))
        except OSError:
            return LogChunk(path, (), offset or 0)
        end = data.rfind(b"\n") + 1
        skip = data.find(b"\n") + 1 if restarted and start > 0 else 0  # a cut first line
        lines = data[skip:end].decode("utf-8", errors="replace").splitlines()
        return LogChunk(path, tuple(lines), start + end if end else start, restarted)

    # ---- recover -------------------------------------------------------------------------

    def plan(self, job_id: str, *, force: bool = False) -> RecoveryPlan:
        return plan_recovery(self.job(job_id), self.policy, force=force)

    def recover_crashed_job(self, job_id: str, force: bool = False) -> ActionResult:
        """Plan from fresh evidence and apply; refuses live jobs unless `force`."""
        try:
            plan = self.plan(job_id, force=force)
        except LogistError as exc:
            return failure(job_id, "recover", exc)
        return self.apply(plan)

    def apply(self, plan: RecoveryPlan) -> ActionResult:
        """Apply a plan made earlier; re-checks the job against fresh state first."""
        try:
            return self._apply(plan)
        except LogistError as exc:
            return failure(plan.job_id, "recover", exc, plan)
        except PermissionError as exc:
            return failure(plan.job_id, "recover", PermissionDenied(str(exc)), plan)
        except OSError as exc:
            return ActionResult(
                plan.job_id,
                "recover",
                Outcome.FAILED,
                f"I/O error: {exc}",
                plan=plan,
                error=type(exc).__name__,
            )

    def _apply(self, plan: RecoveryPlan) -> ActionResult:
        job_id = plan.job_id
        if not plan.allowed:
            outcome = (
                Outcome.NOOP
                if plan.verdict in RESTING_KINDS or plan.verdict is VerdictKind.DONE
                else Outcome.REFUSED
            )
            return ActionResult(
                job_id,
                "recover",
                outcome,
                plan.refusal or "not recoverable",
                plan.from_status,
                plan=plan,
                error=None if outcome is Outcome.NOOP else "NotRecoverable",
            )
        state = self.job(job_id)
        # A plan holds only for the manifest it was made from. Whatever changed it since (another
        # recoverer, an adoption, Logist itself), refuse before anything is signalled or written.
        if state.fingerprint != plan.fingerprint:
            raise JobChanged(job_id)
        state_dir(self.root)  # no action without its audit line: fail before, not after, acting
        if plan.force and plan.signals:
            return self._force_recover(plan, state)
        with JobLock(state.path, job_id):
            return self._write_recovery(plan, state)

    def _write_recovery(self, plan: RecoveryPlan, state: JobState) -> ActionResult:
        """Under the job lock: compare-and-swap on the fingerprint, back up, write, audit."""
        job_id = plan.job_id
        read = read_manifest(state.path / MANIFEST_NAME)
        if read.data is None or read.fingerprint != plan.fingerprint:
            raise JobChanged(job_id)
        data = read.data
        crash_count = state.facts.crash_count + 1
        action_id = secrets.token_hex(8)  # ties the history entry to its audit line
        data["status"] = plan.to_status
        history = data.get("history")
        if not isinstance(history, list):
            history = data["history"] = []
        history.append(
            history_entry(
                "CRASH_RECOVERY",
                previous_status=plan.from_status,
                new_status=plan.to_status,
                reason=plan.reason,
                verdict=str(plan.verdict),
                evidence=plan.evidence,
                operator=self.operator,
                tool=TOOL,
                action_id=action_id,
            )
        )
        data["recovery"] = {
            "crash_count": crash_count,
            "last_recovered_at": now_naive_iso(),
            "last_verdict": str(plan.verdict),
            "last_action_id": action_id,
        }
        if OWNER_KEY in data:
            data[LAST_OWNER_KEY] = data.pop(OWNER_KEY)
        after = write_manifest(state.path, data, previous_raw=read.raw)
        self._scanner.forget(job_id)
        message = f"{plan.from_status} -> {plan.to_status} ({plan.verdict}: {plan.reason})"
        self._audit("recover", job_id, plan, "recovered", read.fingerprint, after, action_id)
        return ActionResult(
            job_id, "recover", Outcome.RECOVERED, message, plan.from_status, plan.to_status, plan
        )

    def _force_recover(self, plan: RecoveryPlan, state: JobState) -> ActionResult:
        """Terminate the plan's verified processes (TERM, grace, KILL), then recover under lock."""
        signalled = terminate_verified(plan.signals, TERMINATE_GRACE_S)
        lock = JobLock(state.path, plan.job_id, timeout=TERMINATE_GRACE_S)
        with lock:
            fresh = self._fresh_under_lock(plan.job_id)
            if fresh.verdict.kind not in (VerdictKind.CRASHED, VerdictKind.STALLED):
                message = (
                    f"after stopping pid(s) {signalled or 'none'} the job is "
                    f"{fresh.facts.status} ({fresh.verdict.kind}): nothing more to do"
                )
                if signalled:  # terminating processes is an action even when nothing is written
                    self._audit("recover", plan.job_id, plan, message)
                return ActionResult(
                    plan.job_id,
                    "recover",
                    Outcome.NOOP,
                    message,
                    plan.from_status,
                    fresh.facts.status,
                    plan,
                )
            replan = replace(
                plan_recovery(fresh, self.policy),
                force=True,
                signals=plan.signals,
                reason=f"{plan.reason}; terminated pid(s) {signalled}",
            )
            return self._write_recovery(replan, fresh)

    def _fresh_under_lock(self, job_id: str) -> JobState:
        """The job as everyone but us sees it: our own hold on the lock is not an owner's."""
        state = self.job(job_id)
        obs = state.observation
        if obs.lock is LockState.HELD and obs.owner is not Liveness.ALIVE:
            obs = replace(obs, lock=LockState.FREE, lock_holders=())
            state = replace(
                state, observation=obs, verdict=classify(obs, self.policy, self._clock())
            )
        return state

    # ---- bulk ----------------------------------------------------------------------------

    def plan_bulk(
        self,
        job_ids: Sequence[str] | None = None,
        *,
        force: bool = False,
        include_inferred: bool = False,
        max_jobs: int = DEFAULT_BULK_CAP,
    ) -> tuple[list[RecoveryPlan], int]:
        """Plans for the eligible jobs (frozen list), capped; returns (plans, how many over cap)."""
        snapshot = self.scan()
        if job_ids is None:
            candidates = [
                j
                for j in snapshot.triage()
                if eligible_for_bulk(j.verdict.kind, include_inferred=include_inferred, force=force)
            ]
        else:
            candidates = []
            for job_id in job_ids:
                validate_job_id(job_id)
                if job_id not in snapshot.jobs:
                    raise JobNotFound(job_id)
                candidates.append(snapshot.jobs[job_id])
        plans = [plan_recovery(j, self.policy, force=force) for j in candidates]
        return plans[:max_jobs], max(0, len(plans) - max_jobs)

    def perform_bulk_recovery(
        self,
        job_ids: Sequence[str] | None = None,
        force: bool = False,
        *,
        include_inferred: bool = False,
        max_jobs: int = DEFAULT_BULK_CAP,
        dry_run: bool = False,
        progress: ProgressCallback | None = None,
        plans: Sequence[RecoveryPlan] | None = None,
    ) -> BulkResult:
        """Recover many jobs on a frozen list, one result each, continuing past failures.

        The request is persisted under `.logist/` first, so `resume_bulk_recovery` can finish an
        interrupted run (jobs already recovered become no-ops).
        """
        over = 0
        if plans is None:
            plans, over = self.plan_bulk(
                job_ids, force=force, include_inferred=include_inferred, max_jobs=max_jobs
            )
        targets = tuple(p.job_id for p in plans)
        if dry_run:
            results = tuple(ActionResult.planned(p) for p in plans)
            return BulkResult(targets, results, True, over)
        return self._run_bulk(plans, force, progress, over, resuming=False)

    def _run_bulk(
        self,
        plans: Sequence[RecoveryPlan],
        force: bool,
        progress: ProgressCallback | None,
        over: int,
        *,
        resuming: bool,
    ) -> BulkResult:
        targets = tuple(p.job_id for p in plans)
        with self._bulk_lock():
            if not resuming and self.pending_bulk_request() is not None:
                raise BulkInProgress(
                    "an interrupted bulk run is pending; finish it first (bulk-recover --resume)"
                )
            self._save_bulk_request(targets, force)
            results = []
            for done, plan in enumerate(plans, 1):
                result = self.apply(plan)
                results.append(result)
                if progress is not None:
                    progress(done, len(plans), result)
            self._clear_bulk_request()
        return BulkResult(targets, tuple(results), False, over)

    @contextlib.contextmanager
    def _bulk_lock(self) -> Iterator[None]:
        """One bulk run at a time per root: they share the persisted request."""
        lock = FileLock(str(state_dir(self.root) / "bulk.lock"), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout as exc:
            raise BulkInProgress("another bulk run is in progress on this root") from exc
        try:
            yield
        finally:
            lock.release()

    def pending_bulk_request(self) -> dict[str, Any] | None:
        path = self.root / ".logist" / BULK_REQUEST
        read = read_manifest(path)
        return read.data

    def resume_bulk_recovery(self, progress: ProgressCallback | None = None) -> BulkResult | None:
        request = self.pending_bulk_request()
        if request is None:
            return None
        targets = [t for t in request.get("targets", []) if isinstance(t, str)]
        force = bool(request.get("force"))
        plans = []
        snapshot = self.scan()
        for job_id in targets:
            if job_id in snapshot.jobs:
                plans.append(plan_recovery(snapshot.jobs[job_id], self.policy, force=force))
        return self._run_bulk(plans, force, progress, 0, resuming=True)

    def _save_bulk_request(self, targets: tuple[str, ...], force: bool) -> None:
        payload = {
            "created_at": now_naive_iso(),
            "operator": self.operator,
            "force": force,
            "targets": list(targets),
        }
        atomic_write_bytes(state_dir(self.root) / BULK_REQUEST, dumps(payload))

    def _clear_bulk_request(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.root / ".logist" / BULK_REQUEST)

    # ---- reattach ------------------------------------------------------------------------

    def reattach_to_running_job(
        self, job_id: str, *, adopt: bool = True, adopt_timeout: float = 5.0
    ) -> ReattachResult:
        """Watch a running job, or adopt a detached one with a new supervisor.

        With `adopt=False` a job that would be adopted is only described (mode "would-adopt"):
        adopting acts, so the CLI asks before it does.
        """
        state = self.job(job_id)
        kind = state.verdict.kind
        record = state.facts.owner or {}
        log_path = self.log_path(state)
        if kind is VerdictKind.RUNNING:
            owner = identity_from_record(record)
            pid = owner.pid if owner else state.observation.owner_pid
            hb = state.verdict.evidence.get("heartbeat_age_s")
            return ReattachResult(
                job_id,
                "watch",
                pid,
                _uptime(pid),
                log_path,
                hb,
                f"watching pid {pid}" if pid else "watching (owner holds the lock)",
                status=state.facts.status,
                verdict=str(kind),
            )
        if kind is VerdictKind.DETACHED or self._reset_while_alive(state):
            if not adopt:
                child = state.observation.child_pid
                return ReattachResult(
                    job_id,
                    "would-adopt",
                    child,
                    _uptime(child),
                    log_path,
                    None,
                    "would start a supervisor to adopt its still-running command"
                    + (f" pid {child}" if child else ""),
                    status=state.facts.status,
                    verdict=str(kind),
                )
            return self._adopt(state, log_path, adopt_timeout)
        raise NotRecoverable(
            f"job {job_id!r} is {kind} ({state.verdict.reason}); only running or detached jobs "
            "can be reattached"
        )

    def _reset_while_alive(self, state: JobState) -> bool:
        if state.verdict.kind not in RESTING_KINDS:
            return False
        read = read_manifest(state.path / MANIFEST_NAME)
        last = read.data.get(LAST_OWNER_KEY) if read.data else None
        child = identity_from_record(last, "child_pid", "child_start_token")
        return child is not None and liveness(child) is Liveness.ALIVE

    def _adopt(self, state: JobState, log_path: str | None, timeout: float) -> ReattachResult:
        job_id = state.job_id
        if not state.location.writable:
            raise OutsideRoot(job_id, state.path)
        logs = state.path / "logs"
        logs.mkdir(exist_ok=True)
        interval = (state.facts.owner or {}).get("heartbeat_interval_s")
        beat = ["--heartbeat", str(interval)] if isinstance(interval, int | float) else []
        with _open_adopt_log(logs) as out:
            supervisor = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "logist",
                    "runner",
                    "adopt",
                    "--root",
                    str(self.root),
                    *beat,
                    job_id,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = self.job(job_id)
            owner = identity_from_record(fresh.facts.owner)
            if owner is not None and owner.pid == supervisor.pid:
                self._audit("reattach", job_id, None, f"adopted by pid {supervisor.pid}")
                child = fresh.observation.child_pid
                return ReattachResult(
                    job_id,
                    "adopt",
                    child,
                    _uptime(child),
                    log_path,
                    None,
                    f"supervisor pid {supervisor.pid} adopted command pid {child}",
                    supervisor.pid,
                    fresh.facts.status,
                    str(fresh.verdict.kind),
                )
            if supervisor.poll() is not None:
                raise NotRecoverable(
                    f"the adopting supervisor exited with status {supervisor.returncode}; "
                    f"see {logs / 'adopt.log'}"
                )
            time.sleep(0.05)
        raise NotRecoverable(f"the adopting supervisor (pid {supervisor.pid}) did not take over")

    # ---- validate ------------------------------------------------------------------------

    def validate_job_consistency(self, job_id: str | None = None) -> list[Finding]:
        """Findings for one job, or for the whole root when `job_id` is None."""
        snapshot = self.scan()
        if job_id is not None:
            validate_job_id(job_id)
            if job_id not in snapshot.jobs:
                raise JobNotFound(job_id)
            jobs = [snapshot.jobs[job_id]]
        else:
            jobs = list(snapshot.jobs.values())
            leftovers = self._root_leftovers()
            if leftovers:  # an interrupted write of the index or of a bulk request
                names = ", ".join(os.path.relpath(p, self.root) for p in leftovers)
                issue = RootIssue(
                    "write-leftovers",
                    f"{len(leftovers)} temp file(s) left by an interrupted write: {names}",
                )
                snapshot = replace(snapshot, root_issues=(*snapshot.root_issues, issue))
        audited = audited_action_ids(self.root)
        disk = {j.job_id: self._disk_facts(j, audited) for j in jobs if j.location.on_disk}
        findings = snapshot_findings(snapshot, disk)
        if job_id is not None:
            findings = [f for f in findings if f.job_id == job_id]
        return findings

    def _root_leftovers(self) -> list[str]:
        """Temp files of interrupted writes outside the job directories (index, bulk request)."""
        now = self._clock()
        found = []
        for directory in (self.root, self.root / STATE_DIR):
            if directory.is_symlink():
                continue
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            found += [
                str(directory / name)
                for name in names
                if name.startswith(TEMP_PREFIX) and _writer_gone(name, directory / name, now)
            ]
        return found

    def quick_findings(self, snapshot: Snapshot) -> list[Finding]:
        """Findings cheap enough for every poll: the snapshot's own, plus a backup look-up for
        corrupt jobs only (rare), so their finding can offer the restore."""
        disk = {
            job.job_id: DiskFacts(has_valid_backup=_newest_valid_backup(job.path) is not None)
            for job in snapshot.jobs.values()
            if not job.observation.manifest_ok and job.location.on_disk
        }
        return snapshot_findings(snapshot, disk)

    def _disk_facts(self, job: JobState, audited: set[str] | None = None) -> DiskFacts:
        """What validation lists on disk for one job; `audited`: the audit log's action ids."""
        now = self._clock()
        leftovers = []
        for directory in (job.path, job.path / ".backups"):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                if name.startswith(TEMP_PREFIX) and _writer_gone(name, directory / name, now):
                    leftovers.append(str(directory / name))
        old_temp = []
        if job.observation.category is not Category.ACTIVE:
            try:
                with os.scandir(job.path / "temp") as it:
                    for entry in it:
                        try:
                            if now - entry.stat(follow_symlinks=False).st_mtime > OLD_TEMP_AGE_S:
                                old_temp.append(entry.path)
                        except OSError:
                            continue
            except OSError:
                pass
        has_backup = not job.observation.manifest_ok and _newest_valid_backup(job.path) is not None
        action_id = job.facts.last_action_id
        missing = audited is not None and action_id is not None and action_id not in audited
        return DiskFacts(has_backup, tuple(leftovers), tuple(old_temp), missing)

    def fix(self, finding: Finding) -> ActionResult:
        """Apply a finding's fix; each fix is an action with an audit line."""
        if finding.fix is None:
            return ActionResult(
                finding.job_id,
                "fix",
                Outcome.REFUSED,
                f"{finding.code}: no automatic fix",
                error="NotRecoverable",
            )
        try:
            state_dir(self.root)  # no action without its audit line: fail before, not after
            message = self._fix(finding)
        except LogistError as exc:
            return failure(finding.job_id, "fix", exc)
        except OSError as exc:
            return ActionResult(
                finding.job_id, "fix", Outcome.FAILED, f"I/O error: {exc}", error=type(exc).__name__
            )
        self._audit(f"fix:{finding.fix}", finding.job_id, None, message)
        return ActionResult(finding.job_id, "fix", Outcome.FIXED, message)

    def _fix(self, finding: Finding) -> str:
        job_id = finding.job_id
        if finding.fix in (FixKind.REINDEX, FixKind.DROP_INDEX_ENTRY):
            assert job_id is not None
            return self._edit_index(job_id, add=finding.fix is FixKind.REINDEX)
        if finding.fix is FixKind.REMOVE_WRITE_LEFTOVERS and job_id is None:
            removed = 0
            for path in self._root_leftovers():
                if _is_inside(self.root, path) and not os.path.islink(path):
                    os.unlink(path)
                    removed += 1
            return f"removed {removed} file(s)"
        assert job_id is not None
        state = self.job(job_id)
        if not state.location.writable:
            raise OutsideRoot(job_id, state.path)
        with JobLock(state.path, job_id):
            if finding.fix is FixKind.RESTORE_BACKUP:
                return self._restore_backup(state)
            if finding.fix is FixKind.RECONCILE_AUDIT:
                return self._reconcile_audit(state)
            fresh = self._disk_facts(state)
            paths = (
                fresh.write_leftovers
                if finding.fix is FixKind.REMOVE_WRITE_LEFTOVERS
                else fresh.old_temp_files
            )
            removed = 0
            for path in paths:
                if (
                    _is_inside(state.path, path)
                    and not os.path.islink(path)
                    and os.path.isfile(path)
                ):
                    os.unlink(path)
                    removed += 1
            return f"removed {removed} file(s)"

    def _reconcile_audit(self, state: JobState) -> str:
        """Append the audit line a killed recoverer did not write, from the history entry that
        it did write (the durable record of the recovery)."""
        read = read_manifest(state.path / MANIFEST_NAME)
        facts = facts_from(read.data) if read.data is not None else None
        action_id = facts.last_action_id if facts is not None else None
        if action_id is None or action_id in audited_action_ids(self.root):
            return "the audit log already has the last recovery"
        history = read.data.get("history") if read.data is not None else None
        entry = next(
            (
                h
                for h in reversed(history if isinstance(history, list) else [])
                if isinstance(h, dict) and h.get("action_id") == action_id
            ),
            None,
        )
        if entry is None:
            raise NotRecoverable(f"job {state.job_id!r}: no history entry for action {action_id}")
        append_audit(
            self.root,
            {
                "operator": entry.get("operator"),
                "pid": None,
                "action": "recover",
                "job_id": state.job_id,
                "verdict": entry.get("verdict"),
                "from_status": entry.get("previous_status"),
                "to_status": entry.get("new_status"),
                "evidence": entry.get("evidence"),
                "fingerprint_before": None,
                "fingerprint_after": None,
                "result": f"recovered at {entry.get('timestamp')} (line reconciled by "
                f"{self.operator} from the history entry)",
                "action_id": action_id,
            },
        )
        return f"appended the audit line of recovery {action_id}"

    def _restore_backup(self, state: JobState) -> str:
        read = read_manifest(state.path / MANIFEST_NAME)
        if read.ok:
            return "manifest is readable again; nothing restored"
        found = _newest_valid_backup(state.path)
        if found is None:
            raise NotRecoverable(f"job {state.job_id!r} has no valid backup")
        backup, data = found
        # keep the broken bytes too: nothing is ever lost
        if read.raw:
            atomic_write_bytes(
                state.path / ".backups" / f"job_manifest_{time.strftime('%Y%m%dT%H%M%S')}"
                f"_{time.time_ns() % 10**9:09d}.corrupt",
                read.raw,
            )
        data.setdefault("history", [])
        if isinstance(data["history"], list):
            data["history"].append(
                history_entry(
                    "MANIFEST_RESTORED", backup=backup.name, operator=self.operator, tool=TOOL
                )
            )
        write_manifest(state.path, data, previous_raw=None)
        self._scanner.forget(state.job_id)
        return f"restored from {backup.name}"

    def _edit_index(self, job_id: str, *, add: bool) -> str:
        index_path = self.root / INDEX_NAME
        with FileLock(str(self.root / ".jobs_index.lock"), timeout=5, thread_local=False):
            try:
                raw = index_path.read_bytes()
                data = json.loads(raw)
            except FileNotFoundError:
                data = {"jobs": {}, "queue": []}
            except ValueError as exc:
                raise NotRecoverable(f"{INDEX_NAME} is not valid JSON; fix it by hand") from exc
            if not isinstance(data, dict) or not isinstance(data.get("jobs", {}), dict):
                raise NotRecoverable(f"{INDEX_NAME} has an unexpected shape; fix it by hand")
            jobs = data.setdefault("jobs", {})
            if add:
                validate_job_id(job_id)
                jobs[job_id] = str(self.root / job_id)
                message = f"added {job_id!r} to the index"
            else:
                jobs.pop(job_id, None)
                queue = data.get("queue")
                if isinstance(queue, list):
                    data["queue"] = [q for q in queue if q != job_id]
                message = f"dropped {job_id!r} from the index"
            atomic_write_bytes(index_path, dumps(data))
        return message

    # ---- health --------------------------------------------------------------------------

    def get_recovery_status_report(self) -> HealthReport:
        return self.status()[0]

    def status(self) -> tuple[HealthReport, list[Finding]]:
        """The health report and the quick findings it was judged on, from one scan (a poll
        needs both; computing the findings twice cost a pass over every job)."""
        try:
            snapshot = self.scan()
        except OSError as exc:
            return build_health_report(self.root, None, [], error=str(exc)), []
        findings = self.quick_findings(snapshot)
        return build_health_report(self.root, snapshot, findings), findings

    # ---- audit ---------------------------------------------------------------------------

    def _audit(
        self,
        action: str,
        job_id: str | None,
        plan: RecoveryPlan | None,
        result: str,
        before: Fingerprint | None = None,
        after: Fingerprint | None = None,
        action_id: str | None = None,
    ) -> None:
        append_audit(
            self.root,
            {
                "operator": self.operator,
                "pid": os.getpid(),
                "action": action,
                "job_id": job_id,
                "verdict": None if plan is None else str(plan.verdict),
                "from_status": None if plan is None else plan.from_status,
                "to_status": None if plan is None else plan.to_status,
                "evidence": None if plan is None else plan.evidence,
                "fingerprint_before": None if before is None else before.to_dict(),
                "fingerprint_after": None if after is None else after.to_dict(),
                "result": result,
                "action_id": action_id,
            },
        )


def _open_adopt_log(logs: Path) -> BinaryIO:
    """The adopting supervisor's output file, never through a symlink (logs/ or the file may
    lead out of the root: found by tests/reliability/test_hostile_roots.py); else /dev/null."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        if logs.is_symlink():
            raise OSError(f"{logs} is a symlink")
        fd = os.open(logs / "adopt.log", flags, 0o644)
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    return os.fdopen(fd, "ab")


def _uptime(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        return max(0.0, time.time() - psutil.Process(pid).create_time())
    except Exception:
        return None


def _writer_gone(name: str, path: Path, now: float) -> bool:
    """A temp file is a leftover when the pid in its name is gone, or it is over a minute old."""
    parts = name.split(".")
    try:
        pid = int(parts[-2])
    except (IndexError, ValueError):
        pid = None
    if pid is not None and not os.path.exists(f"/proc/{pid}"):
        return True
    try:
        return now - os.stat(path, follow_symlinks=False).st_mtime > 60
    except OSError:
        return False


def _newest_valid_backup(job_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    for backup in list_backups(job_dir):
        try:
            raw = backup.read_bytes()
        except OSError:
            continue
        parsed = parse_manifest(raw)
        if parsed.data is not None:
            return backup, parsed.data
    return None


def _is_inside(directory: Path, path: str) -> bool:
    real_dir = os.path.realpath(directory)
    return os.path.realpath(path).startswith(real_dir + os.sep)


def tail_file(path: Path, lines: int, max_bytes: int = 256 * 1024) -> list[str]:
    """The last `lines` lines of a file, reading at most `max_bytes` from its end."""
    if lines <= 0:
        return []  # a [-0:] slice would keep every line
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - max_bytes))
            data = stream.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace")
    return text.splitlines()[-lines:]


__all__ = [
    "ActionResult",
    "BulkResult",
    "JobDetail",
    "JobRecoveryManager",
    "LogChunk",
    "Outcome",
    "ReattachResult",
]
