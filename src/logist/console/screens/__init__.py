"""Screens of the console: the main panes, detail, logs, activity, confirmation, help."""
