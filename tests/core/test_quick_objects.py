"""Objects a scan makes in bulk: built fast, and still what the plain constructor makes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from logist._interning import Interner
from logist.core._frozen import quick_constructor
from logist.core._recorded import NOTHING_RECORDED, ErrorRecord, recorded_from
from logist.core._scan import JobFacts, facts_from, stat_fields, stat_key


def test_a_quickly_built_frozen_object_is_the_same_as_a_plainly_built_one() -> None:
    build = quick_constructor(JobFacts)
    fast = build("SUCCESS", "export", "publish", 5, 5, 1.0, 2.0, owner={"pid": 7})
    plain = JobFacts("SUCCESS", "export", "publish", 5, 5, 1.0, 2.0, owner={"pid": 7})
    assert type(fast) is JobFacts and fast == plain and hash(fast) == hash(plain)
    assert fast.recorded is NOTHING_RECORDED and fast.generation == 0  # defaults kept
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.status = "PENDING"  # type: ignore[misc]


def test_a_class_with_slots_beyond_its_fields_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        value: int

    with pytest.raises(TypeError):
        quick_constructor(NoSlots)


def test_history_entries_of_any_json_shape_never_make_the_records_raise() -> None:
    history = [
        {"event": [], "action": {}, "metrics": []},
        {"event": "CRASH_RECOVERY", "action": "COMPLETED", "metrics": {"token_input": 3}},
        "not an entry",
    ]
    recorded = recorded_from({}, history)
    assert (recorded.recoveries, recorded.steps, recorded.tokens) == (1, 1, 3)


def test_an_interner_hands_back_one_object_per_value_up_to_its_cap() -> None:
    share = Interner(2)
    first = "".join(["SUC", "CESS"])
    again = "".join(["SUCC", "ESS"])
    assert again is not first
    assert share[first] is first and share[again] is first and share(again) is first
    assert share(7.5) == 7.5 and share[None] is None
    late = "".join(["PEN", "DING"])
    assert share[late] is late and share["".join(["PENDI", "NG"])] is not late  # past the cap
    assert len(share) == 2
    with pytest.raises(TypeError):
        share[[]]  # unhashable: never shared


ENTRIES: list[Any] = [
    {"event": "STEP_COMPLETED", "summary": "quiet"},
    {"event": "JOB_CREATED", "message": "made"},
    {"event": "JOB_CREATED", "message": "made again"},
    {"event": "EXECUTION_ERROR", "error_message": "boom", "error_classification": "io"},
    {"event": "ERROR", "reason": "later"},
    {"event": "CRASH_RECOVERY"},
    {"event": "AUTOMATIC_RECOVERY", "action": "RETRY"},
    {"action": "COMPLETED", "metrics": {"token_input": 4, "token_cache_read": 1}},
    {"action": "ACTIVATED", "metrics": {}},
    {"metrics": {"token_output": 2, "token_input": True}},
    {"event": ["unhashable"], "action": "STUCK"},
    {"event": {"an": "object"}, "summary": "unhashable, and nothing else"},
    {"event": 7, "action": None, "metrics": None},
    "not an entry",
    None,
]


def test_the_records_of_a_history_are_what_each_entry_says() -> None:
    """Entries are skipped by a cheap test when they cannot tell anything: every mix of them
    gives what walking all of them, field by field, gives."""
    for start in range(len(ENTRIES)):
        for length in (1, 2, 5, len(ENTRIES)):
            history = (ENTRIES[start:] + ENTRIES[:start])[:length]
            recorded = recorded_from({}, history)
            entries = [e for e in history if type(e) is dict]
            events = [e.get("event") for e in entries]
            tokens = [
                v
                for e in entries
                if type(e.get("metrics")) is dict
                for k, v in e["metrics"].items()
                if k in ("token_input", "token_output", "token_cache_read") and type(v) is int
            ]
            errors = [e for e in entries if e.get("event") in ("EXECUTION_ERROR", "ERROR")]
            created = [e["message"] for e in entries if e.get("event") == "JOB_CREATED"]
            assert recorded.steps == sum(
                e.get("action") in ("COMPLETED", "STUCK", "RETRY") for e in entries
            )
            assert recorded.tokens == (sum(tokens) if tokens else None)
            assert recorded.errors == len(errors)
            assert recorded.recoveries == sum(
                e in ("CRASH_RECOVERY", "AUTOMATIC_RECOVERY") for e in events
            )
            assert recorded.created_message == (created[0] if created else None)
            assert recorded.last_error == (ErrorRecord.of(errors[-1]) if errors else None)


def test_the_phase_index_is_the_first_phase_equal_to_the_current_one() -> None:
    cases = [
        ('{"current_phase": "b", "phases": [{"name": "a"}, "b", {"name": "b"}]}', 2),
        ('{"current_phase": "c", "phases": [{"name": "a"}, {"title": "c"}, 7]}', None),
        ('{"current_phase": 3, "phases": ["3", {"name": 3.0}]}', 2),
        ('{"current_phase": NaN, "phases": [NaN, {"name": NaN}]}', None),  # NaN equals nothing
        ('{"current_phase": "a", "phases": "a"}', None),
    ]
    for text, index in cases:
        assert facts_from(json.loads(text)).phase_index == index, text


@pytest.mark.parametrize(
    "fields",
    [
        (1, 2, 3, 4),
        (2**64 - 1, -(2**63), 2**63 - 1, 2**32 - 1),  # the packed form's bounds
        (7, 1_700_000_000_123_456_789, 1_700_000_000_123_456_789, 2**32),  # a 4 GiB manifest
        (7, 2**63, 0, 10),  # an mtime past 2262
        (2**64, 0, 0, 0),
        (0, -1, -(2**63) - 1, 0),
    ],
)
def test_a_stat_key_is_equal_exactly_when_its_four_fields_are(
    fields: tuple[int, int, int, int],
) -> None:
    """Packed in 28 bytes, or a tuple past what they hold: either way the key gives its fields
    back, and no other fields make an equal key (the scanner trusts a kept state by it)."""
    key = stat_key(*fields)
    assert stat_fields(key) == fields
    assert stat_key(*fields) == key
    for place in range(4):
        for step in (-1, 1, 2**32, -(2**32)):
            other = list(fields)
            other[place] += step
            assert stat_key(*other) != key, (place, step)
    if type(key) is bytes:
        assert len(key) == 28
