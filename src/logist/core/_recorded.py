"""What the original Logist records about a job beyond its state, read from the manifest (pure)
and from the job directory (one listing, then only the files it holds).

Shown by the detail view and `logist jobs --json`, so an operator sees what Logist itself knows:
its runner and agent names, its budget warning level, token totals and steps from the history,
the message of `JOB_CREATED`, the errors its job processor classified, and the recoveries it
(or we) wrote, which the retry cap counts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ._safeio import UnsafeFile, read_regular

DEFAULT_WARNING_PERCENTAGE = 75.0
"""The original's budget warning level when a job sets none (its `BudgetThresholds`)."""
RECOVERY_EVENTS = frozenset({"CRASH_RECOVERY", "AUTOMATIC_RECOVERY"})
"""History events of a recovery, the original's and ours: the retry cap counts them all."""
STEP_ACTIONS = frozenset({"COMPLETED", "STUCK", "RETRY"})
"""The outcome of one step in the original's history (an agent's `action`)."""
_ERROR_EVENTS = frozenset({"EXECUTION_ERROR", "ERROR"})
_NOTABLE_EVENTS = RECOVERY_EVENTS | _ERROR_EVENTS | {"JOB_CREATED"}
_CLASSIFICATION = (
    "severity",
    "category",
    "user_message",
    "suggested_action",
    "correlation_id",
    "can_retry",
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """One `EXECUTION_ERROR` (or `ERROR`) history entry of the original's job processor."""

    timestamp: str | None
    message: str | None
    description: str | None
    classification: tuple[tuple[str, Any], ...] = ()
    """(key, value) for severity, category, user_message, suggested_action, correlation_id,
    can_retry: whichever the entry holds."""

    @classmethod
    def of(cls, entry: dict[str, Any]) -> ErrorRecord:
        found = entry.get("error_classification")
        raw = found if isinstance(found, dict) else {}
        if isinstance(found, str):  # older entries name the class only
            raw = {"category": found}
        classification = tuple((k, raw[k]) for k in _CLASSIFICATION if raw.get(k) is not None)
        return cls(
            _text(entry.get("timestamp")),
            _text(entry.get("error_message")) or _text(entry.get("reason")),
            _text(entry.get("description")),
            classification,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "message": self.message,
            "description": self.description,
            "classification": dict(self.classification),
        }


@dataclass(frozen=True, slots=True)
class Recorded:
    """The original's own records of a job (one pass over its manifest)."""

    runner: str | None = None
    """The original's runner name (`podman`, `direct`), never our owner record."""
    agent: str | None = None
    warning_percentage: float = DEFAULT_WARNING_PERCENTAGE
    tokens: int | None = None
    """Total tokens (input + output + cache read) of the history's step metrics."""
    steps: int = 0
    """Steps in the history (entries whose `action` is a step outcome)."""
    created_message: str | None = None
    last_error: ErrorRecord | None = None
    errors: int = 0
    recoveries: int = 0
    """CRASH_RECOVERY and AUTOMATIC_RECOVERY entries, whoever wrote them."""

    def as_row(self) -> tuple[Any, ...]:
        """Plain tuples (for the persistent scan cache, which stores marshal data only)."""
        error = self.last_error
        return (
            self.runner,
            self.agent,
            self.warning_percentage,
            self.tokens,
            self.steps,
            self.created_message,
            None
            if error is None
            else (error.timestamp, error.message, error.description, error.classification),
            self.errors,
            self.recoveries,
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Recorded:
        if row == _NOTHING_ROW:
            return NOTHING_RECORDED  # one shared instance, as a fresh read gives
        *head, error, errors, recoveries = row
        return cls(
            *head,
            None if error is None else ErrorRecord(*error[:3], tuple(map(tuple, error[3]))),
            errors,
            recoveries,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "runner": self.runner,
            "agent": self.agent,
            "warning_percentage": self.warning_percentage,
            "tokens": self.tokens,
            "steps_in_history": self.steps,
            "created_message": self.created_message,
            "errors": self.errors,
            "last_error": None if self.last_error is None else self.last_error.to_dict(),
            "recoveries": self.recoveries,
        }


NOTHING_RECORDED = Recorded()
_NOTHING_ROW = NOTHING_RECORDED.as_row()


def recorded_from(data: dict[str, Any], history: list[Any] | tuple[()]) -> Recorded:
    """The original's records in a parsed manifest; `history` is its list (already checked)."""
    runner = _text(data.get("runner"))
    agent = _text(data.get("agent"))
    spec = data.get("job_spec")
    level = (spec.get("warning_percentage") if isinstance(spec, dict) else None) or data.get(
        "warning_percentage"
    )
    tokens = steps = errors = recoveries = 0
    metered = False
    created = last_error = None
    try:  # on the cold-scan path: the entries that tell anything here, by a cheap test each
        telling = [
            entry
            for entry in history
            if type(entry) is dict
            and ("action" in entry or "metrics" in entry or entry.get("event") in _NOTABLE_EVENTS)
        ]
    except TypeError:  # an unhashable event (a list, an object): look at every entry
        telling = [entry for entry in history if type(entry) is dict]
    for entry in telling:
        event = entry.get("event")
        if type(event) is str and event in _NOTABLE_EVENTS:
            if event in RECOVERY_EVENTS:
                recoveries += 1
            elif event in _ERROR_EVENTS:
                errors += 1
                last_error = entry
            elif created is None:  # JOB_CREATED
                created = _text(entry.get("message"))
        action = entry.get("action")
        if type(action) is str and action in STEP_ACTIONS:
            steps += 1
        metrics = entry.get("metrics")
        if type(metrics) is dict and metrics:
            for key in ("token_input", "token_output", "token_cache_read"):
                value = metrics.get(key)
                if type(value) is int:
                    tokens += value
                    metered = True
    if not (runner or agent or level or metered or steps or created or errors or recoveries):
        return NOTHING_RECORDED
    return Recorded(
        runner,
        agent,
        float(level)
        if isinstance(level, int | float) and not isinstance(level, bool) and 0 < level <= 100
        else DEFAULT_WARNING_PERCENTAGE,
        tokens if metered else None,
        steps,
        created,
        None if last_error is None else ErrorRecord.of(last_error),
        errors,
        recoveries,
    )


def errors_in(history: tuple[dict[str, Any], ...]) -> tuple[ErrorRecord, ...]:
    """Every error entry of a history, oldest first (for the detail view)."""
    return tuple(
        ErrorRecord.of(h) for h in history if h.get("event") in ("EXECUTION_ERROR", "ERROR")
    )


@dataclass(frozen=True, slots=True)
class JobFiles:
    """What the job directory holds besides its manifest (detail view, `jobs --json`)."""

    backups: int = 0
    latest_outcome: dict[str, Any] | None = None
    """`latest-outcome.json`: the last step's outcome as the original saved it (small fields)."""
    workspace: str = "none"
    """`present`, `empty`, `none` (never made, or cleaned up on a terminal state)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "backups": self.backups,
            "latest_outcome": self.latest_outcome,
            "workspace": self.workspace,
        }


NO_FILES = JobFiles()
"""A job directory with none of them (most jobs): one object for all."""
OUTCOME_CAP = 256 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _names(directory: str) -> list[str] | None:
    """The names in a directory that is no symlink (a link is never followed); None if absent."""
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except OSError:
        return None
    try:
        return os.listdir(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


FILE_NAMES = (".backups", "latest-outcome.json", "workspace")
"""The entries of a job directory that `JobFiles` reports on."""


def present_names(job_dir: str) -> tuple[str, ...] | None:
    """Which of `FILE_NAMES` the job directory holds (one listing); None if it cannot be listed.
    A job directory linked inside the root is read, as the scanner reads it."""
    try:
        names = os.listdir(job_dir)
    except OSError:
        return None
    return tuple(name for name in names if name in FILE_NAMES)


def job_files(job_dir: str, present: tuple[str, ...] | None = None) -> JobFiles:
    """Backups, the original's saved outcome and its workspace, reading only what the job
    directory holds (`present`, listed now when not given): no link below it is followed,
    no special file opened, at most `OUTCOME_CAP` bytes read."""
    if present is None:
        present = present_names(job_dir)
    if not present:
        return NO_FILES
    backups = 0
    if ".backups" in present:
        names = _names(os.path.join(job_dir, ".backups")) or ()
        backups = sum(1 for name in names if name.endswith(".json.backup"))
    outcome = None
    if "latest-outcome.json" in present:
        try:
            raw = read_regular(os.path.join(job_dir, "latest-outcome.json"), OUTCOME_CAP)
            parsed = json.loads(raw)
        except (OSError, ValueError, RecursionError, UnsafeFile):
            parsed = None
        if isinstance(parsed, dict):
            outcome = {k: v for k, v in parsed.items() if isinstance(v, str | int | float | bool)}
    workspace = "none"
    if "workspace" in present:
        names = _names(os.path.join(job_dir, "workspace"))
        if names is not None:
            workspace = "present" if names else "empty"
    return JobFiles(backups, outcome, workspace)
