"""The voice edit's flow without a desktop: the hotkey, the recording commands, the claimed instruction, the
LLM asked over real HTTP (the fake chat endpoint), the answer typed and undoable, and each failure said."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from dictation_devtools.fake_chat import FakeChat
from tests.client.test_text_writer import KeyboardRecorder
from tray_client.config import ClientConfig
from tray_client.desktop.focus import Focus
from tray_client.events import Command
from tray_client.sinks.keys import Key
from tray_client.text.dispatch import TextDispatch
from tray_client.undo.journal import UndoJournal, UndoPlan
from tray_client.voice_edit import session as session_module
from tray_client.voice_edit.session import EditFinished, VoiceEdit

WINDOW = Focus("0x42", ("Editor", "editor"))


class FakePipeline:
    """Commands recorded; output jobs run at once with the sink."""

    def __init__(self, sink: KeyboardRecorder) -> None:
        self.sink = sink
        self.sent: list[Command] = []

    def send(self, command: Command) -> None:
        self.sent.append(command)

    def run_output(self, job: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(job(self.sink))
        return future


class Clipboard:
    def __init__(self, selected: str | None) -> None:
        self.held: str | None = "mine"
        self.selected = selected

    def get(self) -> str | None:
        return self.held

    def set(self, text: str) -> None:
        self.held = text

    def snapshot(self) -> object:
        return self.held

    def restore(self, snapshot: object) -> None:
        self.held = snapshot if isinstance(snapshot, str) else ""

    def close(self) -> None:
        pass

    def press_copy(self) -> None:
        if self.selected is not None:
            self.held = self.selected


class Harness:
    def __init__(self, config: ClientConfig, selected: str | None = "hey can u send it") -> None:
        self.config = config
        self.sink = KeyboardRecorder()
        self.pipeline = FakePipeline(self.sink)
        self.posted: list[object] = []
        self.notices: list[str] = []
        self.journal = UndoJournal()
        self.focus = WINDOW
        self.edit = VoiceEdit(lambda: self.config, self.pipeline, self.posted.append, self.notices.append,
                              self.journal, listening=lambda: True, clipboard=lambda: Clipboard(selected),
                              focus=lambda: self.focus)
        self.handlers = self.edit.handlers()

    def deliver(self) -> None:
        """The controller handles what the output thread posted."""
        while self.posted:
            message = self.posted.pop(0)
            self.handlers[type(message)](message)


def _config(url: str) -> ClientConfig:
    return ClientConfig(cleanup_url=url, voice_edit_timeout_s=5.0)


def test_without_an_endpoint_the_hotkey_says_how_to_set_one_up():
    harness = Harness(ClientConfig())
    harness.edit.hotkey()
    assert len(harness.notices) == 1 and "set cleanup_url" in harness.notices[0]
    assert "Ctrl+Alt+E" in harness.notices[0] and harness.pipeline.sent == []


def test_press_speak_press_replaces_the_selection_and_undo_has_the_original():
    with FakeChat("answer", answer="Could you please\nsend it?") as chat:
        harness = Harness(_config(chat.url))
        harness.edit.hotkey()
        harness.deliver()
        assert harness.pipeline.sent == [Command.PTT_DOWN]
        assert harness.edit.claim("u-1") and not harness.edit.claim("u-2")  # only the next utterance
        harness.edit.hotkey()
        assert harness.pipeline.sent == [Command.PTT_DOWN, Command.PTT_UP]
        written = harness.edit.finish("make this more formal", "English", harness.sink)
    assert harness.sink.actions == ["Could you please", (Key.NEWLINE, 1), "send it?"]
    assert written.text == "Could you please\nsend it?" and written.raw == "make this more formal"
    assert written.typed == ""  # not a dictation: the undo entry below is the edit's own
    assert harness.journal.plan("0x42") == UndoPlan("Could you please\nsend it?", 25, "hey can u send it")
    assert "hey can u send it" in chat.requests[0]["messages"][-1]["content"]
    assert harness.posted == [EditFinished()]


@pytest.mark.parametrize("mode", ["broken", "not_json"])
def test_a_failing_llm_types_nothing_and_the_note_says_why(mode):
    with FakeChat(mode) as chat:
        harness = Harness(_config(chat.url))
        harness.edit.hotkey()
        harness.deliver()
        harness.edit.claim("u-1")
        written = harness.edit.finish("make this more formal", "English", harness.sink)
    assert harness.sink.actions == [] and written.typed == "" and written.text == ""
    assert written.notes and written.notes[0].startswith("Voice edit failed: the LLM at ")
    assert written.notes[0].endswith("The selection is unchanged.")


def test_a_silent_llm_is_given_up_after_the_voice_edit_timeout():
    with FakeChat("slow", delay_s=10.0) as chat:
        harness = Harness(ClientConfig(cleanup_url=chat.url, voice_edit_timeout_s=0.5))
        harness.edit.hotkey()
        harness.deliver()
        written = harness.edit.finish("shorter", "English", harness.sink)
    assert "no reply within 0.5 s" in written.notes[0] and harness.sink.actions == []


def test_nothing_selected_records_nothing_and_says_so():
    harness = Harness(_config("http://127.0.0.1:9/v1"), selected=None)
    harness.edit.hotkey()  # the app copies nothing: after COPY_WAIT_S of waiting it is nothing selected
    harness.deliver()
    assert harness.pipeline.sent == []
    assert harness.notices == ["Voice edit: nothing is selected: select the text to edit first, then press the "
                               "hotkey"]


def test_when_the_focus_moved_the_answer_goes_to_the_clipboard_not_into_another_window(monkeypatch):
    clipped: list[str] = []
    monkeypatch.setattr(session_module, "set_clipboard", clipped.append)
    with FakeChat("answer", answer="Formal.") as chat:
        harness = Harness(_config(chat.url))
        harness.edit.hotkey()
        harness.deliver()
        harness.focus = Focus("0x99", ("Chat", "chat"))
        written = harness.edit.finish("formal", "English", harness.sink)
    assert harness.sink.actions == [] and clipped == ["Formal."] and "lost the focus" in written.on_clipboard


def test_the_dispatch_hands_the_claimed_utterance_to_the_voice_edit_not_to_the_window():
    class Taker:
        def __init__(self) -> None:
            self.finished: list[str] = []

        def claim(self, utterance_id: str) -> bool:
            return utterance_id == "u-2"

        def finish(self, raw: str, language: str, sink: Any, replaced: Any) -> Any:
            self.finished.append(raw)
            return "handled"

    config = ClientConfig()
    dispatch = TextDispatch(config, fixed_sink=True, foreground=lambda: WINDOW)
    taker = Taker()
    dispatch.use_instructions(taker)
    sink = KeyboardRecorder()
    for utterance in ("u-1", "u-2"):
        dispatch.started(utterance, config)
    dispatch.job("u-1", "dictated", "English", sink, config)()
    assert dispatch.job("u-2", "make it formal", "English", sink, config)() == "handled"
    assert taker.finished == ["make it formal"] and sink.actions == ["dictated"]
