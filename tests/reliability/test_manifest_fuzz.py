"""Fuzzing the readers: no bytes and no JSON structure make them raise.

`parse_manifest`, `read_manifest` and `parse_index` turn anything into data or problems; what a
scan derives from a parsed manifest (`facts_from`, `check_fields`) accepts any JSON object; and a
manifest we write reads back as the same data.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from logist.core._manifest import (
    FATAL_CODES,
    ProblemCode,
    dumps,
    parse_manifest,
    read_manifest,
)
from logist.core._root import parse_index
from logist.core._scan import facts_from
from reliability._support import crashed_manifest

FIELDS = [
    "job_id",
    "description",
    "status",
    "current_phase",
    "phases",
    "created_at",
    "updated_at",
    "config",
    "metrics",
    "history",
    "process_id",
    "metadata",
    "generation",
    "owner",
    "last_owner",
    "recovery",
    "cost_threshold",
    "time_threshold_minutes",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["EXECUTING", "PENDING", "", "2026-11-27T22:56:31.343897", "Z", "nan"]),
)
jsonish = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text()), children, max_size=6),
    ),
    max_leaves=30,
)
manifests = st.dictionaries(st.sampled_from([*FIELDS, "pid", "host", "x"]), jsonish, max_size=12)


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: lone surrogates become \u escapes


@given(st.binary(max_size=4096))
def test_parsing_arbitrary_bytes_never_raises_and_explains_every_failure(raw: bytes) -> None:
    read = parse_manifest(raw)
    if read.data is None:
        assert read.problems and read.problems[0].code in FATAL_CODES
    else:
        assert isinstance(read.data, dict)
        facts_from(read.data)


@given(jsonish)
def test_parsing_any_json_value_gives_data_exactly_when_it_is_an_object(value: Any) -> None:
    read = parse_manifest(encode(value))
    if isinstance(value, dict):
        assert read.data is not None
        assert not [p for p in read.problems if p.fatal]
    else:
        assert read.data is None
        assert read.problems[0].code is ProblemCode.NOT_OBJECT


@given(manifests)
def test_any_json_object_yields_facts_and_problems_that_name_present_fields(
    data: dict[str, Any],
) -> None:
    read = parse_manifest(encode(data))
    assert read.data is not None
    json.dumps(facts_from(read.data).to_dict())
    for problem in read.problems:
        assert problem.field is None or problem.field in read.data


@given(manifests.filter(lambda d: "\x00" not in json.dumps(d)))
def test_a_manifest_we_write_reads_back_as_the_same_data(data: dict[str, Any]) -> None:
    read = parse_manifest(dumps(data))
    assert read.data is not None
    assert json.dumps(read.data, sort_keys=True) == json.dumps(data, sort_keys=True)


@given(
    st.data(),
    st.sampled_from(["EXECUTING", "PENDING", "HARVESTING"]),
)
def test_a_valid_manifest_cut_or_corrupted_anywhere_never_makes_the_reader_raise(
    data: st.DataObject, status: str
) -> None:
    raw = bytearray(dumps(crashed_manifest("fuzz", status=status)))
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255))))
    for index, byte in flips:
        raw[index] = byte
    read = parse_manifest(bytes(raw[:cut]))
    assert read.data is not None or read.problems


# no deadline: a temporary directory and a file per example take 0.7 s under a loaded CI machine
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2048), jsonish.map(encode)))
def test_reading_any_file_from_disk_agrees_with_parsing_its_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "job_manifest.json"
        path.write_bytes(raw)
        os.chmod(path, 0o644)
        read = read_manifest(path)
    parsed = parse_manifest(raw)
    assert [p.code for p in read.problems] == [p.code for p in parsed.problems]
    if read.data is not None:
        assert json.dumps(read.data, sort_keys=True) == json.dumps(parsed.data, sort_keys=True)


@given(st.one_of(st.binary(max_size=2048), jsonish.map(encode), manifests.map(encode)))
def test_parsing_any_index_never_raises_and_keeps_only_safe_job_ids(raw: bytes) -> None:
    index = parse_index(raw)
    for job_id, entry in index.entries.items():
        assert job_id == entry.job_id
        assert "/" not in job_id and "\x00" not in job_id and not job_id.startswith(".")
        assert entry.path is None or isinstance(entry.path, str)


def kinds_in(value: Any) -> set[str]:
    """The kinds of JSON value the fuzzers rely on that `value` holds, at any depth."""
    if isinstance(value, dict):
        return {"object"}.union(*map(kinds_in, value.values()))
    if isinstance(value, list):
        return {"array"}.union(*map(kinds_in, value))
    if isinstance(value, float) and not math.isfinite(value):
        return {"non-finite"}
    return set()


@pytest.mark.parametrize("kind", ["object", "array", "non-finite"])
def test_the_fuzzers_own_strategies_reach_the_interesting_values(kind: str) -> None:
    """Guard against a strategy that silently stopped producing what the fuzzers rely on.

    A search for each kind (`find` stops at the first), not a count over a fixed number of
    draws: Hypothesis leans its draws toward constants in the modules loaded so far, so the
    same draws gave no NaN once the whole suite had imported every module of logist.
    """
    search = settings(
        max_examples=5_000,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    find(jsonish, lambda value: kind in kinds_in(value), settings=search)
