"""Qwen Dictation tray client: microphone -> Silero VAD -> asr_server -> text in the focused window.

Importing the package loads nothing heavy (no torch, no audio device, no threads); see `pipeline.Pipeline` for the
headless core and `__main__` for the entry point.
"""

from __future__ import annotations

__version__ = "0.1.0"
