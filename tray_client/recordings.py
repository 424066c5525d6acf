"""Recordings kept because no transcript came: where their WAVs go, how one is saved, and what to tell the user
about getting the words back.

The pipeline's parts (delivery, the leftovers of earlier runs) save here; the command that transcribes them
later (`python -m tray_client untranscribed`, untranscribed.py) and the recovery at start read from here. So the
core never imports that command line module for a folder path or a sentence.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

from tray_client.capture.segmenter import SAMPLE_RATE

__all__ = ["HOW_TO_TRANSCRIBE", "folder", "save_audio"]

log = logging.getLogger(__name__)

HOW_TO_TRANSCRIBE = "get the text later with: python -m tray_client untranscribed --transcribe"


def folder() -> Path:
    """Where `save_audio` and the crash recovery put the WAVs (tray_client/keep.py)."""
    from tray_client.keep import kept

    return kept().untranscribed


def save_audio(utterance_id: str, audio: bytes) -> Path | None:
    """Keep an untranscribed utterance as a WAV file under the log directory's `untranscribed/`."""
    try:
        target = folder()
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{utterance_id}.wav"
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(audio)
        return path
    except OSError:
        log.exception("could not save the audio of %s", utterance_id)
        return None
