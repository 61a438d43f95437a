"""JobRecoveryManager: the one API the CLI and the console use, a thin facade.

Reading is `Scanner` (`_scan`); deciding is pure (`classify`, `plan_recovery`,
`snapshot_findings`); every change and every signal goes through the acting path (`_acting`);
bulk runs, fixes, reattach and logs each live in a module of their own. It never prints and
never imports a UI.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import _bulk, _fixes, _logs, _reattach
from ._acting import Acting
from ._audit import operator_name, read_audit
from ._bulk import BULK_CAP
from ._errors import JobNotFound, LogistError, NotRecoverable, PermissionDenied
from ._files_cache import JobFilesReader
from ._health import HealthReport, build_health_report
from ._journal import WatchStatus, read_brake, read_events, watch_status, write_brake
from ._manifest import MANIFEST_NAME, read_manifest
from ._plans import RecoveryPlan, plan_recovery
from ._quick_status import QuickStatus
from ._recorded import JobFiles, errors_in, job_files
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
from ._root import index_facts, read_index, resolve_root, validate_job_id
from ._scan import JobState, Scanner, Snapshot
from ._validation import Finding
from ._verdicts import Policy, VerdictKind


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
        self._scan_cache = scan_cache
        self._scan_lock = threading.Lock()
        self._last: Snapshot | None = None
        self._quick = QuickStatus()
        self._acting = Acting(
            self.root, self.policy, self.operator, self.job, self._scanner.forget, clock
        )

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

    def save_scan_cache_later(self) -> Callable[[], None]:
        """Let scans leave the scan cache unwritten; returns what writes it. A command prints
        first and saves after (`logist jobs` saves from a child once its output is out)."""
        self._scanner.defer_persist = True
        return self._scanner.persist_pending

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

    def rejudge(self, job_ids: frozenset[str]) -> Snapshot:
        """The last whole snapshot with these jobs judged again now, as a whole scan would
        (gone ones dropped): what a light tick shows, when events and `Watching.due` say
        nothing else changed."""
        last = self.last_snapshot()
        jobs = last.jobs
        with self._scan_lock:
            now = self._clock()
            judged = self._scanner.rejudge(job_ids, now)
            # a copy of every job only when one changed (~10 ms at 100,000 jobs): a tick that
            # learned nothing hands the same jobs on
            if any(jobs.get(job_id) is not state for job_id, state in judged.items()):
                jobs = dict(jobs)
                for job_id, state in judged.items():
                    if state is None:
                        jobs.pop(job_id, None)
                    else:
                        jobs[job_id] = state
            if self._last is not last:
                return self._last or last  # a whole scan landed meanwhile: it is newer
            if jobs is not last.jobs:
                self._scanner.follow(last.jobs, jobs, judged)
            self._last = replace(last, taken_at=now, jobs=jobs)
            return self._last

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
        tail = (
            tuple(_logs.tail_file(Path(log_path), log_lines)) if log_path and log_lines > 0 else ()
        )
        force_plan = (
            plan_recovery(state, self.policy, force=True)
            if state.verdict.kind in (VerdictKind.HUNG, VerdictKind.DETACHED)
            else None
        )
        plan = plan_recovery(state, self.policy)
        return JobDetail(
            state,
            history,
            plan,
            log_path,
            tail,
            force_plan,
            errors_in(history),
            job_files(state.location.directory),
        )

    def job_files(self, states: Iterable[JobState]) -> dict[str, JobFiles]:
        """Each job's backup count, `latest-outcome.json` and workspace state, read now; with
        `scan_cache`, which of them a directory holds is remembered by its stat
        (`_files_cache`)."""
        reader = JobFilesReader(os.path.realpath(self.root), persistent=self._scan_cache)
        found = {state.job_id: reader.read(state.location.directory) for state in states}
        reader.save()
        return found

    def archived_jobs(self) -> tuple[dict[str, Any], ...]:
        """The original's archived jobs, read now: its index's `archived_jobs`, then the
        `backups/*.zip` of cleaned-up jobs (the console's Archived screen)."""
        return index_facts(self.root, read_index(self.root)).archived

    def log_path(self, state: JobState) -> str | None:
        """The job's log, only a regular file confined to the job directory."""
        return _logs.log_path(state)

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

    def follow_events(self, quiet: Callable[[], frozenset[str]] | None) -> None:
        """Let scans skip re-probing the jobs an event source vouches for (`Watching.quiet`):
        a console poll of 1,000 running jobs then costs about half the CPU."""
        self._scanner.quiet = quiet

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
        self, job_id: str, offset: int | None = None, *, max_bytes: int = _logs.LOG_READ_CAP
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
        return _logs.read_log(path, offset, max_bytes)

    # ---- recover -------------------------------------------------------------------------

    def plan(self, job_id: str, *, force: bool = False) -> RecoveryPlan:
        """A plan from fresh evidence (a force plan names each process's command line)."""
        return plan_recovery(self.job(job_id), self.policy, force=force)

    def recover_crashed_job(
        self, job_id: str, force: bool = False, *, actor: str | None = None
    ) -> ActionResult:
        """Plan from fresh evidence and apply; refuses live jobs unless `force`."""
        try:
            plan = self.plan(job_id, force=force)
        except LogistError as exc:
            return failure(job_id, "recover", exc)
        return self.apply(plan, actor=actor)

    def apply(self, plan: RecoveryPlan, *, actor: str | None = None) -> ActionResult:
        """Apply a plan made earlier; the acting path re-checks it against fresh state first.

        `actor` names an unattended caller (e.g. "watch") in the history entry and audit line.
        """
        return _guarded(
            plan.job_id, "recover", lambda: self._acting.recover(plan, actor=actor), plan
        )

    # ---- bulk ----------------------------------------------------------------------------

    def plan_bulk(
        self,
        job_ids: Sequence[str] | None = None,
        *,
        force: bool = False,
        include_inferred: bool = False,
        max_jobs: int = BULK_CAP,
    ) -> tuple[list[RecoveryPlan], int]:
        """Plans for the eligible jobs (frozen list), capped; returns (plans, how many over cap)."""
        return _bulk.plan_bulk(
            self.scan(),
            self.policy,
            job_ids,
            force=force,
            include_inferred=include_inferred,
            max_jobs=max_jobs,
        )

    def perform_bulk_recovery(
        self,
        job_ids: Sequence[str] | None = None,
        force: bool = False,
        *,
        include_inferred: bool = False,
        max_jobs: int = BULK_CAP,
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
            return BulkResult(targets, tuple(ActionResult.planned(p) for p in plans), True, over)
        results = _bulk.run_bulk(
            self.root, self.operator, plans, self.apply, progress, force=force, resuming=False
        )
        return BulkResult(targets, results, False, over)

    def pending_bulk_request(self) -> dict[str, Any] | None:
        """The interrupted run's request (BulkRequestRefused when another user or tool wrote
        it)."""
        return _bulk.load_request(self.root)

    def resume_bulk_recovery(
        self, progress: ProgressCallback | None = None, *, dry_run: bool = False
    ) -> BulkResult | None:
        """Finish an interrupted bulk run, never beyond what its request recorded."""
        request = self.pending_bulk_request()
        if request is None:
            return None
        plans = _bulk.resume_plans(request, self.scan(), self.policy)
        targets = tuple(p.job_id for p in plans)
        if dry_run:
            return BulkResult(targets, tuple(ActionResult.planned(p) for p in plans), True)
        results = _bulk.run_bulk(
            self.root,
            self.operator,
            plans,
            self.apply,
            progress,
            force=request.get("force") is True,
            resuming=True,
        )
        return BulkResult(targets, results, False)

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
        log_path = self.log_path(state)
        if kind is VerdictKind.RUNNING:
            return _reattach.watch(state, log_path)
        if kind is VerdictKind.DETACHED or _reattach.reset_while_alive(state):
            if not adopt:
                return _reattach.would_adopt(state, log_path)
            return _reattach.adopt(self._acting, self.root, job_id, log_path, adopt_timeout)
        raise NotRecoverable(
            f"job {job_id!r} is {kind} ({state.verdict.reason}); only running or detached jobs "
            "can be reattached"
        )

    # ---- validate ------------------------------------------------------------------------

    def validate_job_consistency(self, job_id: str | None = None) -> list[Finding]:
        """Findings for one job, or for the whole root when `job_id` is None."""
        return _fixes.findings(self.scan(), self.root, self._clock(), job_id)

    def quick_findings(self, snapshot: Snapshot) -> list[Finding]:
        """Findings cheap enough for every poll (a backup look-up for corrupt jobs only); of a
        whole snapshot, made again only for the jobs whose state changed (`_quick_status`)."""
        if not snapshot.complete:  # a first look: not to be kept as the jobs of the root
            return _fixes.quick_findings(snapshot)
        return self._quick.update(snapshot)[0]

    def fix(self, finding: Finding) -> ActionResult:
        """Apply a finding's fix; each fix is an action with an audit line."""
        return _guarded(
            finding.job_id, "fix", lambda: _fixes.apply_fix(self._acting, finding, self._clock())
        )

    # ---- health --------------------------------------------------------------------------

    def get_recovery_status_report(self) -> HealthReport:
        return self.status()[0]

    def status(self, snapshot: Snapshot | None = None) -> tuple[HealthReport, list[Finding]]:
        """The health report and the quick findings it was judged on, from one scan (a poll
        needs both; computing the findings twice cost a pass over every job). `snapshot`:
        judge that one (a light tick's `rejudge`) instead of scanning."""
        try:
            snapshot = snapshot or self.scan()
        except OSError as exc:
            return build_health_report(self.root, None, [], error=str(exc)), []
        if not snapshot.complete:
            findings = _fixes.quick_findings(snapshot)
            return build_health_report(self.root, snapshot, findings), findings
        findings, tally = self._quick.update(snapshot)
        return build_health_report(self.root, snapshot, findings, tally=tally), findings


def _guarded(
    job_id: str | None,
    action: str,
    act: Callable[[], ActionResult],
    plan: RecoveryPlan | None = None,
) -> ActionResult:
    """Errors of an action as its result (refused or failed), never an exception."""
    try:
        return act()
    except LogistError as exc:
        return failure(job_id, action, exc, plan)
    except PermissionError as exc:
        return failure(job_id, action, PermissionDenied(str(exc)), plan)
    except OSError as exc:
        return ActionResult(
            job_id,
            action,
            Outcome.FAILED,
            f"I/O error: {exc}",
            plan=plan,
            error=type(exc).__name__,
        )


__all__ = [
    "ActionResult",
    "BulkResult",
    "JobDetail",
    "JobRecoveryManager",
    "LogChunk",
    "Outcome",
    "ReattachResult",
]
