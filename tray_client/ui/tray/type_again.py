"""Type again (Recent, Paste last, the web app's history) and Copy: a text typed as the next dictation would be.

From the menu it types at once (the menu closing gives the focus back); from the web app it waits until the
user has switched from the browser to the window to type into.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable

from tray_client.events import FinalText, Notice
from tray_client.port import PipelinePort
from tray_client.text.writer import Written
from tray_client.ui.tray import _desktop, intents
from tray_client.undo.desktop import focused_window

__all__ = ["TypeAgain"]

WAIT_FOR_FOCUS_S = 30.0
FOCUS_POLL_S = 0.1


class TypeAgain:
    """Types or copies a text the user picked again (tray-controller thread; the typing on the output thread)."""

    def __init__(self, pipeline: PipelinePort, post: intents.Post, notify: Callable[[str], object]) -> None:
        self._pipeline = pipeline
        self._post = post
        self._notify = notify

    def handlers(self) -> dict[type, intents.Handler]:
        return {
            intents.CopyText: lambda i: _desktop.copy_to_clipboard(i.text),
            intents.TypeText: self._on_type_text,
        }

    def _on_type_text(self, intent: intents.TypeText) -> None:
        """From the menu at once (the menu closing gives the focus back); from the web app once the user has
        switched from the browser to the window to type into (WAIT_FOR_FOCUS_S at most, then a notice)."""
        if not intent.when_focus_moves:
            self.type_again(intent.text)
            return
        browser = focused_window()
        self._notify("Type again: click into the window to type into")

        def wait() -> None:
            deadline = time.monotonic() + WAIT_FOR_FOCUS_S
            while time.monotonic() < deadline:
                if focused_window() not in (browser, ""):
                    self._post(intents.TypeText(intent.text))
                    return
                time.sleep(FOCUS_POLL_S)  # polling the focus: the desktop has no portable "focus moved" event
            self._post(Notice("warning", "Type again: no other window was focused; nothing was typed"))

        threading.Thread(target=wait, name="type-again-focus", daemon=True).start()

    def type_again(self, text: str) -> None:
        """Type a Recent entry, or the last transcript (Paste last), into the focused window, spaced like the
        next dictation, on the output thread (after any final being typed)."""
        def report(done: concurrent.futures.Future[Written]) -> None:  # on the output thread: only post
            if done.exception() is not None:
                self._post(Notice("error", f"could not type the text again ({done.exception()})"))
                return
            written = done.result()
            if written.on_clipboard:
                self._post(Notice("warning", f"{written.on_clipboard}. Paste it with Ctrl+V."))
            elif written.typed:
                self._post(FinalText("again", written.text, typed=written.typed, app=written.target.app,
                                     window=written.target.window))

        if not text:
            self._notify("Nothing to paste yet: no dictation has finished")
            return
        self._pipeline.retype(text).add_done_callback(report)
