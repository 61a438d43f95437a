"""The unattended side: `logist watch` (journal, auto-recovery, metrics, hooks, systemd).

The service is loaded on first use: `logist events` and the CLI's start-up never import
prometheus-client.
"""

from ._auto import AutoMode, AutoPolicy

_SERVICE = {"WatchBusy", "WatchOptions", "WatchService"}


def __getattr__(name: str) -> object:
    if name in _SERVICE:
        from . import _service

        return getattr(_service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AutoMode", "AutoPolicy", "WatchBusy", "WatchOptions", "WatchService"]
