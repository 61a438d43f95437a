"""Widgets of the console; each module is one pane or one reusable piece."""
