"""The Logist console: a Textual app over `JobRecoveryManager` (see DESIGN.md section 7).

Importing this package does not import Textual; `logist.console.app` does.
"""

from .launch import run_console

__all__ = ["run_console"]
