"""The `logist` command (and `python -m logist`): `logist run` and `logist console` start
before click is imported.

`logist run` is the one command whose start is on the clock of every job (`logist._launch`);
`logist console`'s start-up shares the GIL with its first whole poll (`console_options`);
every other command, and any `run` or `console` the short paths are not sure of, goes to the
click group.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        from ._launch import launch, parse_run

        parsed = parse_run(sys.argv[2:])
        if parsed is not None:
            launch(*parsed)
    if sys.argv[1:2] == ["console"]:
        from ._gc import gc_paused

        with gc_paused():  # the imports make no garbage; collections walked them (~8 ms)
            from .console.launch import console_options, run_console

        options = console_options(sys.argv[2:])
        if options is not None:
            try:
                sys.exit(run_console(**options))
            except KeyboardInterrupt:  # as click says it (interrupted before the app took keys)
                print("Aborted!", file=sys.stderr)
                sys.exit(1)
    from .cli import main as click_main

    click_main()


if __name__ == "__main__":
    main()
