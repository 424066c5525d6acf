"""Plays the text stage's plan for one final into the focused app's sink, on the output thread.

Thin driver around the pure `TextStage`: it picks the sink the app's profile asks for (type or paste, and which
paste keys), keeps the spacing between finals, presses the keys commands asked for, and remembers what each
final typed, so "scratch that" can delete it again with Backspace: only in the app it was typed into, and never
across an Enter (that may have sent a message or run a command). Used from the output thread only.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dictation_core.joining import join_text
from tray_client.desktop.focus import Focus
from tray_client.desktop.pinning import TargetGate, Verdict
from tray_client.sinks import TextSink
from tray_client.sinks.keys import Key, KeySink
from tray_client.text.profiles import Profile
from tray_client.text.spacing import Spacer
from tray_client.text.stage import TextPlan, TextStage

log = logging.getLogger(__name__)

UNDO_DEPTH = 20  # finals "scratch that" can walk back, one per command


@dataclass(frozen=True)
class Written:
    """What one final did: `text` as history shows it, `typed` exactly as it reached the window."""

    text: str  # the output, a line break for each key
    raw: str  # the model's text, sanitized (before commands, clean-up, script, replacements)
    typed: str  # separators included; a line break for each line-break key
    stop_listening: bool = False
    notes: tuple[str, ...] = ()  # what the user should know (an undo refused, a clean-up skipped)
    target: Focus = field(default_factory=Focus)  # the window it went to (unknown: stdout, or no focus information)
    on_clipboard: str = ""  # not typed but put on the clipboard, and why (the user's notice); "" when typed


@dataclass(frozen=True)
class _Footprint:
    app: tuple[str, ...]
    typed: str
    spacing_before: str
    undoable: bool


class TextWriter:
    """Runs finals through the text stage and into sinks. One per pipeline; call it on the output thread."""

    def __init__(self, stage: TextStage, make_sink: Callable[[str, str], TextSink] | None = None, *,
                 gate: TargetGate | None = None, to_clipboard: Callable[[str], None] | None = None) -> None:
        """`make_sink(output, paste_keys)` makes a sink for an app whose profile differs from the default one;
        None keeps every final on the default sink (a sink given by a test). `gate`: types a final only into
        the window its utterance was pinned to (desktop.pinning), else `to_clipboard`; None types wherever."""
        self._stage = stage
        self._make_sink = make_sink
        self._gate = gate
        self._to_clipboard = to_clipboard
        self._sinks: dict[tuple[str, str], TextSink] = {}
        self._spacer = Spacer()
        self._app: tuple[str, tuple[str, ...]] | None = None  # (window, app names) of the last output
        self._footprints: deque[_Footprint] = deque(maxlen=UNDO_DEPTH)
        # The app's own undo (the tray's journal: it also knows whether the user typed since), when there is
        # one; headless, the footprints below do it.
        self.external_undo: Callable[[TextSink], str] | None = None

    def write(self, default: TextSink, default_kind: tuple[str, str], profile: Profile, app: Sequence[str],
              raw: str, language: str = "", *, pinned: Focus | None = None) -> Written:
        """Process `raw` for the app `app` (its names) with `profile`, and output it into the window the
        utterance was `pinned` to (see desktop.pinning); blocking."""
        plan = self._stage.process(raw, profile, language)
        sink = self._sink_for(default, default_kind, profile)
        notes = [f"clean-up skipped: {plan.cleanup_skipped}"] if plan.cleanup_skipped else []
        if not sink.spaced:
            return self._write_line(sink, plan, notes)
        target = Focus(names=tuple(app))
        if self._gate is not None:
            gate = self._gate.check(pinned or Focus())
            if gate.verdict is Verdict.CLIPBOARD:
                return self._to_clipboard_instead(plan, gate.reason, notes)
            target = gate.focus if gate.focus.known else target
        return self._type_plan(sink, plan, target, notes)

    def retype(self, sink: TextSink, text: str) -> Written:
        """Type `text` again (Recent -> Type again, Paste last) into the window in front, spaced like the next
        dictation, and undoable like one; never into our own windows (the gate waits for them)."""
        if not sink.spaced:
            sink.emit(text)
            return Written(text, text, text)
        # Without focus information: the window of the last output (the user's, as far as we can tell).
        target = Focus(self._app[0], self._app[1]) if self._app else Focus()
        if self._gate is not None:
            gate = self._gate.check(Focus())  # no pin: the window the user is in now
            if gate.verdict is Verdict.CLIPBOARD:
                return self._to_clipboard_instead(TextPlan(text, (text,)), gate.reason, [])
            target = gate.focus
        return self._type_plan(sink, TextPlan(text, (text,)), target, [])

    def _to_clipboard_instead(self, plan: TextPlan, reason: str, notes: list[str]) -> Written:
        """Not typed: the final's text goes on the clipboard (the user's notice says so); spacing and undo stay
        as they were, since nothing reached a window."""
        if self._to_clipboard is not None:
            self._to_clipboard(plan.text)
        log.info("not typed (%s); the text is on the clipboard", reason)
        return Written(plan.text, plan.raw, "", plan.stop_listening, tuple(notes), target=Focus(names=("clipboard",)),
                       on_clipboard=reason)

    def _type_plan(self, sink: TextSink, plan: TextPlan, target: Focus, notes: list[str]) -> Written:
        app = target.names
        where = (target.window, app)
        if where != self._app:  # another window: the previous text is not next to this one
            self._spacer.reset()
            self._app = where
        keys = sink if isinstance(sink, KeySink) else None  # every sink of the product presses keys
        for _ in range(plan.undo_previous):
            note = self.undo(sink, app)
            if note:
                notes.append(note)
                break
        spacing_before = self._spacer.previous
        typed = []
        for step in plan.steps:
            if isinstance(step, Key):
                if keys is None:
                    log.warning("the output cannot press %s; the text goes on", step.value)
                    continue
                keys.press(step)
                typed.append("\n")
                self._spacer.follow("\n")
            else:
                out = self._spacer.next(step)
                sink.emit(out)
                typed.append(out)
        typed_text = "".join(typed)
        if typed_text or Key.ENTER in plan.steps:
            self._footprints.append(_Footprint(app, typed_text, spacing_before, Key.ENTER not in plan.steps))
        return Written(plan.text, plan.raw, typed_text, plan.stop_listening, tuple(notes), target=target)

    def _write_line(self, sink: TextSink, plan: TextPlan, notes: list[str]) -> Written:
        """A sink that cannot press keys (stdout) gets one line per final, keys as spaces, undo refused."""
        line = ""
        for step in plan.steps:
            if isinstance(step, str):
                line = join_text(line, step)
        if plan.undo_previous:
            notes.append("\"scratch that\" cannot delete text already written to this output")
        sink.emit(line)
        return Written(plan.text, plan.raw, line, plan.stop_listening, tuple(notes))

    def undo(self, sink: TextSink, app: Sequence[str] | None = None) -> str:
        """Delete the last final (voice command or the undo hotkey); "" when done, else why not. The spacing
        goes back to what it was before that final, so the next one does not start with a stray space."""
        if self.external_undo is None:
            return self._undo(sink if isinstance(sink, KeySink) else None,
                              tuple(app if app is not None else self._app[1] if self._app else ()))
        note = self.external_undo(sink)
        if not note and self._footprints:
            self._spacer.follow(self._footprints.pop().spacing_before)
        return note

    def _undo(self, sink: KeySink | None, app: tuple[str, ...]) -> str:
        """Delete the last final this writer typed; a note saying why not, or ""."""
        if sink is None:
            return "not undone: this output cannot press Backspace"
        if not self._footprints:
            return "nothing to undo"
        last = self._footprints[-1]
        if last.app != app:
            return "not undone: the last dictation went to another window"
        if not last.undoable:
            return "not undone: the last dictation pressed Enter"
        from tray_client.undo.desktop import erase  # exactly that text, or nothing (emoji: see undo/units.py)

        refused = erase(sink, last.typed)
        if refused:
            return refused
        self._footprints.pop()
        self._spacer.follow(last.spacing_before)
        return ""

    def _sink_for(self, default: TextSink, default_kind: tuple[str, str], profile: Profile) -> TextSink:
        kind = (profile.output, profile.paste_keys)
        same_output = kind[0] == default_kind[0] and (kind[0] != "clipboard" or kind[1] == default_kind[1])
        if self._make_sink is None or same_output:  # paste keys matter only when pasting
            return default
        sink = self._sinks.get(kind)
        if sink is None:
            sink = self._sinks[kind] = self._make_sink(*kind)
            log.info("output for %s: %s with %s", profile.app, *kind)
        return sink

    def replaced(self, target: Focus, original: str, typed: str) -> None:
        """A voice edit typed `typed` over `original` in `target`: the next final is spaced after it, and its
        undo (which types `original` back) leaves the spacing as after `original`."""
        self._app = (target.window, target.names)
        self._footprints.append(_Footprint(target.names, typed, original, True))
        self._spacer.follow(typed)

    def reset(self) -> None:
        """Forget spacing and undo history (the output mode changed)."""
        self._spacer.reset()
        self._footprints.clear()

    def close(self) -> None:
        """Let the per-app sinks and the clean-up client go."""
        for sink in self._sinks.values():
            close = getattr(sink, "close", None)
            if close is not None:
                close()
        self._sinks.clear()
        self._stage.close()
