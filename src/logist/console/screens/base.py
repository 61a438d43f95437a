"""What the app asks of screens it may not have imported yet.

The screens pushed on a key (detail, live view, activity, timeline, confirmation, help...) are
imported when first opened, not before the console's first frame (~10 ms of the event loop's
start-up, the same GIL the first whole poll needs). The app tells them apart on its stack by
these bases instead of by their classes.
"""

from __future__ import annotations


class FollowsPolls:
    """A screen that refreshes what it shows after each poll the app applies."""

    def poll_applied(self) -> None:
        """Called by the app after it applied a poll (the screen's data may have changed)."""


class ShowsJob(FollowsPolls):
    """A screen about one job: the job keys (recover, reattach, fix, logs) act on it."""

    job_id: str
