"""The findings pane's natural order, kept by the poll worker as the findings come and go.

A root moved with its index has a finding per job (100,000 `index-path-mismatch` at 100,000
jobs): the table sorting them by a Python key on the event loop was 70 ms of every whole poll
that made any finding row again. A finding's rank is its severity, then its key (job, then
code: see `finding_row`), and only a finding that came, went or changed severity moves: the
order is kept per severity as a list of keys in plain string order (a sort of strings, or a
`bisect.insort` each when few came, all in C), and handed over whole.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Mapping
from itertools import chain, filterfalse

from .rows import Row

INSERTED_MAX = 256
"""Up to this many new keys of one severity go in by binary search; more make a new sort
(a sort of keys mostly in order is a few ms at 100,000)."""


class FindingOrder:
    """Every finding key in the findings pane's natural order (its rows' `rank`). Lists handed
    out are never changed: an update that moves a key makes new ones."""

    def __init__(self) -> None:
        self._by_severity: dict[int, list[str]] = {}
        """Per severity rank: its keys, sorted (a rank's second part is the key)."""
        self.natural: list[str] = []

    def count(self, severity: int) -> int:
        """How many findings have this severity rank."""
        return len(self._by_severity.get(severity, ()))

    def update(
        self,
        rows: Mapping[str, Row],
        previous: Mapping[str, Row],
        changed: Iterable[str],
        removed: Iterable[str],
    ) -> None:
        """Follow a poll: `rows` the new rows, `previous` those the order was made from,
        `changed` the keys new or with another row, `removed` the keys gone."""
        leaving: dict[int, list[str]] = {}
        coming: dict[int, list[str]] = {}
        for key in removed:
            leaving.setdefault(previous[key].rank[0], []).append(key)
        for key in changed:
            row, before = rows[key], previous.get(key)
            if before is not None:
                if before.rank == row.rank:
                    continue  # (the same key: the same place, unless its severity changed)
                leaving.setdefault(before.rank[0], []).append(key)
            coming.setdefault(row.rank[0], []).append(key)
        if not leaving and not coming:
            return
        by_severity = self._by_severity
        for severity in leaving.keys() | coming.keys():
            keys = by_severity.get(severity, [])
            gone = leaving.get(severity)
            if gone:
                keys = list(filterfalse(set(gone).__contains__, keys))
            new = coming.get(severity, [])
            if len(new) > INSERTED_MAX:
                keys = sorted(chain(keys, new))
            elif new:
                keys = keys.copy() if not gone else keys
                for key in new:
                    insort(keys, key)
            if keys:
                by_severity[severity] = keys
            else:
                by_severity.pop(severity, None)
        self.natural = list(chain.from_iterable(by_severity[s] for s in sorted(by_severity)))
