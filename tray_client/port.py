"""The port between the UI and the runtime: what the tray (ui/) may ask of the dictation pipeline.

The tray never sees `Pipeline` itself: it drives a `PipelinePort`, so a test's stand-in and the real pipeline
are held to the same typed surface (a test checks that `Pipeline` has every member with the same signature).
Every method is safe to call from any thread; events come back on the pipeline thread to the listeners given
to `subscribe`, which must only post them on (see pipeline.py's thread map).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from tray_client.config import ClientConfig
    from tray_client.events import Command, PipelineEvent
    from tray_client.sinks import TextSink
    from tray_client.text.dispatch import InstructionTaker
    from tray_client.text.writer import Written

__all__ = ["PipelinePort", "SettingValue", "ShutdownReport", "VoiceUndo"]

SettingValue = str | bool | int | float | dict[str, str] | None
"""A value `update_settings` takes (the keys and their types are ClientConfig's; it validates them)."""

VoiceUndo = Callable[["TextSink"], str]
"""Undo the last final through a sink (output thread); "" when it deleted, else why it did nothing."""

T = TypeVar("T")


@dataclass(frozen=True)
class ShutdownReport:
    """What shutdown left behind: utterances that never got their final within the grace period.

    When the pipeline thread did not stop in time (`clean` False), what it dropped is not known: `dropped` then
    counts only what is known (0), and the caller must say that utterances may be lost."""

    dropped: int
    dropped_ids: tuple[str, ...] = ()
    clean: bool = True
    saved: tuple[str, ...] = ()  # WAV files of the dropped utterances' audio (the words are kept, never lost)


class PipelinePort(Protocol):
    """What the UI asks of the runtime (implemented by `tray_client.pipeline.Pipeline`)."""

    @property
    def config(self) -> ClientConfig:
        """The settings in effect, including those changed with `update_settings`."""
        ...

    def subscribe(self, listener: Callable[[PipelineEvent], None]) -> None:
        """Call `listener` for every event, on the pipeline thread; it must return quickly."""
        ...

    def start(self) -> None:
        """Start the pipeline thread and return at once."""
        ...

    def send(self, command: Command) -> None:
        """Post a command (listen on/off, push-to-talk, toggle, reconnect)."""
        ...

    def update_settings(self, **changes: SettingValue) -> None:
        """Change live settings; raises ConfigError here for an unknown key or a bad value."""
        ...

    def run_output(self, job: Callable[[TextSink], T]) -> concurrent.futures.Future[T]:
        """Run `job(sink)` on the output thread, behind the finals still being typed (the voice edit's copy and
        answer)."""
        ...

    def retype(self, text: str) -> concurrent.futures.Future[Written]:
        """Type `text` again where the user is now, on the output thread after the finals."""
        ...

    def undo_last(self) -> concurrent.futures.Future[str]:
        """Undo the last final on the output thread: "" or why not."""
        ...

    def use_undo(self, undo: VoiceUndo) -> None:
        """Make the voice command "scratch that" call `undo` (call before `start`)."""
        ...

    def use_instructions(self, taker: InstructionTaker) -> None:
        """Let `taker` (the voice edit) claim utterances whose final is an instruction (call before `start`)."""
        ...

    def flush_audio(self, timeout: float) -> bool:
        """Wait until every held utterance's audio is on disk (the session may end)."""
        ...

    def shutdown(self, grace_seconds: float = 1.0) -> ShutdownReport:
        """Stop everything, waiting up to `grace_seconds` for finals still due; report what was dropped."""
        ...
