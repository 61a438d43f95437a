"""`logist` as a real process on a real pseudo-terminal (os.openpty), for what a terminal changes:
whether to ask before acting, and what reaches the screen.

stdin and stderr are the terminal (the prompt is asked there); stdout is a pipe unless the test
asks for it on the terminal too, so a JSON document can be read apart from the conversation.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class TerminalRun:
    returncode: int
    screen: str
    """Everything written to the terminal (stderr, and stdout when it was on the terminal)."""
    stdout: str
    """stdout when it was a pipe ("" when it was on the terminal)."""


def run_on_terminal(
    *args: str,
    answer: str | None = None,
    prompt: str = "[y/N]",
    stdout_on_terminal: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> TerminalRun:
    """Run `python -m logist ARGS`; when `prompt` appears on the terminal, type `answer`.

    With `answer=None` the run must end without asking (a question would hang until timeout,
    which fails the test with what was on the screen).
    """
    master, slave = os.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "LOGIST_JOBS_DIR"}
    environment.update(env or {})
    environment.setdefault("COLUMNS", "200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logist", *args],
        stdin=slave,
        stdout=slave if stdout_on_terminal else subprocess.PIPE,
        stderr=slave,
        env=environment,
        start_new_session=True,
    )
    os.close(slave)
    screen = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"logist {args} did not finish; the screen:\n{screen!r}")
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the process closed its end of the terminal
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                screen += chunk
            elif proc.poll() is not None:
                break
            if answer is not None and not answered and prompt.encode() in screen:
                os.write(master, answer.encode() + b"\n")
                answered = True
        stdout = "" if stdout_on_terminal else proc.stdout.read().decode()  # type: ignore[union-attr]
        returncode = proc.wait(timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        os.close(master)
        if proc.stdout is not None:
            proc.stdout.close()
    text = screen.decode("utf-8", "replace").replace("\r\n", "\n")
    if answer is not None:
        assert answered, f"logist {args} never asked; the screen:\n{text}"
    return TerminalRun(returncode, text, stdout)
