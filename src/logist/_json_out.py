"""Big JSON documents for the CLI, encoded by the C encoder and written as they are encoded.

`logist jobs --json` at 100,000 jobs spent 2.3 s in `json.dumps(indent=2)` (indent forces the
pure-Python encoder; the C one does the same 82 MB in 0.6 s) and 1.7 s deep-copying the document
to replace NaN. Here jobs are encoded in batches by the C encoder (compact), NaN and Infinity
are replaced only in the rare job that has one, and the bytes go out batch by batch: no copy of
the document, no 80 MB string. `--pretty` keeps the indented form, on the slow encoder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from .core._recorded import NOTHING_RECORDED

if TYPE_CHECKING:
    from .core import JobState
    from .core._scan import JobFacts

_BATCH = 512

_compact = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
).encode
_compact_ascii = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=str
).encode


def finite(value: Any) -> Any:
    """A copy with NaN and Infinity as None (strict JSON parsers reject them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def encode(value: Any) -> bytes:
    """Strict compact JSON as UTF-8, whatever the root holds: NaN becomes null, and a lone
    surrogate (a job directory whose name is not UTF-8) is written as a \\u escape."""
    try:
        text = _compact(value)
    except ValueError:  # NaN or Infinity somewhere in this value: copy it, once
        return encode(finite(value))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _compact_ascii(value).encode("ascii")


def write_listing(
    stream: BinaryIO, head: dict[str, Any], key: str, items: Iterable[Any], *, pretty: bool
) -> None:
    """Write `{**head, key: [*items]}` as one JSON document and a newline."""
    if pretty:
        document = finite({**head, key: list(items)})
        text = json.dumps(document, indent=2, default=str, ensure_ascii=False, allow_nan=False)
        try:
            stream.write(text.encode("utf-8") + b"\n")
        except UnicodeEncodeError:
            stream.write(json.dumps(document, indent=2, default=str).encode("ascii") + b"\n")
        return
    opening = encode(head)[:-1]
    stream.write(opening + (b"," if head else b"") + encode(key) + b":[")
    batch: list[Any] = []
    first = True
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            stream.write((b"" if first else b",") + _encode_many(batch))
            batch.clear()
            first = False
    if batch:
        stream.write((b"" if first else b",") + _encode_many(batch))
    stream.write(b"]}\n")


def _encode_many(items: list[Any]) -> bytes:
    """`items` as comma-separated JSON values: one call of the C encoder for the whole batch
    (per job, the calls' own overhead was a fifth of the encoding at 100,000 jobs); one value
    at a time only in a batch that holds a NaN or a lone surrogate."""
    try:
        return _compact(items)[1:-1].encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return b",".join(encode(item) for item in items)


def write_jobs(
    stream: BinaryIO, head: dict[str, Any], jobs: Sequence[JobState], *, pretty: bool
) -> None:
    """`jobs --json`: `{**head, "jobs": [job.to_dict() ...]}`, each job's text put together
    from pieces. Most jobs of a root share their verdict object (and its reason, action and
    evidence), so that part is encoded once per verdict; only the facts are encoded per job.
    The same document as `write_listing` of the dicts (a test compares the two)."""
    if pretty:
        write_listing(stream, head, "jobs", (job.to_dict() for job in jobs), pretty=True)
        return
    stream.write(encode(head)[:-1] + (b"," if head else b"") + b'"jobs":[')
    first = True
    for start in range(0, len(jobs), _BATCH):
        shared: dict[tuple[int, str | None], tuple[str, str]] = {}
        batch = jobs[start : start + _BATCH]
        try:
            chunk = ",".join([_job_text(job, shared) for job in batch]).encode("utf-8")
        except (ValueError, UnicodeEncodeError):  # a NaN or a lone surrogate in this batch
            chunk = b",".join(_job_bytes(job, shared) for job in batch)
        stream.write((b"" if first else b",") + chunk)
        first = False
    stream.write(b"]}\n")


def _job_bytes(job: JobState, shared: dict[tuple[int, str | None], tuple[str, str]]) -> bytes:
    try:
        return _job_text(job, shared).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return encode(job.to_dict())  # NaN as null, a lone surrogate as a \u escape


_string = json.encoder.encode_basestring  # C: a str as a JSON string literal, not ASCII-only


def _c_compact() -> Any:
    """`_compact` without its two Python layers, which build a C encoder on every call (a
    sixth of `jobs --json`'s encoding at 100,000 jobs): one C encoder, made once, where
    CPython has it; the same text (strict, compact, not ASCII-only, `str` for the rest)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _compact
    encoder = make(None, str, _string, None, ":", ",", False, False, False)
    return lambda value: "".join(encoder(value, 0))


_fast = _c_compact()


def _job_text(job: JobState, shared: dict[tuple[int, str | None], tuple[str, str]]) -> str:
    """One job of `jobs --json` as compact JSON text, keys in `JobState.to_dict`'s order."""
    verdict = job.verdict
    status = job.facts.status
    key = (id(verdict), status)  # the batch holds every verdict alive: ids are not reused
    parts = shared.get(key)
    if parts is None:
        parts = shared[key] = (
            f'"status":{_fast(status)},"verdict":{_string(verdict.kind.value)},'
            f'"reason":{_string(verdict.reason)},"action":{_string(verdict.action.value)}',
            _fast(verdict.evidence),
        )
    location = job.location
    position = location.queue_position
    problems = job.problems
    issues = location.issues
    return (
        f'{{"job_id":{_string(job.job_id)},{parts[0]},"path":{_string(location.directory)},'
        f'"indexed":{"true" if location.indexed else "false"},'
        f'"queue_position":{"null" if position is None else _fast(position)},'
        f'"evidence":{parts[1]},"facts":{_facts_text(job.facts)},'
        f'"problems":{_fast([p.to_dict() for p in problems]) if problems else "[]"},'
        '"issues":'
        + (
            _fast([{"code": i.code, "message": i.message, "path": i.path} for i in issues])
            if issues
            else "[]"
        )
        + "}"
    )


_float = float.__repr__  # TypeError for anything but a float, as `_string` for a non-str


def _facts_text(facts: JobFacts) -> str:
    """`_fast(facts.to_dict())`, without the dict: the keys are constants and each value is
    written as the C encoder writes it (`repr` of a finite float, of an int; a JSON string),
    which was half of `jobs --json`'s encoding at 100,000 jobs. A value of another type than
    the scan gives, or a float that is not finite (the encoder refuses it), takes the dict."""
    cost, cost_limit = facts.cost, facts.cost_threshold
    time_s, time_limit = facts.time_s, facts.time_threshold_s
    index, steps = facts.phase_index, facts.step_count
    counts = (facts.phase_count, facts.generation, facts.crash_count, facts.history_count)
    phase, event, recorded = facts.current_phase, facts.last_event, facts.recorded
    try:
        if (
            (type(index) is not int and index is not None)
            or (type(steps) is not int and steps is not None)
            or tuple(map(type, counts)) != _FOUR_INTS
        ):
            raise TypeError
        floats = (
            "null" if cost is None else _float(cost),
            "null" if cost_limit is None else _float(cost_limit),
            "null" if time_s is None else _float(time_s),
            "null" if time_limit is None else _float(time_limit),
        )
        if "nan" in floats or "inf" in floats or "-inf" in floats:
            raise TypeError  # the dict's encoding raises ValueError for it: the caller copes
        return (
            f'{{"description":{_string(facts.description)},'
            f'"current_phase":{"null" if phase is None else _string(phase)},'
            f'"phase_index":{"null" if index is None else index},'
            f'"phase_count":{counts[0]},"generation":{counts[1]},"crash_count":{counts[2]},'
            f'"cost":{floats[0]},"cost_threshold":{floats[1]},'
            f'"time_s":{floats[2]},"time_threshold_s":{floats[3]},'
            f'"last_event":{"null" if event is None else _string(event)},'
            f'"history_count":{counts[3]},"step_count":{"null" if steps is None else steps},'
            f'"cost_warning":{"true" if facts.at_warning(cost, cost_limit) else "false"},'
            f'"time_warning":{"true" if facts.at_warning(time_s, time_limit) else "false"},'
            '"recorded":'
            + ("null" if recorded is NOTHING_RECORDED else _fast(recorded.to_dict()))
            + "}"
        )
    except TypeError:  # not what a scan makes: the dict, encoded as it always was
        return _fast(facts.to_dict())


_FOUR_INTS = (int, int, int, int)
