"""The short exception hierarchy of the backend; the CLI and console turn each into one line."""

from __future__ import annotations


class LogistError(Exception):
    """Base of every error the backend raises on purpose."""


class RootNotFound(LogistError):
    """No jobs root could be located."""


class NotAJobsRoot(RootNotFound):
    """The directory exists but holds no jobs and no index: `/etc`, a home, a parent of `jobs/`."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion
        """The jobs root the operator probably meant (`DIR/jobs`), when there is one."""


class InvalidJobId(LogistError, ValueError):
    """A job id that is not a single safe path component."""

    def __init__(self, job_id: str, why: str) -> None:
        super().__init__(f"invalid job id {job_id!r}: {why}")
        self.job_id = job_id
        self.why = why


class JobNotFound(LogistError, KeyError):
    """No job with that id in the root."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"no job {self.job_id!r} in this root"


class LockBusy(LogistError):
    """Someone else holds the job's lock: the job is owned."""

    def __init__(self, job_id: str, holder_pid: int | None = None) -> None:
        holder = f" (held by pid {holder_pid})" if holder_pid else ""
        super().__init__(f"job {job_id!r} is locked by its owner{holder}")
        self.job_id = job_id
        self.holder_pid = holder_pid


class JobChanged(LogistError):
    """The manifest changed between planning and applying."""

    def __init__(self, job_id: str, why: str | None = None) -> None:
        super().__init__(
            f"job {job_id!r} "
            + (why or "changed since it was scanned")
            + "; nothing done: re-scan and try again"
        )
        self.job_id = job_id


class PermissionDenied(LogistError, PermissionError):
    """The OS refused a read, write or signal."""

    def __init__(self, what: str) -> None:
        super().__init__(f"permission denied: {what}")
        self.what = what


class NotRecoverable(LogistError):
    """The job's verdict (or where it lives) does not allow the requested action."""


class BulkInProgress(LogistError):
    """Another bulk run holds the root's bulk lock, or an interrupted one must be resumed first."""


class OutsideRoot(NotRecoverable):
    """The action would write through a path that leads outside the jobs root; refused."""

    def __init__(self, job_id: str, path: object) -> None:
        super().__init__(f"job {job_id!r} leads outside the jobs root ({path}): never written to")
        self.job_id = job_id
        self.path = str(path)
