"""Objects a scan makes in bulk: built fast, and still what the plain constructor makes."""

from __future__ import annotations

import dataclasses

import pytest

from logist._interning import Interner
from logist.core._frozen import quick_constructor
from logist.core._recorded import NOTHING_RECORDED, recorded_from
from logist.core._scan import JobFacts


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
