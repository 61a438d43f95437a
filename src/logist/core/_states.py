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
        "ATTACHED": "DETACHED",
    }
    try:
        return mapping[status]
    except KeyError:
        raise ValueError(f"{status!r} is not an active state") from None
