"""The recovery backend: the jobs root on disk and the recovery policy. No UI, no printing.

`import logist.core` is nearly free: each public name is imported from its module on first use
(PEP 562), so the runner, which supervises a job for hours, loads only the modules supervising
needs (identity, locking, the atomic write), not the scanner, the verdicts and the recovery
manager (tests/test_import_hygiene.py holds it to its list). No Textual, no click, ever.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing into the runner's supervisor

_EXPORTS: dict[str, str] = {
    "BULK_CAP": "_bulk",
    "BulkRequestRefused": "_bulk",
    "BulkInProgress": "_errors",
    "InvalidJobId": "_errors",
    "JobChanged": "_errors",
    "JobNotFound": "_errors",
    "LockBusy": "_errors",
    "LogistError": "_errors",
    "NotAJobsRoot": "_errors",
    "NotRecoverable": "_errors",
    "OutsideRoot": "_errors",
    "PermissionDenied": "_errors",
    "RootNotFound": "_errors",
    "FilterQuery": "_filter",
    "JobView": "_filter",
    "is_glob": "_filter",
    "job_facets": "_filter",
    "Check": "_health",
    "Health": "_health",
    "HealthReport": "_health",
    "Liveness": "_identity",
    "ProcessIdentity": "_identity",
    "WatchStatus": "_journal",
    "LockState": "_locking",
    "LAST_OWNER_KEY": "_manifest",
    "OWNER_KEY": "_manifest",
    "Fingerprint": "_manifest",
    "Problem": "_manifest",
    "ProblemCode": "_manifest",
    "Severity": "_manifest",
    "RecoveryPlan": "_plans",
    "ActionResult": "_results",
    "BulkResult": "_results",
    "JobDetail": "_results",
    "LogChunk": "_results",
    "Outcome": "_results",
    "ReattachResult": "_results",
    "not_a_jobs_root": "_locate",
    "JobFacts": "_scan",
    "JobState": "_scan",
    "Snapshot": "_scan",
    "TERMINATE_GRACE_S": "_signals",
    "DEFAULT_RETRY_CAP": "_states",
    "Category": "_states",
    "category_of": "_states",
    "safe_state": "_states",
    "Finding": "_validation",
    "FixKind": "_validation",
    "SEVERITY_ORDER": "_verdicts",
    "TRIAGE_KINDS": "_verdicts",
    "Action": "_verdicts",
    "Observation": "_verdicts",
    "Policy": "_verdicts",
    "Verdict": "_verdicts",
    "VerdictKind": "_verdicts",
    "classify": "_verdicts",
    "JobRecoveryManager": "recovery",
    "Coverage": "_watching",
    "Wake": "_watching",
    "Watching": "_watching",
}
"""Public name -> the private module that defines it."""


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # here: the runner's supervisor never gets here

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # the same names, for type checkers and editors
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
    from ._locate import not_a_jobs_root
    from ._locking import LockState
    from ._manifest import LAST_OWNER_KEY, OWNER_KEY, Fingerprint, Problem, ProblemCode, Severity
    from ._plans import RecoveryPlan
    from ._results import ActionResult, BulkResult, JobDetail, LogChunk, Outcome, ReattachResult
    from ._scan import JobFacts, JobState, Snapshot
    from ._signals import TERMINATE_GRACE_S
    from ._states import DEFAULT_RETRY_CAP, Category, category_of, safe_state
    from ._validation import Finding, FixKind
    from ._verdicts import (
        SEVERITY_ORDER,
        TRIAGE_KINDS,
        Action,
        Observation,
        Policy,
        Verdict,
        VerdictKind,
        classify,
    )
    from ._watching import Coverage, Wake, Watching
    from .recovery import JobRecoveryManager

__all__ = [
    "BULK_CAP",
    "DEFAULT_RETRY_CAP",
    "LAST_OWNER_KEY",
    "OWNER_KEY",
    "SEVERITY_ORDER",
    "TERMINATE_GRACE_S",
    "TRIAGE_KINDS",
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
