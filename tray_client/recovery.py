"""Words an earlier run left behind, back at this start: kept audio is transcribed once the server answers and
offered, never typed.

Why offered and not typed: the audio was spoken into a window minutes or days ago (the app was killed, the PC lost
power, the session ended while the server was down); whatever has the focus now is not where those words belong.
So each recording's text goes into the history, where the tray's *Recent* menu shows it (Copy, Type again), and
one notice says how many came back. The WAVs move to `untranscribed/transcribed/`, as with
`python -m tray_client untranscribed --transcribe`, which stays for recordings that still fail.

Why "once the server answers": the link's first connection proves the server is up, and the HTTP endpoint is on
the same port (untranscribed.transcriptions_url). It runs once per start, on a worker thread (HTTP uploads take
seconds); its results come back to the pipeline thread as events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tray_client.config import ClientConfig
from tray_client.events import NoticeCode, RecoveredText
from tray_client.untranscribed import (
    HOW_TO_TRANSCRIBE,
    Transcribed,
    TranscribeError,
    transcribe_wav,
    transcriptions_url,
    waiting_wavs,
)

__all__ = ["RecoveryResult", "offer_notice", "offered", "transcribe_waiting"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveryResult:
    """What the start-up transcription of kept audio gave: the texts, and why it stopped early ("" if it did not)."""

    done: tuple[Transcribed, ...] = ()
    error: str = ""
    left: int = 0  # recordings still waiting (not transcribed)


def transcribe_waiting(config: ClientConfig, waiting: Callable[[], list[Path]] = waiting_wavs) -> RecoveryResult:
    """Transcribe every kept recording through the server (a worker thread: it uploads); stop at the first error."""
    wavs = waiting()
    done: list[Transcribed] = []
    url = transcriptions_url(config.server)
    for index, path in enumerate(wavs):
        try:
            done.append(transcribe_wav(path, url, config.token, config))
        except (TranscribeError, OSError) as error:
            log.warning("kept audio not transcribed at start: %s", error)
            return RecoveryResult(tuple(done), str(error), len(wavs) - index)
        log.info("kept audio %s transcribed at start: %r", path.name, done[-1].text[:80])
    return RecoveryResult(tuple(done))


def offered(result: RecoveryResult) -> list[RecoveredText]:
    """The events that put each text in the history (and so in Recent)."""
    return [RecoveredText(d.utterance_id, d.text, d.raw, d.language, d.audio_s) for d in result.done if d.text]


def offer_notice(result: RecoveryResult) -> tuple[str, str, NoticeCode] | None:
    """(level, message, code) of the notice to show, or None when there was nothing to recover."""
    got = [d for d in result.done if d.text]
    if result.error:
        kept = f"{len(got)} came back (tray: Recent); " if got else ""
        return ("warning", f"{kept}{result.left} kept recording(s) could not be transcribed yet ({result.error}); "
                           f"{HOW_TO_TRANSCRIBE}", NoticeCode.RECOVERY)
    if not got:
        return None
    # A warning, not news: the tray shows only those, and the user has words waiting to be placed.
    return ("warning", f"{len(got)} utterance(s) kept from before the app stopped are transcribed: nothing was typed; "
                    f"Recent in the tray menu has them (Copy or Type again), as does python -m tray_client history",
            NoticeCode.RECOVERED_TEXT)
