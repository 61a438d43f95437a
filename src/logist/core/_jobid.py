"""What a job id may be: one safe path component (the runner checks it without the scanner)."""

from __future__ import annotations

from ._errors import InvalidJobId


def validate_job_id(job_id: object) -> str:
    """A job id is one safe path component; raises InvalidJobId otherwise."""
    if not isinstance(job_id, str):
        raise InvalidJobId(repr(job_id), "not a string")
    if not job_id:
        raise InvalidJobId(job_id, "empty")
    if len(job_id.encode("utf-8", "surrogateescape")) > 255:
        raise InvalidJobId(job_id, "longer than 255 bytes")
    for bad, why in (("/", "contains '/'"), ("\\", "contains '\\'"), ("\0", "contains NUL")):
        if bad in job_id:
            raise InvalidJobId(job_id, why)
    if job_id.startswith("."):
        raise InvalidJobId(job_id, "starts with '.'")
    return job_id


def is_valid_job_id(job_id: object) -> bool:
    # the common ASCII id in a few string tests (every name of a 100,000-job root comes here);
    # anything else takes the full check, exceptions and all
    if (
        type(job_id) is str
        and job_id.isascii()
        and 0 < len(job_id) <= 255
        and job_id[0] != "."
        and "/" not in job_id
        and "\\" not in job_id
        and "\0" not in job_id
    ):
        return True
    try:
        validate_job_id(job_id)
    except InvalidJobId:
        return False
    return True
