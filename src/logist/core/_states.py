"""Logist job states, their categories, and where a crashed job may safely rest.

The state names are Logist's own; deprecated names still appear in old roots and are kept.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What a state says about ownership."""

    ACTIVE = "active"
    """Someone must own the job while it is in this state."""
    RESTING = "resting"
    """Nobody needs to own the job; Logist can take it up."""
    TERMINAL = "terminal"
    """The job is over."""
    UNKNOWN = "unknown"
    """A status this tool does not know (a finding)."""


ACTIVE_STATES = frozenset(
    {"PROVISIONING", "EXECUTING", "RECOVERING", "HARVESTING", "RUNNING", "REVIEWING", "ATTACHED"}
)
RESTING_STATES = frozenset(
    {
        "DRAFT",
        "PENDING",
        "SUSPENDED",
        "APPROVAL_REQUIRED",
        "INTERVENTION_REQUIRED",
        "PAUSED",
        "REVIEW_REQUIRED",
        "DETACHED",
    }
)
WAITING_STATES = frozenset({"INTERVENTION_REQUIRED"})
"""Resting states in which the job waits for a person: a command failed, could not start, or
ended with an outcome nobody could know; Logist will not take it up by itself."""
TERMINAL_STATES = frozenset({"SUCCESS", "CANCELED", "FAILED"})
DEPRECATED_STATES = frozenset(
    {"RUNNING", "REVIEWING", "ATTACHED", "PAUSED", "REVIEW_REQUIRED", "DETACHED", "FAILED"}
)

DEFAULT_RETRY_CAP = 3


def category_of(status: str | None) -> Category:
    if status in ACTIVE_STATES:
        return Category.ACTIVE
    if status in RESTING_STATES:
        return Category.RESTING
    if status in TERMINAL_STATES:
        return Category.TERMINAL
    return Category.UNKNOWN


def safe_state(status: str, crash_count: int, retry_cap: int = DEFAULT_RETRY_CAP) -> str:
    """The state from which Logist can take a crashed job up again.

    `crash_count` is the number of crashes already recorded, this one included.
    Raises ValueError for a state that is not active (there is nothing to recover).
    """
    if status in ("EXECUTING", "RECOVERING"):
        return "INTERVENTION_REQUIRED" if crash_count >= retry_cap else "PENDING"
    mapping = {
        "PROVISIONING": "PENDING",
        # Outputs may be half collected: a human has to look.
        "HARVESTING": "INTERVENTION_REQUIRED",
        "RUNNING": "PENDING",
        "REVIEWING": "REVIEW_REQUIRED",
        # Not DETACHED: the original lets nothing leave DETACHED. From SUSPENDED it can RESUME
        # or CANCEL, and ATTACHED -> SUSPENDED is a move its own state machine allows.
        "ATTACHED": "SUSPENDED",
    }
    try:
        return mapping[status]
    except KeyError:
        raise ValueError(f"{status!r} is not an active state") from None


# The moves the original Logist's state machine allows (its `validate_state_transition`, commit
# 1b3d3e9), as data: status -> the statuses it may change to. A status missing here (PAUSED,
# FAILED) has no rule there; DETACHED and the terminal states allow nothing.
ORIGINAL_MOVES: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"PENDING", "SUSPENDED", "CANCELED"}),
    "PENDING": frozenset({"PROVISIONING", "SUSPENDED", "CANCELED", "RUNNING"}),
    "PROVISIONING": frozenset({"EXECUTING", "INTERVENTION_REQUIRED", "CANCELED"}),
    "EXECUTING": frozenset({"HARVESTING", "RECOVERING", "CANCELED"}),
    "RECOVERING": frozenset({"EXECUTING"}),
    "HARVESTING": frozenset({"SUCCESS", "APPROVAL_REQUIRED", "INTERVENTION_REQUIRED", "CANCELED"}),
    "RUNNING": frozenset(
        {"HARVESTING", "SUSPENDED", "CANCELED", "INTERVENTION_REQUIRED", "REVIEW_REQUIRED"}
    ),
    "REVIEW_REQUIRED": frozenset(
        {"APPROVAL_REQUIRED", "INTERVENTION_REQUIRED", "SUSPENDED", "CANCELED", "REVIEWING"}
    ),
    "REVIEWING": frozenset({"APPROVAL_REQUIRED", "INTERVENTION_REQUIRED", "SUSPENDED", "CANCELED"}),
    "APPROVAL_REQUIRED": frozenset({"SUCCESS", "PENDING", "SUSPENDED", "CANCELED"}),
    "INTERVENTION_REQUIRED": frozenset({"PENDING", "SUSPENDED", "CANCELED"}),
    "SUSPENDED": frozenset({"PENDING", "CANCELED"}),
    "ATTACHED": frozenset({"SUSPENDED", "DETACHED"}),
    "DETACHED": frozenset(),
    "SUCCESS": frozenset(),
    "CANCELED": frozenset(),
}


def original_allows(status: str, target: str) -> bool:
    """Whether the original's state machine lets `status` change to `target`."""
    moves = ORIGINAL_MOVES.get(status)
    if moves is None:
        return status in ("PAUSED", "FAILED")  # no rule there; unknown statuses: no
    return target in moves


def original_path(status: str, target: str) -> list[str] | None:
    """The shortest chain of moves the original allows from `status` to `target` (both ends
    included, never through a terminal state); None when there is none (e.g. from DETACHED)."""
    if status == target:
        return [status]
    paths = {status: [status]}
    frontier = [status]
    while frontier:
        following = []
        for current in frontier:
            # INTERVENTION_REQUIRED first: a human re-submits, nothing is approved or rejected
            moves = ORIGINAL_MOVES.get(current, ())
            for step in sorted(moves, key=lambda s: (s != "INTERVENTION_REQUIRED", s)):
                if step in paths or (step in TERMINAL_STATES and step != target):
                    continue
                paths[step] = [*paths[current], step]
                if step == target:
                    return paths[step]
                following.append(step)
        frontier = following
    if status in ("PAUSED", "FAILED") and target not in TERMINAL_STATES:
        return [status, target]
    return None
