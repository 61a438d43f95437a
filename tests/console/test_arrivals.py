"""New arrivals over many polls: exactly the jobs announced now that were not announced with
the same verdict at the poll before, in the order of the triage rows; `new` keeps them in
arrival order until looked at or no longer announced."""

from __future__ import annotations

import random
from types import SimpleNamespace

from logist.console.arrivals import ANNOUNCED, Arrivals
from logist.core import VerdictKind


def test_arrivals_over_many_polls_are_what_the_rule_says() -> None:
    rng = random.Random(17)
    kinds = [VerdictKind.CRASHED, VerdictKind.HUNG, VerdictKind.DETACHED, VerdictKind.WAITING]
    kinds += [VerdictKind.DONE, VerdictKind.RUNNING]
    arrivals = Arrivals()
    before: dict[str, VerdictKind] | None = None
    new: dict[str, VerdictKind] = {}
    jobs = [f"job-{n:03d}" for n in range(300)]
    states = {job: SimpleNamespace(verdict=SimpleNamespace(kind=rng.choice(kinds))) for job in jobs}
    arrived_at_all = 0
    for _ in range(40):
        for job in rng.sample(jobs, 30):
            states[job] = SimpleNamespace(verdict=SimpleNamespace(kind=rng.choice(kinds)))
        triage = [job for job in jobs if states[job].verdict.kind is not VerdictKind.DONE]
        rng.shuffle(triage)
        now = {j: states[j].verdict.kind for j in triage if states[j].verdict.kind in ANNOUNCED}
        wanted = []
        if before is not None:
            wanted = [(j, k) for j, k in now.items() if before.get(j) is not k]
        new = {j: k for j, k in new.items() if j in now}
        for job, kind in wanted:
            new.pop(job, None)
            new[job] = kind
        before = now
        arrived = arrivals.observe(states, dict.fromkeys(triage))  # type: ignore[arg-type]
        assert arrived == wanted
        assert list(arrivals.new.items()) == list(new.items())
        arrived_at_all += len(arrived)
        for job in rng.sample(sorted(new), min(3, len(new))):  # the operator looks at some
            assert arrivals.seen(job)
            del new[job]
    assert arrived_at_all > 100
