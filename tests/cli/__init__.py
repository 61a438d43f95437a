"""The `logist` command: JSON on stdout, exit codes, one-line errors without tracebacks."""
