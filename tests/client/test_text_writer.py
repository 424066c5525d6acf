"""The text writer on the output side: keys as key presses, spacing across keys, undo only where it is safe."""

from __future__ import annotations

from tray_client.config import ClientConfig
from tray_client.desktop.focus import Focus
from tray_client.sinks.keys import Key
from tray_client.text.profiles import base_profile, profile_for
from tray_client.text.stage import TextStage
from tray_client.text.writer import TextWriter

NOTES, CHAT = ("Notesapp", "notesapp"), ("Chatapp", "chatapp")


class KeyboardRecorder:
    """Stands in for the keyboard at the output boundary: what `emit` typed and which keys were pressed, in order;
    `window` applies them like an editor (Backspace deletes one character)."""

    spaced = True

    def __init__(self) -> None:
        self.actions: list[str | tuple[Key, int]] = []
        self.window = ""

    def emit(self, text: str) -> None:
        self.actions.append(text)
        self.window += text

    def press(self, key: Key, count: int = 1) -> None:
        self.actions.append((key, count))
        if key is Key.BACKSPACE:
            self.window = self.window[:-count]
        else:
            self.window += "\n" * count


class LineRecorder:
    """stdout's shape: one emit per final, cannot press keys."""

    spaced = False

    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, text: str) -> None:
        self.lines.append(text)


def write_all(finals: list[tuple[tuple[str, ...], str]], config: ClientConfig | None = None):
    config = config or ClientConfig()
    writer, sink = TextWriter(TextStage()), KeyboardRecorder()
    written = [writer.write(sink, ("type", "ctrl+v"), profile_for(config, app), app, raw) for app, raw in finals]
    return sink, written


def test_keys_are_pressed_never_typed_and_spacing_follows_the_line_break():
    sink, written = write_all([(NOTES, "Dear team,"), (NOTES, "new paragraph."), (NOTES, "The build is green.")])
    assert sink.actions == ["Dear team,", (Key.NEWLINE, 1), (Key.NEWLINE, 1), "The build is green."]
    assert all("\n" not in action for action in sink.actions if isinstance(action, str))
    assert [w.typed for w in written] == ["Dear team,", "\n\n", "The build is green."]


def test_scratch_that_deletes_exactly_what_the_last_final_typed():
    sink, written = write_all([(NOTES, "First."), (NOTES, "Second, new line, third."), (NOTES, "Scratch that."),
                               (NOTES, "Fourth.")])
    assert sink.window == "First. Fourth."
    assert (Key.BACKSPACE, len(" Second\nthird.")) in sink.actions
    assert written[2].notes == ()


def test_two_scratch_thats_walk_back_two_finals():
    sink, _ = write_all([(NOTES, "我们开会。"), (NOTES, "明天见。"), (NOTES, "后天见。"), (NOTES, "删掉上一句。"),
                         (NOTES, "删掉上一句。")])
    assert sink.window == "我们开会。"


def test_scratch_that_after_emoji_deletes_nothing_and_says_why():
    """One Backspace per code point left half characters (or ate the user's text) in editors that delete by
    UTF-16 unit or by grapheme cluster; this target cannot be read back, so nothing is deleted."""
    sink, written = write_all([(NOTES, "OK."), (NOTES, "Great 👍🏽 done."), (NOTES, "Scratch that.")])
    assert sink.window == "OK. Great 👍🏽 done."
    assert "holds emoji or combined characters" in written[2].notes[0]
    assert not any(isinstance(a, tuple) and a[0] is Key.BACKSPACE for a in sink.actions)


def test_undo_refuses_another_window_and_an_enter():
    sink, written = write_all([(CHAT, "Ship it, press enter."), (CHAT, "Scratch that.")])
    assert sink.window == "Ship it\n" and "Enter" in written[1].notes[0]
    sink, written = write_all([(CHAT, "Hello."), (NOTES, "Scratch that.")])
    assert sink.window == "Hello." and "another window" in written[1].notes[0]
    assert not any(isinstance(a, tuple) and a[0] is Key.BACKSPACE for a in sink.actions)


def test_stop_listening_is_reported_with_the_words_before_it():
    sink, written = write_all([(NOTES, "That's all, stop listening.")])
    assert sink.window == "That's all" and written[0].stop_listening


def test_a_line_output_gets_one_line_per_final_and_no_keys():
    writer, sink = TextWriter(TextStage()), LineRecorder()
    profile = base_profile(ClientConfig())
    first = writer.write(sink, ("stdout", "ctrl+v"), profile, (), "Hello, new line, world.")
    second = writer.write(sink, ("stdout", "ctrl+v"), profile, (), "Scratch that.")
    assert sink.lines == ["Hello world.", ""]
    assert first.text == "Hello\nworld." and "cannot" in second.notes[0]


def test_a_profile_with_another_output_gets_its_own_sink():
    made: list[tuple[str, str]] = []
    other = KeyboardRecorder()

    def make_sink(output: str, paste_keys: str) -> KeyboardRecorder:
        made.append((output, paste_keys))
        return other

    writer, default = TextWriter(TextStage(), make_sink), KeyboardRecorder()
    config = ClientConfig()
    for app in (("Gnome-terminal", "gnome-terminal-server"), NOTES, ("kitty", "kitty")):
        writer.write(default, ("type", "ctrl+v"), profile_for(config, app), app, "ls")
    assert made == [("clipboard", "ctrl+shift+v")]  # made once, for both terminals
    assert default.actions == ["ls"]
    assert other.actions == ["ls", "ls"]


def test_scratch_that_calls_the_apps_undo_when_there_is_one_before_typing_the_rest():
    writer, sink = TextWriter(TextStage()), KeyboardRecorder()
    calls: list[str] = []

    def app_undo(given) -> str:
        assert given is sink
        calls.append(sink.window)  # what the window held when the app's undo ran
        return "" if len(calls) == 1 else "Undo did nothing: you typed after it."

    writer.external_undo = app_undo
    profile = base_profile(ClientConfig())
    writer.write(sink, ("type", "ctrl+v"), profile, NOTES, "Draft one.")
    first = writer.write(sink, ("type", "ctrl+v"), profile, NOTES, "Scratch that, draft two.")
    second = writer.write(sink, ("type", "ctrl+v"), profile, NOTES, "Scratch that.")
    # This stand-in undo deletes nothing; the writer took the spacing back to before "Draft one." (a real undo
    # deleted it), so "draft two." starts without a space: no stray space at the start of the field.
    assert calls == ["Draft one.", "Draft one.draft two."]
    assert first.notes == () and second.notes == ("Undo did nothing: you typed after it.",)
    assert not any(isinstance(a, tuple) and a[0] is Key.BACKSPACE for a in sink.actions)


def test_stdout_stays_stdout_in_a_terminal():
    made: list[tuple[str, str]] = []
    writer, sink = TextWriter(TextStage(), lambda *kind: made.append(kind)), LineRecorder()
    config = ClientConfig(output="stdout")
    app = ("Gnome-terminal", "gnome-terminal-server")
    writer.write(sink, ("stdout", "ctrl+v"), profile_for(config, app), app, "ls -la")
    assert made == [] and sink.lines == ["ls -la"]


def test_a_partial_previews_with_the_profile_of_the_app_its_utterance_is_for():
    from tray_client.text.dispatch import TextDispatch

    config = ClientConfig(apps={"Notesapp": {"chinese_script": "traditional"}})
    focused = [NOTES]
    dispatch = TextDispatch(config, fixed_sink=True, foreground=lambda: Focus(names=focused[0]))
    dispatch.started("s-1", config)
    focused[0] = CHAT
    dispatch.started("s-2", config)
    assert dispatch.preview("s-1", "这是简体中文") == "這是簡體中文"
    assert dispatch.preview("s-1.2", "简体") == "簡體"  # a cut utterance's continuation
    assert dispatch.preview("s-2", "这是简体中文") == "这是简体中文"


def test_a_voice_edit_and_its_undo_leave_the_spacing_as_the_window_shows_it():
    """A voice edit types over a selection outside the writer; its undo (the app's journal, which types the
    original back) used to pop the dictation before it from the writer's footprints, so the next final was
    spaced as if that dictation had been undone too."""
    config = ClientConfig()
    writer, sink = TextWriter(TextStage()), KeyboardRecorder()
    writer.external_undo = lambda _sink: ""  # the app's undo deleted and typed back the original
    profile = profile_for(config, NOTES)
    writer.write(sink, ("type", "ctrl+v"), profile, NOTES, "Hello there.")
    writer.replaced(Focus("", NOTES), "can u come", "Can you come?")
    assert writer.write(sink, ("type", "ctrl+v"), profile, NOTES, "Thanks.").typed == " Thanks."
    assert writer.undo(sink) == ""  # "Thanks." undone
    assert writer.undo(sink) == ""  # the edit undone: "can u come" is back before the caret
    assert writer.write(sink, ("type", "ctrl+v"), profile, NOTES, "Bye.").typed == " Bye."
