"""classify(observation, policy, now): one test per row of DESIGN section 4, on plain data.

No disk and no processes: the observations are what the scanner would have gathered.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logist.core import (
    Action,
    Category,
    Liveness,
    LockState,
    Observation,
    Policy,
    VerdictKind,
    classify,
)
from logist.core._plans import eligible_for_bulk

NOW = 1_800_000_000.0
POLICY = Policy(stall_after=60.0)

OURS_RUNNING = Observation(
    job_id="j",
    manifest_ok=True,
    status="EXECUTING",
    category=Category.ACTIVE,
    has_owner=True,
    owner=Liveness.ALIVE,
    owner_pid=101,
    owner_host="here",
    child=Liveness.NONE,
    child_pid=102,
    lock=LockState.HELD,
    heartbeat_at=NOW - 0.1,
    heartbeat_interval=1.0,
    started_at=NOW - 100,
    activity_at=NOW - 0.1,
)
UNOWNED = Observation(
    job_id="j",
    manifest_ok=True,
    status="EXECUTING",
    category=Category.ACTIVE,
    lock=LockState.FREE,
    activity_at=NOW - 5,
)


def kind_of(obs: Observation) -> VerdictKind:
    return classify(obs, POLICY, NOW).kind


def test_running_our_owner_alive_lock_held_and_heartbeat_fresh() -> None:
    verdict = classify(OURS_RUNNING, POLICY, NOW)
    assert verdict.kind is VerdictKind.RUNNING
    assert verdict.action is Action.WATCH
    assert not verdict.proven
    assert verdict.evidence["owner_pid"] == 101


def test_running_a_legacy_pid_that_exists_while_the_lock_is_held() -> None:
    obs = replace(UNOWNED, legacy_pid=55, owner=Liveness.UNVERIFIABLE, lock=LockState.HELD)
    assert kind_of(obs) is VerdictKind.RUNNING


def test_running_no_owner_recorded_but_the_lock_is_held() -> None:
    assert kind_of(replace(UNOWNED, lock=LockState.HELD)) is VerdictKind.RUNNING


def test_crashed_our_owner_dead_no_live_child_and_the_lock_free_is_proven() -> None:
    obs = replace(OURS_RUNNING, owner=Liveness.DEAD, child=Liveness.DEAD, lock=LockState.FREE)
    verdict = classify(obs, POLICY, NOW)
    assert verdict.kind is VerdictKind.CRASHED
    assert verdict.action is Action.RECOVER
    assert verdict.proven


def test_crashed_a_legacy_pid_that_no_longer_exists_with_the_lock_free() -> None:
    obs = replace(UNOWNED, legacy_pid=55, owner=Liveness.DEAD)
    verdict = classify(obs, POLICY, NOW)
    assert (verdict.kind, verdict.proven) == (VerdictKind.CRASHED, True)


def test_hung_owner_alive_but_heartbeat_older_than_three_intervals() -> None:
    obs = replace(OURS_RUNNING, heartbeat_at=NOW - 3.5)
    verdict = classify(obs, POLICY, NOW)
    assert verdict.kind is VerdictKind.HUNG
    assert verdict.action is Action.FORCE_RECOVER
    assert "lease expired" in verdict.reason


def test_a_heartbeat_exactly_at_the_lease_is_still_fresh() -> None:
    assert kind_of(replace(OURS_RUNNING, heartbeat_at=NOW - 3.0)) is VerdictKind.RUNNING


def test_without_a_heartbeat_file_the_lease_counts_from_the_runner_start() -> None:
    fresh = replace(OURS_RUNNING, heartbeat_at=None, started_at=NOW - 1)
    old = replace(OURS_RUNNING, heartbeat_at=None, started_at=NOW - 10)
    assert (kind_of(fresh), kind_of(old)) == (VerdictKind.RUNNING, VerdictKind.HUNG)


def test_the_lease_factor_of_the_policy_scales_the_heartbeat_lease() -> None:
    obs = replace(OURS_RUNNING, heartbeat_at=NOW - 5)
    assert classify(obs, Policy(lease_factor=10), NOW).kind is VerdictKind.RUNNING
    assert classify(obs, Policy(lease_factor=2), NOW).kind is VerdictKind.HUNG


def test_detached_owner_dead_while_its_command_still_runs() -> None:
    obs = replace(OURS_RUNNING, owner=Liveness.DEAD, child=Liveness.ALIVE, lock=LockState.FREE)
    verdict = classify(obs, POLICY, NOW)
    assert verdict.kind is VerdictKind.DETACHED
    assert verdict.action is Action.ADOPT
    assert not verdict.proven


def test_stalled_no_owner_lock_free_and_no_activity_for_stall_after() -> None:
    obs = replace(UNOWNED, activity_at=NOW - 61)
    verdict = classify(obs, POLICY, NOW)
    assert verdict.kind is VerdictKind.STALLED
    assert verdict.action is Action.RECOVER
    assert not verdict.proven


@pytest.mark.parametrize("activity_at", [NOW - 5, None])
def test_unverified_no_owner_lock_free_and_recent_or_no_activity(activity_at: float | None) -> None:
    verdict = classify(replace(UNOWNED, activity_at=activity_at), POLICY, NOW)
    assert verdict.kind is VerdictKind.UNVERIFIED
    assert verdict.action is Action.WAIT


def test_unverified_when_the_lock_of_an_unowned_job_cannot_be_read() -> None:
    obs = replace(UNOWNED, lock=LockState.UNKNOWN, activity_at=NOW - 10_000)
    assert kind_of(obs) is VerdictKind.UNVERIFIED


def test_suspect_a_legacy_pid_that_exists_but_cannot_be_verified() -> None:
    obs = replace(UNOWNED, legacy_pid=55, owner=Liveness.UNVERIFIABLE)
    verdict = classify(obs, POLICY, NOW)
    assert verdict.kind is VerdictKind.SUSPECT
    assert verdict.action is Action.DECIDE


def test_suspect_the_lock_held_by_a_process_that_is_not_the_dead_owner() -> None:
    obs = replace(OURS_RUNNING, owner=Liveness.DEAD, lock_holders=(4242,))
    verdict = classify(obs, POLICY, NOW)
    assert verdict.kind is VerdictKind.SUSPECT
    assert "4242" in verdict.reason


def test_suspect_the_owner_alive_but_the_lock_free() -> None:
    assert kind_of(replace(OURS_RUNNING, lock=LockState.FREE)) is VerdictKind.SUSPECT


@pytest.mark.parametrize(
    "obs",
    [
        replace(OURS_RUNNING, owner=Liveness.DEAD, lock=LockState.UNKNOWN),
        replace(UNOWNED, legacy_pid=55, owner=Liveness.DEAD, lock=LockState.HELD),
        replace(UNOWNED, legacy_pid=55, owner=Liveness.DEAD, lock=LockState.UNKNOWN),
        replace(UNOWNED, status="BOGUS", category=Category.UNKNOWN),
    ],
    ids=["dead-owner-lock-unknown", "dead-legacy-lock-held", "dead-legacy-unknown", "bad-status"],
)
def test_suspect_whenever_death_is_not_proven_or_the_status_is_unknown(obs: Observation) -> None:
    assert kind_of(obs) is VerdictKind.SUSPECT


def test_remote_owner_on_another_host_with_a_fresh_heartbeat() -> None:
    obs = replace(OURS_RUNNING, owner=Liveness.REMOTE, owner_host="far", lock=LockState.FREE)
    verdict = classify(obs, POLICY, NOW)
    assert (verdict.kind, verdict.action) == (VerdictKind.REMOTE, Action.NONE)
    assert "far" in verdict.reason


def test_remote_stale_owner_on_another_host_past_the_lease_is_inferred_not_proven() -> None:
    obs = replace(OURS_RUNNING, owner=Liveness.REMOTE, owner_host="far", heartbeat_at=NOW - 60)
    verdict = classify(obs, POLICY, NOW)
    assert (verdict.kind, verdict.action) == (VerdictKind.REMOTE_STALE, Action.RECOVER)
    assert not verdict.proven


@pytest.mark.parametrize("status", ["PENDING", "SUSPENDED", "DETACHED"])
def test_idle_a_resting_state_needs_no_owner(status: str) -> None:
    obs = replace(UNOWNED, status=status, category=Category.RESTING, lock=LockState.UNKNOWN)
    verdict = classify(obs, POLICY, NOW)
    assert (verdict.kind, verdict.action) == (VerdictKind.IDLE, Action.NONE)


def test_waiting_intervention_required_waits_for_a_person_with_the_reason_it_was_given() -> None:
    obs = replace(
        UNOWNED,
        status="INTERVENTION_REQUIRED",
        category=Category.RESTING,
        waiting_reason="command exited with status 3",
    )
    verdict = classify(obs, POLICY, NOW)
    assert (verdict.kind, verdict.action) == (VerdictKind.WAITING, Action.DECIDE)
    assert verdict.reason == "INTERVENTION_REQUIRED: command exited with status 3"
    assert not verdict.proven
    unexplained = classify(replace(obs, waiting_reason=None), POLICY, NOW)
    assert unexplained.reason == "INTERVENTION_REQUIRED: waiting for a person"


@pytest.mark.parametrize("status", ["SUCCESS", "CANCELED", "FAILED"])
def test_done_a_terminal_state(status: str) -> None:
    obs = replace(UNOWNED, status=status, category=Category.TERMINAL)
    assert kind_of(obs) is VerdictKind.DONE


def test_corrupt_an_unreadable_manifest_whatever_else_is_observed() -> None:
    obs = replace(OURS_RUNNING, manifest_ok=False, manifest_problem="manifest is empty")
    verdict = classify(obs, POLICY, NOW)
    assert (verdict.kind, verdict.action) == (VerdictKind.CORRUPT, Action.FIX)
    assert verdict.reason == "manifest is empty"


def test_a_verdict_serialises_with_its_evidence() -> None:
    data = classify(OURS_RUNNING, POLICY, NOW).to_dict()
    assert data["verdict"] == "running"
    assert data["evidence"]["lock"] == "held"
    assert data["evidence"]["heartbeat_age_s"] == 0.1


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    """Observations the scanner can produce: a runner block has a verifiable owner (and maybe a
    command); a legacy pid is dead or unverifiable; without either, the owner is none."""
    has_owner = draw(st.booleans())
    legacy_pid = None if has_owner else draw(st.one_of(st.none(), st.integers(1, 2**22)))
    if has_owner:
        owner = draw(st.sampled_from([Liveness.ALIVE, Liveness.DEAD, Liveness.REMOTE]))
    elif legacy_pid is not None:
        owner = draw(st.sampled_from([Liveness.DEAD, Liveness.UNVERIFIABLE]))
    else:
        owner = Liveness.NONE
    moments = st.one_of(st.none(), st.floats(NOW - 1e6, NOW + 10))
    return Observation(
        job_id="j",
        manifest_ok=draw(st.booleans()),
        status=draw(st.sampled_from([None, "EXECUTING", "HARVESTING", "PENDING", "SUCCESS", "X"])),
        category=draw(st.sampled_from(list(Category))),
        has_owner=has_owner,
        owner=owner,
        child=draw(st.sampled_from([Liveness.NONE, Liveness.ALIVE, Liveness.DEAD]))
        if has_owner
        else Liveness.NONE,
        legacy_pid=legacy_pid,
        lock=draw(st.sampled_from(list(LockState))),
        lock_holders=tuple(draw(st.lists(st.integers(1, 99999), max_size=2))),
        heartbeat_at=draw(moments),
        heartbeat_interval=draw(st.one_of(st.none(), st.floats(0.01, 100))),
        started_at=draw(moments),
        activity_at=draw(moments),
    )


@settings(max_examples=500)
@given(observations())
def test_crashed_is_only_ever_called_on_proof(obs: Observation) -> None:
    verdict = classify(obs, POLICY, NOW)
    assert verdict.proven == (verdict.kind is VerdictKind.CRASHED)
    if verdict.kind is VerdictKind.CRASHED:
        assert obs.manifest_ok and obs.category is Category.ACTIVE
        assert obs.lock is LockState.FREE
        assert obs.owner is Liveness.DEAD
        assert obs.child is not Liveness.ALIVE
    if obs.lock is LockState.UNKNOWN and obs.owner is not Liveness.REMOTE:
        assert verdict.action is not Action.RECOVER


@pytest.mark.parametrize(
    ("kind", "inferred", "force", "eligible"),
    [
        (VerdictKind.CRASHED, False, False, True),
        (VerdictKind.STALLED, False, False, False),
        (VerdictKind.STALLED, True, False, True),
        (VerdictKind.REMOTE_STALE, True, False, True),
        (VerdictKind.HUNG, True, False, False),
        (VerdictKind.HUNG, False, True, True),
        (VerdictKind.DETACHED, False, True, True),
        (VerdictKind.SUSPECT, True, True, False),
        (VerdictKind.UNVERIFIED, True, True, False),
        (VerdictKind.RUNNING, True, True, False),
        (VerdictKind.CORRUPT, True, True, False),
    ],
)
def test_bulk_takes_proven_crashes_by_default_and_more_only_when_asked(
    kind: VerdictKind, inferred: bool, force: bool, eligible: bool
) -> None:
    assert eligible_for_bulk(kind, include_inferred=inferred, force=force) is eligible
