"""The `logist` command (and `python -m logist`): `logist run` starts before click is imported.

`logist run` is the one command whose start is on the clock of every job (`logist._launch`);
every other command, and any `run` the short path is not sure of, goes to the click group.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from ._launch import launch, parse_run

        parsed = parse_run(sys.argv[2:])
        if parsed is not None:
            launch(*parsed)
    from .cli import main as click_main

    click_main()


if __name__ == "__main__":
    main()
