"""Job ids are one safe path component; the jobs index is read in all three Logist schemas."""

from __future__ import annotations

import json

import pytest

from corpus import cli_index, core_index, very_old_index
from logist.core import InvalidJobId
from logist.core._root import is_within, parse_index, validate_job_id


@pytest.mark.parametrize(
    "job_id",
    ["job-1", "sim_2026-11-27", "ünïcødé", "a..b", "trailing.", "x" * 255, "with space"],
)
def test_a_single_safe_path_component_is_a_valid_job_id(job_id: str) -> None:
    assert validate_job_id(job_id) == job_id


@pytest.mark.parametrize(
    ("job_id", "why"),
    [
        ("", "empty"),
        ("..", "starts with '.'"),
        ("../x", "contains '/'"),
        ("a/b", "contains '/'"),
        ("/etc", "contains '/'"),
        ("a\\b", "contains '\\'"),
        ("a\0b", "contains NUL"),
        (".hidden", "starts with '.'"),
        (".", "starts with '.'"),
        ("é" * 128, "longer than 255 bytes"),
    ],
)
def test_an_id_that_could_leave_its_directory_is_rejected_with_the_reason(
    job_id: str, why: str
) -> None:
    with pytest.raises(InvalidJobId) as caught:
        validate_job_id(job_id)
    assert caught.value.why == why
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("job_id", [None, 5, b"bytes", ["a"]])
def test_an_id_that_is_not_a_string_is_rejected(job_id: object) -> None:
    with pytest.raises(InvalidJobId, match="not a string"):
        validate_job_id(job_id)


JOBS = {"a": "/r/a", "b": "/r/b"}


@pytest.mark.parametrize("schema", [core_index, cli_index, very_old_index])
def test_every_index_schema_yields_the_same_entries(schema) -> None:
    read = parse_index(json.dumps(schema(JOBS)).encode())
    assert read.issues == ()
    assert {job_id: entry.path for job_id, entry in read.entries.items()} == JOBS


def test_an_index_entry_without_a_path_is_kept_with_no_path() -> None:
    read = parse_index(json.dumps({"jobs": {"a": None, "b": {"job_id": "b"}}}).encode())
    assert {k: e.path for k, e in read.entries.items()} == {"a": None, "b": None}


@pytest.mark.parametrize("bad_id", ["..", "../escape", "/abs", ".hidden", ""])
def test_index_entries_with_unsafe_ids_are_reported_and_skipped(bad_id: str) -> None:
    read = parse_index(json.dumps({"jobs": {bad_id: "/tmp/x", "ok": "/r/ok"}}).encode())
    assert list(read.entries) == ["ok"]
    assert [(i.code, i.job_id) for i in read.issues] == [("index-bad-id", bad_id)]


def test_an_index_entry_that_is_not_a_path_is_reported() -> None:
    read = parse_index(json.dumps({"jobs": {"a": 42}}).encode())
    assert [i.code for i in read.issues] == ["index-bad-entry"]
    assert read.entries["a"].path is None


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"\xff", b"[]", b'{"jobs": []}', b'{"jobs": "a"}', b"[" * 100_000],
    ids=["empty", "truncated", "not-utf8", "array", "jobs-array", "jobs-string", "deep"],
)
def test_a_damaged_index_is_an_issue_never_an_exception(raw: bytes) -> None:
    read = parse_index(raw)
    assert read.entries == {}
    assert [i.code for i in read.issues] == ["index-unreadable"]


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("/r/a", True),
        ("/r/a/b", True),
        ("/r", False),
        ("/rx/a", False),
        ("/other", False),
        ("/", False),
    ],
)
def test_only_paths_strictly_below_the_root_are_within_it(path: str, inside: bool) -> None:
    assert is_within("/r", path) is inside
