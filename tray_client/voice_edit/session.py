"""The voice edit's flow: hotkey -> copy the selection -> record the instruction -> ask the LLM -> replace.

    thread             does
    ----------------   ------------------------------------------------------------------------------
    tray-controller    `hotkey()` (its key released), the intents below; starts and ends the recording
    output worker      copies the selection (before, the finals still being typed); `finish()`: asks the
                       LLM and types the answer over the selection, in line with the finals
    pipeline           `claim()`: the utterance that starts after the selection was read is the instruction

Press the hotkey: the selection is copied (voice_edit.selection) and a recording starts, as with push-to-talk.
Press it again: the recording ends; its final is not typed but sent, with the selection, to the LLM at
`cleanup_url` (the clean-up's endpoint), and the answer is typed over the selection, still selected in its
window. Undo (the undo hotkey, "scratch that") deletes the answer and types the original back (undo/journal.py).
Whatever fails (no endpoint, nothing selected, the LLM's error or silence, the focus moved) leaves the selection
as it was, and a notice says why.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tray_client.config import ClientConfig
from tray_client.desktop.focus import Focus, current_focus
from tray_client.events import Command
from tray_client.sinks import TextSink, set_clipboard
from tray_client.text.chat import ChatEndpoint, chat_completions_url
from tray_client.text.sanitize import sanitize
from tray_client.text.writer import Written
from tray_client.undo.journal import UndoJournal
from tray_client.voice_edit.output import type_lines
from tray_client.voice_edit.request import EditAnswer, judge_answer, request_body
from tray_client.voice_edit.selection import ClipboardPort, Selection, default_clipboard, read_selection

if TYPE_CHECKING:
    from tray_client.port import PipelinePort
    from tray_client.ui.tray.controller import TrayController

__all__ = ["EditFinished", "SelectionRead", "VoiceEdit", "attach_voice_edit", "needs_endpoint"]

log = logging.getLogger(__name__)

STUCK_SLACK_S = 5.0
"""An instruction whose final never came (the server failed it) stops blocking the hotkey this long after the
final's and the LLM's own limits."""


def needs_endpoint(hotkey: str) -> str:
    """The notice for the hotkey pressed with no LLM configured: how to set one up."""
    return (f"Voice edit ({_keys(hotkey)}) needs an LLM: set cleanup_url to an OpenAI-compatible endpoint "
            "(Ollama: http://127.0.0.1:11434/v1, vLLM, llama.cpp server) in Settings → Output, and "
            "cleanup_model if it serves several. Nothing was changed.")


class EditPipeline(Protocol):
    """What the voice edit needs of the pipeline: commands, and jobs on its output thread."""

    def send(self, command: Command) -> None: ...

    def run_output(self, job: Callable[[TextSink], Any]) -> Future[Any]: ...


@dataclass(frozen=True)
class SelectionRead:
    """Output thread -> controller: the selection copied (or why none) and the window it is in."""

    selection: Selection
    focus: Focus


@dataclass(frozen=True)
class EditFinished:
    """Output thread -> controller: the instruction was handled (the hotkey may start the next edit)."""


class _Phase(enum.Enum):
    IDLE = "idle"
    READING = "reading"  # copying the selection
    RECORDING = "recording"  # the instruction is being spoken
    EDITING = "editing"  # waiting for the instruction's final, then the LLM


@dataclass(frozen=True)
class _Pending:
    selection: str
    focus: Focus


class VoiceEdit:
    """Edit the selection by a spoken instruction (see the module doc for the threads)."""

    def __init__(self, config: Callable[[], ClientConfig], pipeline: EditPipeline, post: Callable[[object], None],
                 notify: Callable[[str], object], journal: UndoJournal, *, listening: Callable[[], bool],
                 chime: Callable[[str], object] = lambda _sound: None,
                 clipboard: Callable[[], ClipboardPort] = default_clipboard,
                 focus: Callable[[], Focus] = current_focus) -> None:
        self._config = config
        self._pipeline = pipeline
        self._post = post
        self._notify = notify
        self._journal = journal
        self._listening = listening
        self._chime = chime
        self._clipboard = clipboard
        self._focus = focus
        self._phase = _Phase.IDLE  # controller thread only
        self._since = 0.0
        self._lock = threading.Lock()  # guards the two below (controller, pipeline and output threads)
        self._pending: _Pending | None = None
        self._claimed = ""
        self._endpoint: ChatEndpoint | None = None  # output thread only

    def handlers(self) -> dict[type, Callable[[Any], None]]:
        return {SelectionRead: self._on_selection, EditFinished: lambda _m: self._enter(_Phase.IDLE)}

    # --- controller thread ----------------------------------------------------------------------------------

    def hotkey(self) -> None:
        """The voice edit hotkey was released: start an edit, or end the instruction being spoken."""
        config = self._config()
        if not config.cleanup_url:
            self._notify(needs_endpoint(config.hotkey_voice_edit))
        elif self._phase is _Phase.RECORDING:
            self._pipeline.send(Command.PTT_UP)
            self._chime("stop")
            self._enter(_Phase.EDITING)
        elif self._phase is not _Phase.IDLE and time.monotonic() - self._since < self._patience(config):
            self._notify("Voice edit: the last edit is still being worked on; wait for it to finish")
        elif config.mode != "vad" and not self._listening():
            self._notify(f"Listening is off, so the voice edit cannot record. Press {_keys(config.hotkey_toggle)}"
                         " or tick Listening in the tray menu, then try again.")
        else:
            self._enter(_Phase.READING)
            self._pipeline.run_output(self._read).add_done_callback(self._selection_done)

    def _patience(self, config: ClientConfig) -> float:
        return config.max_utterance_s + config.final_timeout_s + config.voice_edit_timeout_s + STUCK_SLACK_S

    def _enter(self, phase: _Phase) -> None:
        self._phase = phase
        self._since = time.monotonic()

    def _on_selection(self, message: SelectionRead) -> None:
        if self._phase is not _Phase.READING:
            return
        if message.selection.error:
            self._notify(f"Voice edit: {message.selection.error}")
            self._enter(_Phase.IDLE)
            return
        with self._lock:
            self._pending = _Pending(message.selection.text, message.focus)
            self._claimed = ""
        log.info("voice edit: %d selected characters in window %s; recording the instruction",
                 len(message.selection.text), message.focus.window or "?")
        self._enter(_Phase.RECORDING)
        self._pipeline.send(Command.PTT_DOWN)
        self._chime("start")

    def _selection_done(self, done: Future[Any]) -> None:  # output thread: only post
        error = done.exception()
        self._post(done.result() if error is None else
                   SelectionRead(Selection("", f"the selection could not be copied ({error})"), Focus()))

    # --- output thread --------------------------------------------------------------------------------------

    def _read(self, _sink: TextSink) -> SelectionRead:
        focus = self._focus()
        return SelectionRead(read_selection(self._clipboard()), focus)

    def finish(self, raw: str, _language: str, sink: TextSink,
               replaced: Callable[[Focus, str, str], None] = lambda _focus, _original, _typed: None) -> Written:
        """The instruction's final: ask the LLM, type its answer over the selection (told to `replaced`, the
        text writer's spacing and undo); what was written."""
        with self._lock:
            pending, self._pending, self._claimed = self._pending, None, ""
        try:
            instruction = sanitize(raw)
            if pending is None:
                return Written("", instruction, "", notes=("Voice edit: the selection was lost; nothing changed",))
            if not instruction:
                return Written("", "", "", notes=("Voice edit: no instruction was heard; the selection is "
                                                  "unchanged",))
            answer = self._ask(pending.selection, instruction)
            if answer.error:
                return Written("", instruction, "", notes=(f"Voice edit failed: {answer.error}. The selection "
                                                           "is unchanged.",))
            return self._replace(sink, pending, instruction, answer.text, replaced)
        finally:
            self._post(EditFinished())

    def _ask(self, selection: str, instruction: str) -> EditAnswer:
        config = self._config()
        if self._endpoint is None or self._endpoint.url != chat_completions_url(config.cleanup_url):
            self._endpoint = ChatEndpoint(config.cleanup_url, config.voice_edit_timeout_s)
        try:
            reply = self._endpoint.complete(request_body(selection, instruction, config.cleanup_model),
                                            config.voice_edit_timeout_s)
        except Exception as error:  # timeout, HTTP status, connection refused, not JSON
            log.warning("voice edit: the LLM at %s failed: %s: %s", self._endpoint.url, type(error).__name__, error)
            return EditAnswer("", f"the LLM at {self._endpoint.url} did not answer ({_reason(error)})")
        return judge_answer(selection, reply)

    def _replace(self, sink: TextSink, pending: _Pending, instruction: str, answer: str,
                 replaced: Callable[[Focus, str, str], None]) -> Written:
        now = self._focus()
        if pending.focus.window and now.window != pending.focus.window:
            set_clipboard(answer)
            return Written(answer, instruction, "", target=Focus(names=("clipboard",)),
                           on_clipboard="Voice edit: the window with the selection lost the focus, so the edited "
                                        "text was not typed; it is on the clipboard")
        typed = type_lines(sink, answer)
        self._journal.typed(typed, now.window, time.monotonic(), restore=pending.selection)
        replaced(now, pending.selection, typed)
        log.info("voice edit: %d characters replaced by %d", len(pending.selection), len(typed))
        return Written(answer, instruction, "", target=now)

    def close(self) -> None:
        """Quit: let the endpoint's connections go."""
        if self._endpoint is not None:
            self._endpoint.close()

    # --- pipeline thread ------------------------------------------------------------------------------------

    def claim(self, utterance_id: str) -> bool:
        """A new utterance starts: it is the instruction when an edit waits for one."""
        with self._lock:
            if self._pending is None or self._claimed:
                return False
            self._claimed = utterance_id
            return True


def attach_voice_edit(controller: TrayController, journal: UndoJournal, pipeline: PipelinePort,
                      post: Callable[[object], None], notify: Callable[[str], object],
                      chime: Callable[[str], object]) -> VoiceEdit:
    """Wire the voice edit into the tray (ui/tray/app.py): the controller's hotkey and messages, the undo journal
    (undo takes an edit back and types the original), and the utterances it takes as instructions."""
    voice_edit = VoiceEdit(lambda: pipeline.config, pipeline, post, notify, journal,
                           listening=lambda: controller.view.listening, chime=chime)
    controller.voice_edit = voice_edit
    controller.add_handlers(voice_edit.handlers())
    pipeline.use_instructions(voice_edit)
    return voice_edit


def _keys(hotkey: str) -> str:
    return hotkey.replace("<", "").replace(">", "").title()


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
