"""Objects a scan makes in bulk: built fast, and still what the plain constructor makes."""

from __future__ import annotations

import copy
import dataclasses
import json
import marshal
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from logist._interning import Interner
from logist.core import _facts
from logist.core._facts import facts_of_row, facts_row, new_facts
from logist.core._frozen import quick_constructor
from logist.core._recorded import NOTHING_RECORDED, ErrorRecord, Recorded, recorded_from
from logist.core._scan import JobFacts, facts_from, stat_fields, stat_key
from logist.core._verdicts import Observation


def test_a_quickly_built_frozen_object_is_the_same_as_a_plainly_built_one() -> None:
    build = quick_constructor(Observation)
    fast = build("job-1", True, "SUCCESS", lock_holders=(7,))
    plain = Observation("job-1", True, "SUCCESS", lock_holders=(7,))
    assert type(fast) is Observation and fast == plain and hash(fast) == hash(plain)
    assert fast.waiting_reason is None and fast.owner is plain.owner  # defaults kept
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.status = "PENDING"  # type: ignore[misc]


@dataclasses.dataclass(frozen=True, slots=True)
class DeclaredFacts:
    """JobFacts as it was declared before its shared fields (a frozen slots dataclass): what
    it must still be to every caller."""

    status: str | None = None
    description: str = ""
    current_phase: str | None = None
    phase_index: int | None = None
    phase_count: int = 0
    created_at: float | None = None
    updated_at: float | None = None
    generation: int = 0
    crash_count: int = 0
    cost: float | None = None
    cost_threshold: float | None = None
    time_s: float | None = None
    time_threshold_s: float | None = None
    step_count: int | None = None
    last_event: str | None = None
    last_event_at: float | None = None
    history_count: int = 0
    owner: dict[str, Any] | None = dataclasses.field(default=None, compare=False)
    legacy_pid: int | None = None
    log_path: str | None = None
    last_action_id: str | None = None
    waiting_reason: str | None = None
    recorded: Recorded = dataclasses.field(default=NOTHING_RECORDED, compare=False)


def plain_view(facts: Any) -> tuple[Any, ...]:
    """Every field's value and type, the hash, the repr (under one class name); values by
    their repr (a NaN copied is another NaN; -0.0 is not 0.0)."""
    values = tuple((name, type(value), repr(value)) for name, value in vars_of(facts).items())
    return values, hash(facts), repr(facts).replace(type(facts).__name__, "Facts", 1)


def vars_of(facts: Any) -> dict[str, Any]:
    return {f.name: getattr(facts, f.name) for f in dataclasses.fields(facts)}


FACTS_ARGS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    (("SUCCESS", "export", "publish", 5, 5, 1.0, 2.0), {"owner": {"pid": 7}}),
    ((), {"generation": True, "phase_count": 2.0, "crash_count": None}),
    ((), {"cost_threshold": -0.0, "time_threshold_s": 0, "cost": float("nan")}),
    (("WAITING",), {"waiting_reason": "approve", "last_action_id": "a1", "legacy_pid": 4}),
    ((), {"recorded": Recorded(runner="podman", steps=3), "log_path": "logs/x.log"}),
]


@pytest.mark.parametrize(("args", "kwargs"), FACTS_ARGS)
def test_job_facts_are_the_frozen_dataclass_they_were_declared_as(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Fields, values as given (types too), equality, hash, repr, `replace`, copies, pickling,
    immutability: as the dataclass of 23 slots was, though most fields share one tuple."""
    facts = JobFacts(*args, **kwargs)
    declared = DeclaredFacts(*args, **kwargs)
    assert [f.name for f in dataclasses.fields(JobFacts)] == [
        f.name for f in dataclasses.fields(DeclaredFacts)
    ]
    assert JobFacts.__match_args__ == DeclaredFacts.__match_args__
    assert dataclasses.is_dataclass(facts)
    assert plain_view(facts) == plain_view(declared)
    assert all(vars_of(facts)[name] is value for name, value in vars_of(declared).items())
    assert facts == JobFacts(*args, **kwargs) and facts != JobFacts(description="other")
    assert facts.__eq__(declared) is NotImplemented
    for copied in (copy.copy(facts), copy.deepcopy(facts), pickle.loads(pickle.dumps(facts))):
        # (not the hash: a NaN's is its object's)
        assert type(copied) is JobFacts and plain_view(copied)[::2] == plain_view(facts)[::2]
    changed = dataclasses.replace(facts, status="PENDING", cost_threshold=3.5)
    assert plain_view(changed) == plain_view(
        dataclasses.replace(declared, status="PENDING", cost_threshold=3.5)
    )
    assert dataclasses.asdict(facts) == dataclasses.asdict(declared)
    for name in ("status", "current_phase", "waiting_reason", "_shared"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(facts, name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(facts, name)
    assert facts.to_dict() == JobFacts(*args, **kwargs).to_dict()


def test_a_scans_facts_share_what_they_have_alike_and_are_what_the_constructor_makes(
    tmp_path: Path,
) -> None:
    """`facts_from`'s facts (and those made again from a scan cache row) share one tuple for
    equal rare fields, never one whose values are not alike (a zero's sign, an owner record),
    and are equal, field for field and type for type, to `JobFacts(*row)`."""
    base = {
        "status": "SUCCESS",
        "current_phase": "publish",
        "phases": ["fetch", "publish"],
        "cost_threshold": 10.0,
        "time_threshold_minutes": 120,
        "metrics": {"cumulative_cost": 1.5},
        "history": [{"event": "STEP_COMPLETED", "timestamp": "2026-01-01T00:00:00"}],
    }
    manifests = [
        base,
        {**base, "description": "another job, alike"},
        {**base, "cost_threshold": 0.0},
        {**base, "cost_threshold": -0.0},
        {**base, "cost_threshold": 0},
        {**base, "owner": {"pid": 7, "log_path": "logs/a.log"}},
        {**base, "status": "INTERVENTION_REQUIRED", "history": [{"reason": "look"}]},
        {**base, "recovery": {"crash_count": 2, "last_action_id": "r-1"}, "process_id": 9},
    ]
    made = [facts_from(json.loads(json.dumps(data))) for data in manifests]
    for facts in made:
        row = facts_row(facts)
        for again in (
            new_facts(*row),
            new_facts(*marshal.loads(marshal.dumps(row[:-1])), row[-1]),
        ):
            assert plain_view(again) == plain_view(facts) == plain_view(JobFacts(*row))
    assert made[0]._shared is made[1]._shared, "alike: one tuple"
    assert made[2]._shared is made[4]._shared, "0 and 0.0 both 0.0 in a scan's facts"
    assert made[3]._shared is not made[2]._shared and str(made[3].cost_threshold) == "-0.0"
    assert made[5]._shared is not new_facts(*facts_row(made[5]))._shared, "an owner: its own"
    assert made[6].waiting_reason == "look" and made[7].last_action_id == "r-1"
    assert sys.getsizeof(made[0]) <= 128


def test_facts_of_rows_share_the_tables_tuple_only_and_none_past_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows made facts one after the other (a whole scan's restore) share the table's tuple
    for equal values, whether taken from the row before or looked up; once the table is full,
    values not in it are each job's own, even for two equal rows in a row (the bound holds);
    a zero's sign and an owner record are never shared."""
    row = facts_row(facts_from({"status": "SUCCESS", "cost_threshold": 3.5, "phases": ["p"]}))
    other = facts_row(facts_from({"status": "FAILED", "cost_threshold": 4.5}))
    first, second = facts_of_row(row, NOTHING_RECORDED), facts_of_row(row, NOTHING_RECORDED)
    assert first._shared is second._shared
    assert facts_of_row(other, NOTHING_RECORDED)._shared is not first._shared
    assert facts_of_row(list(row), NOTHING_RECORDED)._shared is first._shared, "looked up"
    monkeypatch.setattr(_facts, "_SHARED_KEPT", len(_facts._shared_tuples))
    unseen = facts_row(facts_from({"status": "PAUSED", "cost_threshold": 987.25}))
    a, b = facts_of_row(unseen, NOTHING_RECORDED), facts_of_row(unseen, NOTHING_RECORDED)
    assert a == b and a._shared is not b._shared, "past the bound: each its own"
    assert facts_of_row(row, NOTHING_RECORDED)._shared is first._shared, "the table's still"
    signed = [*row]
    signed[10] = -0.0
    assert facts_of_row(signed, NOTHING_RECORDED)._shared is not (
        facts_of_row(signed, NOTHING_RECORDED)._shared
    )
    for facts in (first, a, facts_of_row(signed, NOTHING_RECORDED)):
        assert plain_view(facts) == plain_view(JobFacts(*facts_row(facts)))


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
