"""What an apply replaces is freed by the poll worker (`let_go`), not on the event loop.

Real app, real polls on a real root whose manifests change, vanish, appear and break between
whole polls; `let_go` is wrapped only to record where and with what it runs."""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import logist.console.app as app_module
from conftest import write_job
from logist._gc import let_go
from logist.console.poller import Poller
from logist.core import JobRecoveryManager

from .support import make_app, refresh, settle, synchronously


class _Value:
    """A weakly referable value: whether it was freed."""


@dataclass(slots=True)
class _Holder:
    alone: dict[str, _Value] = field(default_factory=dict)
    shared: dict[str, _Value] = field(default_factory=dict)
    other: list[_Value] = field(default_factory=list)


def test_let_go_frees_what_only_the_holders_hold_and_leaves_what_is_held_elsewhere() -> None:
    kept = {"k": _Value()}
    first = _Holder({str(n): _Value() for n in range(100)}, kept)
    second = _Holder(first.alone, kept)  # a dict two holders share is still theirs alone
    freed = [weakref.ref(value) for value in first.alone.values()]
    kept_value = weakref.ref(kept["k"])
    holders: list[object] = [first, second]
    del first, second
    let_go(holders)
    assert holders == []
    assert all(ref() is None for ref in freed)
    assert kept_value() is not None and list(kept) == ["k"], "a dict held elsewhere was emptied"


def test_let_go_leaves_a_live_holder_whole() -> None:
    holder = _Holder({"a": _Value()}, {"b": _Value()})
    let_go([holder])
    assert list(holder.alone) == ["a"] and list(holder.shared) == ["b"]


def _write_root(root: Path) -> None:
    for number in range(60):
        status = ("SUCCESS", "PENDING", "FAILED")[number % 3]
        write_job(root, f"job-{number:03d}", status=status)


def _change(root: Path, round_: int) -> None:
    for number in range(round_, 60, 4):
        status = ("PENDING", "SUCCESS", "FAILED")[(number + round_) % 3]
        write_job(root, f"job-{number:03d}", status=status, description=f"round {round_}")
    gone = root / f"job-{round_:03d}"
    for child in gone.iterdir():
        child.unlink()
    gone.rmdir()
    write_job(root, f"new-{round_}", status="RUNNING")
    write_job(root, f"broken-{round_}", b'{"status": ')


@synchronously
async def test_whole_polls_show_a_fresh_polls_rows_and_free_what_they_replaced_in_the_worker(
    jobs_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_root(jobs_root)
    calls: list[tuple[bool, set[int]]] = []

    def recorded(holders: list[object]) -> None:
        on_loop = threading.current_thread() is threading.main_thread()
        calls.append((on_loop, {id(holder) for holder in holders}))
        let_go(holders)

    monkeypatch.setattr(app_module, "let_go", recorded)
    now = time.time() + 60  # one clock for the app and the fresh polls: rows say ages

    def clock() -> float:
        return now

    app = make_app(jobs_root, clock=clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for round_ in range(1, 4):
            replaced = app.last_poll
            assert replaced is not None
            _change(jobs_root, round_)
            await refresh(pilot)
            manager = JobRecoveryManager(jobs_root, clock=clock)
            fresh = Poller(manager=manager, clock=clock).poll()
            shown: Any = app.main_screen.table("jobs").rows
            assert dict(shown) == fresh.jobs
            assert app.last_poll is not None and app.last_poll.jobs == fresh.jobs
            assert app.last_poll.states.keys() == fresh.states.keys()
            await refresh(pilot)  # its worker lets go of what the poll before replaced
            assert any(id(replaced) in holders for _, holders in calls)
    assert calls and not any(on_loop for on_loop, _ in calls)
