"""Job states, their categories, and the safe state a crashed job goes back to."""

from __future__ import annotations

import pytest

from logist.core import Category, category_of, safe_state
from logist.core._states import ACTIVE_STATES, RESTING_STATES, TERMINAL_STATES


@pytest.mark.parametrize(
    ("states", "category"),
    [
        (ACTIVE_STATES, Category.ACTIVE),
        (RESTING_STATES, Category.RESTING),
        (TERMINAL_STATES, Category.TERMINAL),
    ],
)
def test_every_logist_state_has_its_documented_category(
    states: frozenset[str], category: Category
) -> None:
    assert {category_of(s) for s in states} == {category}


@pytest.mark.parametrize("status", [None, "", "executing", "BOGUS", "DONE"])
def test_a_status_logist_does_not_define_is_unknown(status: str | None) -> None:
    assert category_of(status) is Category.UNKNOWN


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PROVISIONING", "PENDING"),
        ("EXECUTING", "PENDING"),
        ("RECOVERING", "PENDING"),
        ("HARVESTING", "INTERVENTION_REQUIRED"),
        ("RUNNING", "PENDING"),
        ("REVIEWING", "REVIEW_REQUIRED"),
        ("ATTACHED", "SUSPENDED"),
    ],
)
def test_a_first_crash_sends_each_active_state_to_its_safe_state(
    status: str, expected: str
) -> None:
    assert safe_state(status, crash_count=1) == expected


def test_every_safe_state_is_a_resting_state_logist_can_take_up() -> None:
    for status in ACTIVE_STATES:
        for crashes in (1, 5):
            assert category_of(safe_state(status, crashes)) is Category.RESTING


@pytest.mark.parametrize("status", ["EXECUTING", "RECOVERING"])
@pytest.mark.parametrize(
    ("crash_count", "expected"),
    [(1, "PENDING"), (2, "PENDING"), (3, "INTERVENTION_REQUIRED"), (7, "INTERVENTION_REQUIRED")],
)
def test_executing_goes_to_intervention_once_crashes_reach_the_retry_cap(
    status: str, crash_count: int, expected: str
) -> None:
    assert safe_state(status, crash_count) == expected


def test_the_retry_cap_is_configurable() -> None:
    assert safe_state("EXECUTING", 1, retry_cap=1) == "INTERVENTION_REQUIRED"
    assert safe_state("EXECUTING", 4, retry_cap=5) == "PENDING"


@pytest.mark.parametrize("status", ["PENDING", "SUCCESS", "DRAFT", "BOGUS"])
def test_asking_the_safe_state_of_a_job_that_is_not_active_is_an_error(status: str) -> None:
    with pytest.raises(ValueError, match="not an active state"):
        safe_state(status, 1)
