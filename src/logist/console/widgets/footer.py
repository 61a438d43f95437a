"""The footer, rebuilt only when the keys it shows change.

Textual's Footer recomposes on every focus change; moving between the panes (whose keys are
the same) rebuilt a dozen widgets and relaid out the screen each time (measured: up to 40 ms
of a pane switch at 200x60).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input


class KeysFooter(Footer):
    """A Footer that skips recomposing when its keys, labels and enabled states are the same."""

    def __init__(self, *, compact: bool = True) -> None:
        super().__init__(compact=compact)
        self._shown: tuple[tuple[str, str, bool], ...] | None = None

    def compose(self) -> ComposeResult:
        """The keys from the first compose, in the screen's first frame: Textual's Footer
        composes none until the screen's bindings first change, then mounts them all (at
        200x60 two more frames, layouts and styles after the console's first frame, on the GIL
        the first whole poll of a big root needs); that change then finds them shown."""
        if not self._bindings_ready:
            self.set_reactive(Footer._bindings_ready, True)
            self._shown = self._keys(self.screen)
        yield from super().compose()

    @staticmethod
    def _keys(screen: Screen) -> tuple[tuple[str, str, bool], ...]:
        return tuple(
            (binding.key, binding.description, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        if isinstance(screen.focused, Input) and screen.focused.id == "filter":
            # the filter covers the footer while it has the focus: the keys the footer would
            # show then are never seen, and rebuilding it twice (going in and coming back)
            # laid out the screen twice (at 100,000 jobs `escape` took 20 to 40 ms more)
            return
        shown = self._keys(screen)
        if self._bindings_ready and shown == self._shown:
            return
        if screen.app.app_focus:
            self._shown = shown
        super().bindings_changed(screen)
