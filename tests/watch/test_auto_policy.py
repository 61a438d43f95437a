"""The auto-recovery policy as pure decisions: rate limit, backoff, storm brake."""

from __future__ import annotations

from logist.watch._auto import AutoMode, AutoPolicy, AutoState, brake_check

POLICY = AutoPolicy(AutoMode.PROVEN, max_per_minute=3, backoff_s=10.0, backoff_max_s=40.0)


def test_the_rate_limit_spreads_attempts_over_the_minute() -> None:
    state = AutoState()
    jobs = [f"job{n}" for n in range(5)]
    assert state.choose(jobs, 0.0, POLICY) == ["job0", "job1", "job2"]
    assert state.choose(jobs[3:], 30.0, POLICY) == []
    assert state.choose(jobs[3:], 60.0, POLICY) == ["job3", "job4"]


def test_no_rate_limit_with_zero() -> None:
    unlimited = AutoPolicy(AutoMode.PROVEN, max_per_minute=0)
    jobs = [f"job{n}" for n in range(1000)]
    assert AutoState().choose(jobs, 0.0, unlimited) == jobs


def test_a_failing_job_backs_off_doubling_up_to_the_cap_and_success_resets_it() -> None:
    state = AutoState()
    assert [state.failed("j", 0.0, POLICY) for _ in range(4)] == [10.0, 20.0, 40.0, 40.0]
    assert state.choose(["j", "k"], 39.0, POLICY) == ["k"]
    assert state.choose(["j"], 41.0, POLICY) == ["j"]
    state.succeeded("j")
    assert state.failed("j", 100.0, POLICY) == 10.0


def test_the_brake_trips_over_half_the_active_jobs_and_at_least_the_minimum() -> None:
    policy = AutoPolicy(AutoMode.PROVEN, brake_share=0.5, brake_min_jobs=20)
    assert not brake_check(19, 19, policy).trips, "fewer than the minimum"
    assert not brake_check(50, 100, policy).trips, "half is not more than half"
    check = brake_check(51, 100, policy)
    assert check.trips and "51 of 100 active jobs" in check.reason
    assert not brake_check(1000, 1000, AutoPolicy(brake_share=0)).trips, "0: no brake"
