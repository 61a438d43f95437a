"""One object for the many equal values of a big root."""

from typing import Any


class Interner:
    """Hands back one shared object per equal (hashable) value.

    At 100,000 jobs a copy per job of each status, phase, event label or row style cost tens of
    MB (the console's RSS budget); sharing makes them references. Bounded, so a hostile root
    with endless distinct values cannot grow it: past `cap` values are returned as they are.
    """

    __slots__ = ("_cap", "_seen")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._seen: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        found = self._seen.get(value)
        if found is not None:
            return found
        if len(self._seen) < self._cap:
            self._seen[value] = value
        return value
