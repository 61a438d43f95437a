"""`logist run`'s long-lived half: supervise one job with only what supervising needs.

`logist._launch` reads and checks the arguments, prints the job id, then execs this module
(`python -m logist._run ROOT JOB_ID HEARTBEAT COMMAND...`). exec keeps the pid and its start
time, so the owner identity the runner records is the process that runs for hours, and that
process never imported click or the scanner, verdicts and recovery manager: one supervisor was
18 MB PSS (1,000 running jobs: 13.6 GB). Here it loads identity, locking and the atomic write
(tests/test_import_hygiene.py holds it to its list). What went wrong is reported by the CLI's
own code, imported only once the command has ended.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    root, job_id, heartbeat, *command = argv
    from .core._errors import LogistError
    from .runner import run_job

    error: Exception | None = None
    try:
        code = run_job(root, job_id, command, heartbeat=float(heartbeat))
    except (LogistError, OSError) as exc:  # RunnerError included; an unwritable root
        code, error = 2, exc
    if code == 0:
        return 0
    from .cli import run_ended  # the job is over: the CLI's messages may cost what they cost

    run_ended(root, job_id, code, error)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
