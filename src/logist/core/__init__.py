"""The recovery backend: the jobs root on disk and the recovery policy. No UI, no printing.

`import logist.core` stays cheap: no Textual, no click.
"""

from ._bulk import BULK_CAP, BulkRequestRefused
from ._errors import (
    BulkInProgress,
    InvalidJobId,
    JobChanged,
    JobNotFound,
    LockBusy,
    LogistError,
    NotAJobsRoot,
    NotRecoverable,
    OutsideRoot,
    PermissionDenied,
    RootNotFound,
)
from ._filter import FilterQuery, JobView, is_glob, job_facets
from ._health import Check, Health, HealthReport
from ._identity import Liveness, ProcessIdentity
from ._journal import WatchStatus
from ._locking import LockState
from ._manifest import LAST_OWNER_KEY, OWNER_KEY, Fingerprint, Problem, ProblemCode, Severity
from ._plans import RecoveryPlan
from ._results import ActionResult, BulkResult, JobDetail, LogChunk, Outcome, ReattachResult
from ._root import not_a_jobs_root
from ._scan import JobFacts, JobState, Snapshot
from ._signals import TERMINATE_GRACE_S
from ._states import DEFAULT_RETRY_CAP, Category, category_of, safe_state
from ._validation import Finding, FixKind
from ._verdicts import SEVERITY_ORDER, Action, Observation, Policy, Verdict, VerdictKind, classify
from .recovery import JobRecoveryManager

_LAZY = {"Coverage", "Wake", "Watching"}
"""Event-driven detection loads inotify (ctypes): only for the watch and the console."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from . import _watching

        return getattr(_watching, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BULK_CAP",
    "DEFAULT_RETRY_CAP",
    "LAST_OWNER_KEY",
    "OWNER_KEY",
    "SEVERITY_ORDER",
    "TERMINATE_GRACE_S",
    "Action",
    "ActionResult",
    "BulkInProgress",
    "BulkRequestRefused",
    "BulkResult",
    "Category",
    "Check",
    "Coverage",
    "FilterQuery",
    "Finding",
    "Fingerprint",
    "FixKind",
    "Health",
    "HealthReport",
    "InvalidJobId",
    "JobChanged",
    "JobDetail",
    "JobFacts",
    "JobNotFound",
    "JobRecoveryManager",
    "JobState",
    "JobView",
    "Liveness",
    "LockBusy",
    "LockState",
    "LogChunk",
    "LogistError",
    "NotAJobsRoot",
    "NotRecoverable",
    "Observation",
    "Outcome",
    "OutsideRoot",
    "PermissionDenied",
    "Policy",
    "Problem",
    "ProblemCode",
    "ProcessIdentity",
    "ReattachResult",
    "RecoveryPlan",
    "RootNotFound",
    "Severity",
    "Snapshot",
    "Verdict",
    "VerdictKind",
    "Wake",
    "WatchStatus",
    "Watching",
    "category_of",
    "classify",
    "is_glob",
    "job_facets",
    "not_a_jobs_root",
    "safe_state",
]
