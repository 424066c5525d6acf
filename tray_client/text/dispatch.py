"""The pipeline's hook into the text stage: which app an utterance is for, and the output job for its final.

`started` runs on the pipeline thread when an utterance starts: it asks which window has the focus (the one the
user is dictating into), pins the utterance to it (the final is typed only there, see desktop.pinning) and
keeps its app's profile for that utterance's final. `job` hands the output thread one
callable per final, which runs the text stage and writes into the app (see writer.TextWriter). The pipeline owns
one `TextDispatch` and calls nothing else of the text stage.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from tray_client.desktop.app_context import may_send
from tray_client.desktop.context_reader import ContextReader
from tray_client.desktop.focus import Focus, current_focus
from tray_client.desktop.pinning import TargetGate
from tray_client.sinks import TextSink, make_sink, set_clipboard
from tray_client.text.cleanup import CleanupClient, CleanupSettings
from tray_client.text.profiles import Profile, profile_for
from tray_client.text.stage import TextStage
from tray_client.text.writer import TextWriter, Written

if TYPE_CHECKING:
    from tray_client.config import ClientConfig
    from tray_client.link.core import LinkSettings

__all__ = ["FollowFocus", "TextDispatch", "UtteranceLink"]

log = logging.getLogger(__name__)

# Apps of the latest utterances (kept after their final: a cut utterance's continuations come later).
_MAX_REMEMBERED = 256


class InstructionTaker(Protocol):
    """An utterance that is not dictation but an instruction (voice_edit.session.VoiceEdit)."""

    def claim(self, utterance_id: str) -> bool:
        """Pipeline thread, as an utterance starts: whether its final is an instruction for the taker."""
        ...

    def finish(self, raw: str, language: str, sink: TextSink, replaced: Callable[[Focus, str, str], None]) -> Written:
        """Output thread: handle the instruction's final instead of typing it; what was written. `replaced(target,
        original, typed)` tells the text writer that text was typed over `original` (its spacing and undo)."""
        ...


class TextDispatch:
    """Per-utterance app profiles (pipeline thread) and the text writer (output thread)."""

    def __init__(self, config: ClientConfig, *, fixed_sink: bool = False,
                 foreground: Callable[[], Focus] = current_focus, gate: TargetGate | None = None) -> None:
        """`fixed_sink`: every final goes to the pipeline's one sink (a sink a test or an embedding app gave),
        without pinning unless a `gate` is given; else finals are typed only into their pinned window."""
        self._foreground = foreground
        self._apps: dict[str, tuple[Focus, Profile]] = {}
        self._config = config
        stage = TextStage(max_chars=config.max_final_chars, cleaner=lambda: _cleanup_client(self._config))
        if gate is None and not fixed_sink:
            gate = TargetGate()
        self._writer = TextWriter(stage, None if fixed_sink else self._make_sink, gate=gate,
                                  to_clipboard=set_clipboard)
        self._previews = TextStage(max_chars=config.max_final_chars)  # the pipeline thread's own, for partials
        self._taker: InstructionTaker | None = None
        self._instructions: set[str] = set()  # utterances the taker claimed (pipeline thread)

    def started(self, utterance_id: str, config: ClientConfig) -> Profile:
        """Pin a new utterance to the focused window; return its app's profile (its language and glossary
        matter now)."""
        self._config = config
        focus = self._foreground()
        profile = profile_for(config, focus.names)
        if len(self._apps) >= _MAX_REMEMBERED:
            self._apps.pop(next(iter(self._apps)))
        self._apps[utterance_id] = (focus, profile)
        if self._taker is not None and self._taker.claim(utterance_id):
            self._instructions.add(utterance_id)
            log.info("utterance %s is an instruction, not dictation", utterance_id)
        log.info("utterance %s is pinned to window %s (%s)%s", utterance_id, focus.window or "?",
                 focus.app or "app unknown", f": profile [apps.{profile.app!r}]" if profile.app else "")
        return profile

    def focus_of(self, utterance_id: str) -> Focus:
        """The window an utterance was pinned to when it started (an empty Focus if unknown)."""
        entry = self._apps.get(utterance_id)
        return entry[0] if entry is not None else Focus()

    def job(self, utterance_id: str, raw: str, language: str, sink: TextSink,
            config: ClientConfig) -> Callable[[], Written]:
        """The output-thread job for a final (pipeline thread: looks up the app its utterance started in)."""
        self._config = config
        taker = self._taker
        if taker is not None and utterance_id in self._instructions:
            self._instructions.discard(utterance_id)
            return lambda: taker.finish(raw, language, sink, self._writer.replaced)
        # A cut utterance's continuations ("<id>.2") belong to the app of the utterance they continue.
        pinned, profile = self._apps.get(utterance_id) or self._apps.get(utterance_id.split(".")[0]) or \
            (Focus(), profile_for(config, ()))
        default_kind = (config.output, config.paste_keys)
        return lambda: self._writer.write(sink, default_kind, profile, pinned.names, raw, language, pinned=pinned)

    def retype(self, sink: TextSink, text: str) -> Written:
        """Output thread: type `text` again where the user is now, spaced like a dictation (Type again,
        Paste last)."""
        return self._writer.retype(sink, text)

    def preview(self, utterance_id: str, raw: str) -> str:
        """Pipeline thread: a partial in the script and with the replacements of its utterance's app."""
        _pinned, profile = self._apps.get(utterance_id.split(".")[0]) or (Focus(), profile_for(self._config, ()))
        return self._previews.preview(raw, profile)

    def _make_sink(self, output: str, paste_keys: str) -> TextSink:
        return make_sink(output, type_delay_ms=self._config.type_delay_ms, paste_keys=paste_keys)

    def use_undo(self, undo: Callable[[TextSink], str] | None) -> None:
        """Let "scratch that" call the app's undo (output thread; returns "" or why it did nothing)."""
        self._writer.external_undo = undo

    def use_instructions(self, taker: InstructionTaker | None) -> None:
        """Let `taker` claim utterances as instructions (pipeline thread: call before the pipeline starts)."""
        self._taker = taker

    def undo(self, sink: TextSink) -> str:
        """Output thread: undo the last final now (the undo hotkey); "" when done, else why not."""
        return self._writer.undo(sink)

    def reset(self) -> None:
        """Output thread: forget spacing and undo history (the output mode changed)."""
        self._writer.reset()

    def close(self) -> None:
        """Output thread: let the per-app sinks and the clean-up client go."""
        self._writer.close()


class UtteranceLink(Protocol):
    """What FollowFocus forwards to and reconfigures (link.driver.Link), on the pipeline thread."""

    @property
    def settings(self) -> LinkSettings: ...

    def configure(self, settings: LinkSettings) -> None: ...

    def open(self, utterance_id: str, context: str = "") -> None: ...

    def append(self, utterance_id: str, pcm: bytes) -> None: ...

    def close(self, utterance_id: str) -> None: ...

    def silence(self, utterance_id: str, silence_ms: int) -> None: ...


class FollowFocus:
    """Stands in front of the link for the capture: each new utterance notes the focused app first, and when
    that app's language or glossary differ from the link's, the link reconnects with them (the server takes
    both per connection, in the hello). Where the profile allows (`app_context`), the app's text near the caret
    goes with the utterance's start (read by a ContextReader, bounded in time; never kept anywhere else)."""

    def __init__(self, link: UtteranceLink, dispatch: TextDispatch, config: Callable[[], ClientConfig],
                 settings: Callable[[ClientConfig], LinkSettings], *,
                 context_reader: Callable[[], ContextReader] | None = None) -> None:
        self._link = link
        self._dispatch = dispatch
        self._config = config
        self._settings = settings
        self._make_reader = context_reader
        self._reader: ContextReader | None = None

    def open(self, utterance_id: str) -> None:
        config = self._config()
        profile = self._dispatch.started(utterance_id, config)
        wanted = dataclasses.replace(self._settings(config), language=profile.language, context=profile.context)
        if wanted != self._link.settings:
            self._link.configure(wanted)
        self._link.open(utterance_id, self._app_context(utterance_id, config, profile))

    def _app_context(self, utterance_id: str, config: ClientConfig, profile: Profile) -> str:
        if not (config.app_context and profile.app_context and config.app_context_chars) \
                or self._make_reader is None:
            return ""
        if not may_send(config.server, config.token):
            log.info("app context not sent: the server %s is not on this machine and has no token", config.server)
            return ""
        if self._reader is None:
            self._reader = self._make_reader()
        return self._reader.read(self._dispatch.focus_of(utterance_id), config.app_context_chars)

    def shutdown(self) -> None:
        """Let the context reader's worker go."""
        if self._reader is not None:
            self._reader.close()

    def append(self, utterance_id: str, pcm: bytes) -> None:
        self._link.append(utterance_id, pcm)

    def close(self, utterance_id: str) -> None:
        self._link.close(utterance_id)

    def silence(self, utterance_id: str, silence_ms: int) -> None:
        self._link.silence(utterance_id, silence_ms)


def _cleanup_client(config: ClientConfig) -> CleanupClient | None:
    if not config.cleanup_url:
        return None
    return CleanupClient(CleanupSettings(config.cleanup_url, config.cleanup_model, config.cleanup_prompt,
                                         config.cleanup_timeout_s, config.cleanup_max_growth))
