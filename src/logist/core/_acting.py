"""The one guarded path for every change to a job directory and every signal.

Callers describe what they want (a recovery plan, a restore, files to remove, an index edit, an
adoption); this module re-reads the job and re-judges it (fingerprint AND verdict), confines
every path, checks that the audit log can take the record, holds the job lock, compares and
swaps, writes through the one atomic write, signals only re-verified processes of the
manifest's owner, and appends an audit record of what really happened (the end state read
back, the pids actually signalled). Before issue 8 each action re-implemented a different
subset of these steps, and every defect found was a step one path lacked (git's lockfile API
and Kubernetes' resourceVersion are the models).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._audit import append_audit, audited_action_ids, check_audit_writable
from ._errors import JobChanged, LockBusy, NotRecoverable, OutsideRoot
from ._identity import Liveness, identity_from_record
from ._locking import JobLock, LockState
from ._manifest import (
    BACKUP_DIR,
    LAST_OWNER_KEY,
    MANIFEST_NAME,
    OWNER_KEY,
    Fingerprint,
    ProblemCode,
    atomic_write_bytes,
    dumps,
    history_entry,
    list_backups,
    now_naive_iso,
    read_manifest,
    write_manifest,
)
from ._plans import RecoveryPlan, plan_recovery
from ._results import ActionResult, Outcome
from ._root import INDEX_NAME, INDEX_SIZE_CAP, validate_job_id
from ._safeio import UnsafeFile, confined, read_regular, require_confined
from ._scan import JobState, facts_from
from ._signals import TERMINATE_GRACE_S, process_uid, terminate_verified
from ._verdicts import RESTING_KINDS, Policy, VerdictKind, classify

TOOL = "logist-recovery"
INDEX_LOCK_NAME = ".jobs_index.lock"
RESTORABLE_CODES = frozenset(
    {
        ProblemCode.MISSING,
        ProblemCode.EMPTY,
        ProblemCode.INVALID_UTF8,
        ProblemCode.INVALID_JSON,
        ProblemCode.TOO_DEEP,
        ProblemCode.NOT_OBJECT,
    }
)
"""Manifest problems a backup may replace: the bytes do not parse (and are kept first). Never a
manifest too large to read, one we may not read, or a special file (issue 8: a valid 13 MB
manifest was replaced by an old backup)."""


_DEATH_CONFIRMS = frozenset(
    {VerdictKind.HUNG, VerdictKind.DETACHED, VerdictKind.STALLED, VerdictKind.REMOTE_STALE}
)
"""Planned verdicts a fresh `crashed` only confirms: the job got no more alive since."""


@dataclass(frozen=True, slots=True)
class Effect:
    """What an action really did, for its result and its audit record."""

    message: str
    outcome: Outcome
    to_status: str | None = None
    before: Fingerprint | None = None
    after: Fingerprint | None = None
    action_id: str | None = None
    signalled: tuple[int, ...] = ()
    summary: str | None = None
    """The audit line's short result, when it differs from the message ("recovered")."""


class Acting:
    """The guarded path of one manager: it alone writes into job directories and signals."""

    def __init__(
        self,
        root: Path,
        policy: Policy,
        operator: str,
        read_job: Callable[[str], JobState],
        forget: Callable[[str], None],
        clock: Callable[[], float],
    ) -> None:
        self.root = root
        self.policy = policy
        self.operator = operator
        self._read_job = read_job
        self._forget = forget
        self._clock = clock

    # ---- the guard -------------------------------------------------------------------------

    def fresh(self, job_id: str) -> JobState:
        """The job re-read now, confined: refused when it leads out of the root."""
        state = self._read_job(job_id)
        if not state.location.writable:
            raise OutsideRoot(job_id, state.path)
        require_confined(job_id, self.root, state.path)
        return state

    @contextlib.contextmanager
    def _held(self, job_id: str) -> Iterator[JobState]:
        """Audit log able to take a record, job confined, job lock held: the state under it."""
        check_audit_writable(self.root)
        state = self.fresh(job_id)
        with JobLock(state.path, job_id):
            yield state

    def _record(
        self,
        action: str,
        job_id: str | None,
        effect: Effect,
        plan: RecoveryPlan | None = None,
        actor: str | None = None,
    ) -> None:
        append_audit(
            self.root,
            {
                "operator": self.operator,
                "actor": actor,
                "pid": os.getpid(),
                "action": action,
                "job_id": job_id,
                "verdict": None if plan is None else str(plan.verdict),
                "from_status": None if plan is None else plan.from_status,
                "to_status": effect.to_status,
                "evidence": None if plan is None else plan.evidence,
                "signalled": list(effect.signalled),
                "fingerprint_before": None if effect.before is None else effect.before.to_dict(),
                "fingerprint_after": None if effect.after is None else effect.after.to_dict(),
                "result": effect.summary or effect.message,
                "action_id": effect.action_id,
            },
        )

    def _end_status(self, job_dir: Path) -> str | None:
        """The status on disk now: what the audit says the action left."""
        read = read_manifest(job_dir / MANIFEST_NAME)
        status = read.data.get("status") if read.data is not None else None
        return status if isinstance(status, str) else None

    # ---- recover ---------------------------------------------------------------------------

    def recover(self, plan: RecoveryPlan, *, actor: str | None = None) -> ActionResult:
        """Apply a plan made earlier, only while the job is still what the plan was made for."""
        job_id = plan.job_id
        if not plan.allowed:
            noop = plan.verdict in RESTING_KINDS or plan.verdict is VerdictKind.DONE
            return ActionResult(
                job_id,
                "recover",
                Outcome.NOOP if noop else Outcome.REFUSED,
                plan.refusal or "not recoverable",
                plan.from_status,
                plan=plan,
                error=None if noop else "NotRecoverable",
            )
        state = self.fresh(job_id)
        self._rejudge(plan, state)
        check_audit_writable(self.root)  # no action without its audit line: fail before acting
        if plan.force and plan.signals:
            effect = self._force(plan, state, actor)
        else:
            with JobLock(state.path, job_id):
                effect = self._write_recovery(plan, state, actor)
        self._record("recover", job_id, effect, plan, actor)
        return ActionResult(
            job_id,
            "recover",
            effect.outcome,
            effect.message,
            plan.from_status,
            effect.to_status,
            plan,
        )

    def _rejudge(self, plan: RecoveryPlan, state: JobState) -> None:
        """A plan holds only for the manifest AND the verdict it was made from.

        The fingerprint alone missed a hung job that came back to life (SIGSTOP, plan, SIGCONT,
        apply) and a stalled job with new log activity: neither changes the manifest, and force
        killed a live job (issue 8). The heartbeat and the logs count through the verdict.
        """
        if state.fingerprint != plan.fingerprint:
            raise JobChanged(plan.job_id)
        if state.observation.lock is LockState.HELD and not plan.force:
            holders = state.observation.lock_holders
            raise LockBusy(plan.job_id, holders[0] if holders else None)
        now = state.verdict.kind
        if now is VerdictKind.CRASHED and plan.verdict in _DEATH_CONFIRMS:
            return  # died since: proof replaces inference, and every signal is re-verified
        if now is not plan.verdict:
            raise JobChanged(
                plan.job_id,
                f"was {plan.verdict} when planned and is {now} now ({state.verdict.reason})",
            )
        if plan.force:
            fresh = plan_recovery(state, self.policy, force=True)
            if fresh.signals != plan.signals:
                raise JobChanged(plan.job_id, "has other processes than when planned")

    def _force(self, plan: RecoveryPlan, state: JobState, actor: str | None) -> Effect:
        """Terminate the plan's verified processes (TERM, grace, KILL), then recover under lock."""
        owner_uid = self._manifest_owner(state)
        for identity in plan.signals:  # a manifest planted by another user aims at nobody
            uid = process_uid(identity.pid)
            if uid is not None and uid != owner_uid:
                raise NotRecoverable(
                    f"job {plan.job_id!r}: pid {identity.pid} runs as uid {uid}, the manifest "
                    f"belongs to uid {owner_uid}: not signalled"
                )
        command = identity_from_record(state.facts.owner, "child_pid", "child_start_token")
        owners = [s for s in plan.signals if s != command]
        signalled = tuple(
            terminate_verified(owners, TERMINATE_GRACE_S, command=command, uid=owner_uid)
        )
        with JobLock(state.path, plan.job_id, timeout=TERMINATE_GRACE_S):
            fresh = self._fresh_under_lock(plan.job_id)
            if fresh.verdict.kind not in (VerdictKind.CRASHED, VerdictKind.STALLED):
                # e.g. the runner got the TERM and recorded INTERVENTION_REQUIRED on its way out
                return Effect(
                    f"after stopping pid(s) {list(signalled) or 'none'} the job is "
                    f"{fresh.facts.status} ({fresh.verdict.kind}): nothing more to do",
                    Outcome.NOOP,
                    self._end_status(fresh.path),
                    signalled=signalled,
                )
            replan = replace(
                plan_recovery(fresh, self.policy),
                force=True,
                signals=plan.signals,
                reason=f"{plan.reason}; terminated pid(s) {list(signalled)}",
            )
            return replace(self._write_recovery(replan, fresh, actor), signalled=signalled)

    def _manifest_owner(self, state: JobState) -> int:
        try:
            return os.lstat(state.path / MANIFEST_NAME).st_uid
        except OSError as exc:
            raise JobChanged(state.job_id, "lost its manifest") from exc

    def _fresh_under_lock(self, job_id: str) -> JobState:
        """The job as everyone but us sees it: our own hold on the lock is not an owner's."""
        state = self._read_job(job_id)
        obs = state.observation
        if obs.lock is LockState.HELD and obs.owner is not Liveness.ALIVE:
            obs = replace(obs, lock=LockState.FREE, lock_holders=())
            state = replace(state, evidence=obs, verdict=classify(obs, self.policy, self._clock()))
        return state

    def _write_recovery(self, plan: RecoveryPlan, state: JobState, actor: str | None) -> Effect:
        """Under the job lock: compare-and-swap on the fingerprint, back up, write."""
        job_id = plan.job_id
        read = read_manifest(state.path / MANIFEST_NAME)
        if read.data is None or read.fingerprint != plan.fingerprint:
            raise JobChanged(job_id)
        data = read.data
        action_id = secrets.token_hex(8)  # ties the history entry to its audit line
        data["status"] = plan.to_status
        history = data.get("history")
        if not isinstance(history, list):
            history = data["history"] = []
        extra = {} if actor is None else {"actor": actor}
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
                **extra,
            )
        )
        data["recovery"] = {
            "crash_count": state.facts.crash_count + 1,
            "last_recovered_at": now_naive_iso(),
            "last_verdict": str(plan.verdict),
            "last_action_id": action_id,
        }
        if OWNER_KEY in data:
            data[LAST_OWNER_KEY] = data.pop(OWNER_KEY)
        after = write_manifest(state.path, data, previous_raw=read.raw)
        self._forget(job_id)
        end = self._end_status(state.path)
        return Effect(
            f"{plan.from_status} -> {end} ({plan.verdict}: {plan.reason})",
            Outcome.RECOVERED,
            end,
            read.fingerprint,
            after,
            action_id,
            summary="recovered",
        )

    # ---- fixes -----------------------------------------------------------------------------

    def restore_backup(self, job_id: str) -> ActionResult:
        """Restore the newest valid backup over a manifest whose bytes do not parse, keeping
        those bytes first (`.corrupt`)."""
        with self._held(job_id) as state:
            backups = state.path / BACKUP_DIR
            require_confined(job_id, state.path, backups)
            read = read_manifest(state.path / MANIFEST_NAME)
            if read.ok:
                return self._fixed(
                    "restore-backup",
                    job_id,
                    "manifest is readable again; nothing restored",
                    Outcome.NOOP,
                )
            problem = read.problems[0]
            if not restorable(state.path, problem.code):
                raise NotRecoverable(
                    f"job {job_id!r}: {problem.message}; never replaced by a backup "
                    "(its bytes may be valid): inspect it by hand"
                )
            found = newest_valid_backup(state.path)
            if found is None:
                raise NotRecoverable(f"job {job_id!r} has no valid backup")
            backup, data = found
            if read.raw:  # nothing is ever lost: the broken bytes first
                kept = backups / (
                    f"job_manifest_{time.strftime('%Y%m%dT%H%M%S')}"
                    f"_{time.time_ns() % 10**9:09d}.corrupt"
                )
                atomic_write_bytes(kept, read.raw)
            if isinstance(data.setdefault("history", []), list):
                data["history"].append(
                    history_entry(
                        "MANIFEST_RESTORED", backup=backup.name, operator=self.operator, tool=TOOL
                    )
                )
            after = write_manifest(state.path, data, previous_raw=None)
            self._forget(job_id)
            effect = Effect(
                f"restored from {backup.name}",
                Outcome.FIXED,
                self._end_status(state.path),
                read.fingerprint,
                after,
            )
            self._record("fix:restore-backup", job_id, effect)
        return ActionResult(
            job_id, "fix", effect.outcome, effect.message, to_status=effect.to_status
        )

    def remove_files(
        self, job_id: str | None, kind: str, paths_now: Callable[[JobState | None], Iterable[str]]
    ) -> ActionResult:
        """Remove the regular files `paths_now` names when asked under the lock (re-listed
        fresh), each confined to the job directory (or the root for `job_id` None)."""
        if job_id is None:
            check_audit_writable(self.root)
            removed = _unlink_confined(self.root, paths_now(None))
            return self._fixed(kind, None, f"removed {removed} file(s)")
        with self._held(job_id) as state:
            removed = _unlink_confined(state.path, paths_now(state))
            return self._fixed(kind, job_id, f"removed {removed} file(s)")

    def reconcile_audit(self, job_id: str) -> ActionResult:
        """Append the audit line a killed recoverer did not write, from the history entry that
        it did write (the durable record of the recovery)."""
        with self._held(job_id) as state:
            read = read_manifest(state.path / MANIFEST_NAME)
            facts = facts_from(read.data) if read.data is not None else None
            action_id = facts.last_action_id if facts is not None else None
            if action_id is None or action_id in audited_action_ids(self.root):
                return self._fixed(
                    "reconcile-audit",
                    job_id,
                    "the audit log already has the last recovery",
                    Outcome.NOOP,
                )
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
                raise NotRecoverable(f"job {job_id!r}: no history entry for action {action_id}")
            append_audit(
                self.root,
                {
                    "operator": entry.get("operator"),
                    "pid": None,
                    "action": "recover",
                    "job_id": job_id,
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
            message = f"appended the audit line of recovery {action_id}"
            return self._fixed("reconcile-audit", job_id, message, record=False)

    def edit_index(self, job_id: str, *, add: bool) -> ActionResult:
        """Add or drop one job in `jobs_index.json`, under the index lock."""
        check_audit_writable(self.root)
        index_path = self.root / INDEX_NAME
        lock_path = self.root / INDEX_LOCK_NAME
        for path in (index_path, lock_path):
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISREG(os.lstat(path).st_mode):  # filelock would follow or block
                    raise NotRecoverable(f"{path.name} is not a regular file; fix it by hand")
        from filelock import FileLock  # here: 18 ms of import every `logist status` skips

        with FileLock(str(lock_path), timeout=5, thread_local=False):
            try:
                data = json.loads(read_regular(index_path, INDEX_SIZE_CAP))
            except FileNotFoundError:
                data = {"jobs": {}, "queue": []}
            except UnsafeFile as exc:
                raise NotRecoverable(f"{exc}; fix it by hand") from exc
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
            kind = "reindex" if add else "drop-index-entry"
            return self._fixed(kind, job_id, message)

    def _fixed(
        self,
        kind: str,
        job_id: str | None,
        message: str,
        outcome: Outcome = Outcome.FIXED,
        *,
        record: bool = True,
    ) -> ActionResult:
        if record and outcome is not Outcome.NOOP:
            self._record(f"fix:{kind}", job_id, Effect(message, outcome))
        return ActionResult(job_id, "fix", outcome, message)

    # ---- adoption --------------------------------------------------------------------------

    def adopt(
        self, job_id: str, start: Callable[[JobState], int], wait: Callable[[int], str]
    ) -> tuple[JobState, str]:
        """Start an adopting supervisor for a confined job whose audit log can take the record;
        `wait` returns what it did once it holds the job; the record says so. (`start` opens
        the supervisor's output only as a confined regular file, else /dev/null.)"""
        check_audit_writable(self.root)
        state = self.fresh(job_id)
        pid = start(state)
        message = wait(pid)
        self._record("reattach", job_id, Effect(message, Outcome.ADOPTED))
        return state, message


def restorable(job_dir: Path, code: ProblemCode) -> bool:
    """Whether a backup may replace the manifest: its bytes do not parse, or it is a symlink
    (only the link is replaced; its target is never touched)."""
    return code in RESTORABLE_CODES or os.path.islink(job_dir / MANIFEST_NAME)


def newest_valid_backup(job_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest backup that parses, read safely (a FIFO among them hung `status`)."""
    if not confined(job_dir, job_dir / BACKUP_DIR):
        return None
    for backup in list_backups(job_dir):
        read = read_manifest(backup)
        if read.data is not None:
            return backup, read.data
    return None


def _unlink_confined(base: Path, paths: Iterable[str]) -> int:
    removed = 0
    for path in paths:
        if not confined(base, path):
            continue
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                removed += 1
    return removed


__all__ = ["Acting", "newest_valid_backup"]
