"""The core cannot see the screen: importing it must not load a UI or the CLI."""

import subprocess
import sys


def test_importing_logist_core_loads_no_textual_no_click_and_no_console() -> None:
    probe = (
        "import sys, logist.core, logist.core.recovery; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'click', 'rich') "
        "or m.startswith(('logist.console', 'logist.cli'))); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
