"""The tolerant manifest parser: every broken file is a Problem value, never an exception."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from corpus import BROKEN, WRONG_TYPES, logist_cli_manifest, logist_core_manifest
from logist.core import ProblemCode
from logist.core._manifest import (
    dumps,
    history_entry,
    now_naive_iso,
    parse_manifest,
    parse_timestamp,
)
from logist.core._scan import facts_from


@pytest.mark.parametrize("name", list(BROKEN))
def test_each_broken_manifest_is_one_fatal_problem_and_no_data(name: str) -> None:
    raw, code = BROKEN[name]
    read = parse_manifest(raw)
    assert read.data is None
    assert [p.code for p in read.problems] == [code]
    assert read.problems[0].fatal
    assert read.problems[0].message


def test_a_manifest_cut_between_tokens_says_it_is_truncated() -> None:
    message = parse_manifest(BROKEN["truncated-after-key"][0]).problems[0].message
    assert "truncated" in message


def test_a_manifest_over_a_custom_size_cap_is_too_large() -> None:
    raw = json.dumps({"status": "PENDING", "pad": "x" * 100}).encode()
    assert parse_manifest(raw, size_cap=50).problems[0].code is ProblemCode.TOO_LARGE
    assert parse_manifest(raw, size_cap=len(raw)).ok


@pytest.mark.parametrize(("field", "value"), list(WRONG_TYPES.items()))
def test_a_field_of_the_wrong_type_is_a_warning_and_the_rest_is_still_read(
    field: str, value: object
) -> None:
    read = parse_manifest(json.dumps({"job_id": "a", "status": "PENDING", field: value}).encode())
    assert read.ok
    problems = [p for p in read.problems if p.field == field]
    assert [p.code for p in problems] == [ProblemCode.WRONG_TYPE]
    assert not problems[0].fatal


def test_null_fields_are_not_problems() -> None:
    fields = {key: None for key in WRONG_TYPES}
    read = parse_manifest(json.dumps({"job_id": "a", **fields}).encode())
    assert read.ok
    assert read.problems == ()


@pytest.mark.parametrize("make", [logist_core_manifest, logist_cli_manifest])
def test_manifests_written_by_logist_tools_parse_without_any_problem(make) -> None:
    read = parse_manifest(json.dumps(make(), indent=2).encode())
    assert read.ok
    assert read.problems == ()


def test_the_facts_of_a_logist_core_manifest_are_all_read() -> None:
    facts = facts_from(logist_core_manifest())
    assert facts.status == "INTERVENTION_REQUIRED"
    assert (facts.current_phase, facts.phase_index, facts.phase_count) == ("implementation", 2, 3)
    assert (facts.cost, facts.cost_threshold) == (0.0345, 10.0)
    assert (facts.time_s, facts.time_threshold_s) == (123.4, 3600)
    assert facts.step_count == 3
    assert facts.history_count == 7
    assert facts.last_event == "SENTINEL_INTERVENTION"
    assert facts.last_event_at == datetime(2026, 11, 27, 22, 56, 31, 343897).timestamp()
    assert facts.legacy_pid == 2**22 + 1
    assert facts.created_at == datetime(2026, 11, 27, 22, 50, 1, 123456).timestamp()


def test_the_facts_of_a_logist_cli_manifest_use_the_step_entry_and_tolerate_a_null_time() -> None:
    facts = facts_from(logist_cli_manifest())
    assert facts.created_at is None
    assert facts.phase_index is None and facts.phase_count == 2
    assert facts.last_event == "Activated"
    assert facts.last_event_at is None
    assert facts.time_threshold_s == 30.5 * 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T22:56:31.343897", datetime(2026, 11, 27, 22, 56, 31, 343897).timestamp()),
        ("2026-11-27T22:56:31", datetime(2026, 11, 27, 22, 56, 31).timestamp()),
        (
            "2026-11-27T22:56:31+00:00",
            datetime(2026, 11, 27, 22, 56, 31, tzinfo=UTC).timestamp(),
        ),
        ("2026-11-27T22:56:31Z", datetime(2026, 11, 27, 22, 56, 31, tzinfo=UTC).timestamp()),
        (
            "2026-11-27T23:56:31.5+01:00",
            datetime(2026, 11, 27, 22, 56, 31, 500000, tzinfo=UTC).timestamp(),
        ),
    ],
    ids=["naive-micro", "naive", "aware-utc", "zulu", "aware-offset"],
)
def test_naive_timestamps_are_local_time_and_aware_ones_keep_their_offset(
    text: str, expected: float
) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-45T99:00:00", 1700000000, []])
def test_a_null_or_unparseable_timestamp_is_none_not_an_error(value: object) -> None:
    assert parse_timestamp(value) is None


def test_timestamps_we_write_are_naive_local_iso_like_logists_own() -> None:
    entry = history_entry("CRASH_RECOVERY", reason="r")
    for text in (entry["timestamp"], now_naive_iso()):
        assert datetime.fromisoformat(text).tzinfo is None
    assert entry["event"] == "CRASH_RECOVERY" and entry["reason"] == "r"


def test_serialising_keeps_unknown_keys_and_non_ascii_text() -> None:
    data = {**logist_core_manifest(), "future_key": {"x": [1]}, "description": "ünïcødé ✓"}
    assert parse_manifest(dumps(data)).data == data
