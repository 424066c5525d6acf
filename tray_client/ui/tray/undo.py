"""Undo from the tray: the undo hotkey and menu item, and the voice command "scratch that", on one journal.

The journal (undo/journal.py) remembers what each final typed and where; the key watch tells it when the user
typed since, so undo never deletes the user's own keys. The erasing itself runs on the pipeline's output
thread, in line with the finals (see `undo_last` and `voice_undo`).
"""

from __future__ import annotations

import concurrent.futures
import time

from tray_client.events import FinalText, Notice
from tray_client.port import PipelinePort
from tray_client.sinks import TextSink
from tray_client.ui.tray import intents
from tray_client.undo.desktop import KeyWatch, erase, focused_window
from tray_client.undo.journal import UndoJournal, UndoRefused

__all__ = ["UndoControl"]


class UndoControl:
    """The undo journal, its key watch, and the two ways in (hotkey/menu, voice)."""

    def __init__(self, pipeline: PipelinePort, post: intents.Post) -> None:
        self._pipeline = pipeline
        self._post = post
        self._journal = UndoJournal()
        self._key_watch: KeyWatch | None = None

    @property
    def journal(self) -> UndoJournal:
        """What undo can take back; the voice edit records its replacements here too."""
        return self._journal

    def handlers(self) -> dict[type, intents.Handler]:
        return {intents.UndoLast: lambda _i: self.undo_last()}

    def attach(self) -> None:
        """The voice command "scratch that" undoes like the hotkey (call before the pipeline starts)."""
        self._pipeline.use_undo(self.voice_undo)

    def start_key_watch(self) -> None:
        """Undo needs to know whether the user typed since a final; without the watch it refuses to act."""
        try:
            self._key_watch = KeyWatch(self._journal)
            self._key_watch.start()
        except Exception as error:
            self._key_watch = None
            self._journal.blind(f"the keyboard cannot be watched ({error})")

    def stop_keys(self) -> None:
        if self._key_watch is not None:
            self._key_watch.stop()

    def on_final(self, event: FinalText) -> None:
        if self._pipeline.config.output != "stdout":
            self._journal.typed(event.typed, event.window or focused_window(), time.monotonic())

    def undo_last(self) -> None:
        """The undo hotkey or menu item: on the output thread, after any final still being typed, through the
        text writer (which restores the spacing) into `voice_undo` (this journal's rules); a refusal is shown."""
        def report(done: concurrent.futures.Future[str]) -> None:  # on the output thread: only post
            error = done.exception()
            if error is not None:
                self._post(Notice("error", f"Undo failed: {error}"))
            elif done.result():
                self._post(Notice("warning", done.result()))

        self._pipeline.undo_last().add_done_callback(report)

    def voice_undo(self, sink: TextSink) -> str:
        """"Scratch that", on the output thread in line with the finals: the hotkey's undo, same journal.
        Returns "" when it deleted, else why not (the text stage shows that as a notice)."""
        plan = self._journal.plan(focused_window())
        if isinstance(plan, UndoRefused):
            return plan.reason
        refused = erase(sink, plan.typed)  # exactly that text, or nothing (see undo/desktop.py)
        if refused:
            return refused
        if plan.restore:  # a voice edit: the original text goes back where the answer was
            from tray_client.voice_edit.output import type_lines

            type_lines(sink, plan.restore)
        self._journal.done(plan)
        return ""
