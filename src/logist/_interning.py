"""One object for the many equal values of a big root."""

from typing import Any


class Interner(dict[Any, Any]):
    """Hands back one shared object per equal (hashable) value: `interner[value]`, or
    `interner(value)`.

    At 100,000 jobs a copy per job of each status, phase, event label or row style cost tens of
    MB (the console's RSS budget); sharing makes them references. Bounded, so a hostile root
    with endless distinct values cannot grow it: past `cap` values are returned as they are.
    A dict whose missing keys become their own values: a value seen before is found by the
    subscript in C (20 ns; a call of a Python `__call__` costs 180 ns, five times per job in a
    cold scan).
    """

    __slots__ = ("_cap",)

    def __init__(self, cap: int) -> None:
        super().__init__()
        self._cap = cap

    def __missing__(self, value: Any) -> Any:
        if len(self) < self._cap:
            self[value] = value
        return value

    def __call__(self, value: Any) -> Any:
        return self[value]
