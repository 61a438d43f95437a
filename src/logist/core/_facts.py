"""`JobFacts`: what a manifest says, one object per job of a root, kept as long as the job is.

At 100,000 jobs a frozen slots dataclass of its 23 fields was 224 bytes a job (21 MB of a
console's memory), most of them saying what most jobs of a root say alike: the phases, the
thresholds, no owner, no recovery, no waiting reason. `JobFacts` keeps the fields that tell
jobs apart in slots of its own, and the rest in one shared tuple (`_Shared`): 128 bytes a job.
It is still what the dataclass was to every caller: the same constructor, attributes, fields
(`dataclasses.fields`, `replace`), equality, hash, repr and immutability; the scan cache keeps
its 23 fields in their order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from ._recorded import NOTHING_RECORDED, Recorded


@dataclass(frozen=True, slots=True)
class _Declared:
    """JobFacts' fields as declared: their order, defaults, equality, hash and repr."""

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
    owner: dict[str, Any] | None = field(default=None, compare=False)
    """Our runner's owner record (OWNER_KEY); the original's `runner` name is not it."""
    legacy_pid: int | None = None
    log_path: str | None = None
    last_action_id: str | None = None
    """The id of the last recovery we wrote (`recovery.last_action_id`): its audit line's key."""
    waiting_reason: str | None = None
    """For a job waiting for a person: why, from its newest history entry that says."""
    recorded: Recorded = field(default=NOTHING_RECORDED, compare=False)
    """What the original Logist records beyond the state (runner name, errors, tokens...)."""


class _Shared(NamedTuple):
    """The fields most jobs of a root have alike, one tuple for the jobs that have them equal."""

    current_phase: str | None
    phase_count: int
    generation: int
    crash_count: int
    cost_threshold: float | None
    time_threshold_s: float | None
    last_event: str | None
    owner: dict[str, Any] | None
    legacy_pid: int | None
    log_path: str | None
    last_action_id: str | None
    waiting_reason: str | None


_OWN = (
    "status",
    "description",
    "phase_index",
    "created_at",
    "updated_at",
    "cost",
    "time_s",
    "step_count",
    "last_event_at",
    "history_count",
    "recorded",
)
"""The fields kept in a slot of each `JobFacts` (with `_shared`: 12 slots, 128 bytes)."""
FIELD_NAMES = tuple(f.name for f in dataclasses.fields(_Declared))
if set(FIELD_NAMES) != {*_OWN, *_Shared._fields}:
    raise TypeError("JobFacts: each field is its own or shared, once")


class JobFacts:
    """What the manifest says, flattened for display and plans (no I/O needed to use it).

    A frozen dataclass to every caller (see the module): the fields of `_Shared` are read
    through properties from one tuple that equal jobs share."""

    __slots__ = (*_OWN, "_shared")
    __dataclass_fields__ = _Declared.__dataclass_fields__  # type: ignore[assignment]
    __dataclass_params__ = _Declared.__dataclass_params__  # type: ignore[attr-defined]
    __match_args__ = _Declared.__match_args__
    __repr__ = _Declared.__repr__

    status: str | None
    description: str
    phase_index: int | None
    created_at: float | None
    updated_at: float | None
    cost: float | None
    time_s: float | None
    step_count: int | None
    last_event_at: float | None
    history_count: int
    recorded: Recorded
    _shared: _Shared

    if TYPE_CHECKING:
        current_phase: str | None
        phase_count: int
        generation: int
        crash_count: int
        cost_threshold: float | None
        time_threshold_s: float | None
        last_event: str | None
        owner: dict[str, Any] | None
        legacy_pid: int | None
        log_path: str | None
        last_action_id: str | None
        waiting_reason: str | None

    def __init__(
        self,
        status: str | None = None,
        description: str = "",
        current_phase: str | None = None,
        phase_index: int | None = None,
        phase_count: int = 0,
        created_at: float | None = None,
        updated_at: float | None = None,
        generation: int = 0,
        crash_count: int = 0,
        cost: float | None = None,
        cost_threshold: float | None = None,
        time_s: float | None = None,
        time_threshold_s: float | None = None,
        step_count: int | None = None,
        last_event: str | None = None,
        last_event_at: float | None = None,
        history_count: int = 0,
        owner: dict[str, Any] | None = None,
        legacy_pid: int | None = None,
        log_path: str | None = None,
        last_action_id: str | None = None,
        waiting_reason: str | None = None,
        recorded: Recorded = NOTHING_RECORDED,
    ) -> None:
        # values as given, shared with no other object: what is equal is not always alike
        # (1 and 1.0 and True, 0.0 and -0.0), and a caller gets back exactly what it gave
        own = object.__setattr__
        own(self, "status", status)
        own(self, "description", description)
        own(self, "phase_index", phase_index)
        own(self, "created_at", created_at)
        own(self, "updated_at", updated_at)
        own(self, "cost", cost)
        own(self, "time_s", time_s)
        own(self, "step_count", step_count)
        own(self, "last_event_at", last_event_at)
        own(self, "history_count", history_count)
        own(self, "recorded", recorded)
        shared = (
            current_phase,
            phase_count,
            generation,
            crash_count,
            cost_threshold,
            time_threshold_s,
            last_event,
            owner,
            legacy_pid,
            log_path,
            last_action_id,
            waiting_reason,
        )
        own(self, "_shared", _new_shared(_Shared, shared))

    def _compared(self) -> tuple[Any, ...]:
        """The fields that equality and the hash look at, in their order (the dataclass's:
        all but `owner` and `recorded`), read without the properties."""
        shared = self._shared
        return (
            self.status,
            self.description,
            shared[0],
            self.phase_index,
            shared[1],
            self.created_at,
            self.updated_at,
            shared[2],
            shared[3],
            self.cost,
            shared[4],
            self.time_s,
            shared[5],
            self.step_count,
            shared[6],
            self.last_event_at,
            self.history_count,
            shared[8],
            shared[9],
            shared[10],
            shared[11],
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._compared())

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (JobFacts, facts_row(self))

    def at_warning(self, value: float | None, limit: float | None) -> bool:
        """Whether a cost or time has reached the job's warning level of its limit (the
        original's `warning_percentage`, 75 % by default)."""
        if value is None or not limit:
            return False
        return value >= limit * self.recorded.warning_percentage / 100

    def to_dict(self) -> dict[str, Any]:
        shared = self._shared  # (its fields read once, not through the properties)
        return {
            "description": self.description,
            "current_phase": shared.current_phase,
            "phase_index": self.phase_index,
            "phase_count": shared.phase_count,
            "generation": shared.generation,
            "crash_count": shared.crash_count,
            "cost": self.cost,
            "cost_threshold": shared.cost_threshold,
            "time_s": self.time_s,
            "time_threshold_s": shared.time_threshold_s,
            "last_event": shared.last_event,
            "history_count": self.history_count,
            "step_count": self.step_count,
            "cost_warning": self.at_warning(self.cost, shared.cost_threshold),
            "time_warning": self.at_warning(self.time_s, shared.time_threshold_s),
            # nested, and null when the original recorded nothing: 10 keys more per job cost
            # `jobs --json` 40 % of its encoding at 10,000 jobs
            "recorded": None if self.recorded is NOTHING_RECORDED else self.recorded.to_dict(),
        }


for _name in _Shared._fields:  # read in C: the slot, then the tuple's field
    setattr(JobFacts, _name, property(attrgetter(f"_shared.{_name}")))
del _name

_new_shared = tuple.__new__
"""`_Shared(*values)` without the named tuple's Python-level `__new__`."""


def facts_row(facts: JobFacts) -> tuple[Any, ...]:
    """A `JobFacts`' 23 fields in their order (what `JobFacts(*row)` makes again): the scan
    cache's row, made for every job of a whole save (plain loads, not the properties)."""
    shared = facts._shared
    return (
        facts.status,
        facts.description,
        shared[0],
        facts.phase_index,
        shared[1],
        facts.created_at,
        facts.updated_at,
        shared[2],
        shared[3],
        facts.cost,
        shared[4],
        facts.time_s,
        shared[5],
        facts.step_count,
        shared[6],
        facts.last_event_at,
        facts.history_count,
        shared[7],
        shared[8],
        shared[9],
        shared[10],
        shared[11],
        facts.recorded,
    )


class _Draft:
    """A mutable twin of `JobFacts`' slots: made with plain stores, then made a `JobFacts` by
    `__class__` assignment (CPython allows it between classes of one slot layout)."""

    __slots__ = JobFacts.__slots__


object.__new__(_Draft).__class__ = JobFacts  # a layout that differs fails here, at import
_probe = JobFacts(*(object() for _ in FIELD_NAMES))
if facts_row(_probe) != tuple(getattr(_probe, name) for name in FIELD_NAMES) or (
    _probe._compared()
    != tuple(getattr(_probe, f.name) for f in dataclasses.fields(_Declared) if f.compare)
):
    raise TypeError("JobFacts: facts_row and _compared must follow the declared fields")
del _probe

_SHARED_KEPT = 10_000
"""Distinct shared tuples kept (a hostile root's endless distinct values are not shared)."""
_shared_tuples: dict[_Shared, _Shared] = {}


def new_facts(
    status: str | None,
    description: str,
    current_phase: str | None,
    phase_index: int | None,
    phase_count: int,
    created_at: float | None,
    updated_at: float | None,
    generation: int,
    crash_count: int,
    cost: float | None,
    cost_threshold: float | None,
    time_s: float | None,
    time_threshold_s: float | None,
    step_count: int | None,
    last_event: str | None,
    last_event_at: float | None,
    history_count: int,
    owner: dict[str, Any] | None,
    legacy_pid: int | None,
    log_path: str | None,
    last_action_id: str | None,
    waiting_reason: str | None,
    recorded: Recorded,
) -> JobFacts:
    """`JobFacts(...)` of the scan's own values (`_scan.facts_from`'s), all 23 given in order:
    `facts_of_row` of them."""
    row = (
        status,
        description,
        current_phase,
        phase_index,
        phase_count,
        created_at,
        updated_at,
        generation,
        crash_count,
        cost,
        cost_threshold,
        time_s,
        time_threshold_s,
        step_count,
        last_event,
        last_event_at,
        history_count,
        owner,
        legacy_pid,
        log_path,
        last_action_id,
        waiting_reason,
    )
    return facts_of_row(row, recorded)


def facts_of_row(row: Sequence[Any], recorded: Recorded) -> JobFacts:
    """`JobFacts(*row[:22], recorded)` of a row of the scan's own values (`facts_row`'s order,
    as `_scan.facts_from` made them or the scan cache kept them; a 23rd item is not read),
    equal shared values as one tuple. Only for those: each field is then of one type (an int
    never a bool nor a float, a number never a string), so equal values are alike but for a
    zero's sign, which is never shared.

    Made at every job of a whole scan restored from the scan cache, so read in place: the
    row's items by plain subscripts (`operator.itemgetter` converts each index anew), the
    shared tuple of the row before when equal (most rows of a cache frame have their shared
    values alike, as the same objects: no hash of twelve values), the slots set without an
    `__init__` call."""
    global _last_shared
    cost_threshold = row[10]
    time_threshold_s = row[12]
    values = (
        row[2],
        row[4],
        row[7],
        row[8],
        cost_threshold,
        time_threshold_s,
        row[14],
        row[17],
        row[18],
        row[19],
        row[20],
        row[21],
    )
    if (
        row[17] is None
        and (cost_threshold or _unsigned(cost_threshold))
        and (time_threshold_s or _unsigned(time_threshold_s))
    ):
        shared = _last_shared  # (one of the table's: what its look-up finds for equal values)
        if values != shared:
            shared = _shared_tuples.get(values)  # type: ignore[assignment]
            if shared is None:
                shared = _new_shared(_Shared, values)
                if len(_shared_tuples) < _SHARED_KEPT:
                    _shared_tuples[shared] = _last_shared = shared
            else:
                _last_shared = shared
    else:  # an owner record (a dict, per job), or a zero whose sign must stay its own
        shared = _new_shared(_Shared, values)
    made = _new_draft(_Draft)
    made.status = row[0]
    made.description = row[1]
    made.phase_index = row[3]
    made.created_at = row[5]
    made.updated_at = row[6]
    made.cost = row[9]
    made.time_s = row[11]
    made.step_count = row[13]
    made.last_event_at = row[15]
    made.history_count = row[16]
    made.recorded = recorded
    made._shared = shared
    made.__class__ = JobFacts  # type: ignore[assignment]
    return made  # type: ignore[return-value]


_last_shared: _Shared = _new_shared(_Shared, (object(),) * len(_Shared._fields))
"""The table's shared tuple `facts_of_row` took last (at first one equal to no values)."""
_new_draft = object.__new__


def _unsigned(number: float | None) -> bool:
    """None, or a zero that is +0.0 (one of -0.0 must not become the other's, and back)."""
    return number is None or math.copysign(1.0, number) > 0


_probe_row = tuple(object() for _ in FIELD_NAMES)
_probe = facts_of_row(_probe_row, _probe_row[-1])  # type: ignore[arg-type]
if facts_row(_probe) != _probe_row or facts_row(JobFacts(*_probe_row)) != _probe_row:
    raise TypeError("JobFacts: facts_of_row must read the declared fields in their order")
del _probe_row, _probe


__all__ = ["FIELD_NAMES", "JobFacts", "facts_of_row", "facts_row", "new_facts"]
