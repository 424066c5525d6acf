"""Speech fixtures: espeak-ng phrases joined by silences of known length, as 16 kHz mono int16 WAVs.

Each phrase is synthesised on its own, converted and trimmed with sox, then placed at a known offset, so the
speech boundaries of every phrase in the final file are known to the sample. Tests use them to check
segmentation and to feed the real pipeline.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dictation_core.protocol import SAMPLE_RATE

ENGLISH_PHRASES = [
    "hello world this is a dictation test",
    "the quick brown fox jumps over the lazy dog",
    "please send the report before noon",
]
MANDARIN_PHRASES = [
    "你好世界",
    "今天天气很好",
    "我们去公园散步吧",
]


class SpeechToolsMissing(RuntimeError):
    """espeak-ng or sox is not installed (CI installs both; `apt-get install espeak-ng sox`)."""


@dataclass(frozen=True)
class Phrase:
    """One spoken phrase and where its speech lies in the file (seconds)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SpeechSample:
    """A WAV file of phrases separated by known silences."""

    path: Path
    language: str
    phrases: list[Phrase]
    samples: np.ndarray  # int16, mono, 16 kHz

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def phrase_audio(self, index: int) -> np.ndarray:
        """The int16 samples of one phrase's speech, without the surrounding silence."""
        phrase = self.phrases[index]
        return self.samples[int(phrase.start_s * SAMPLE_RATE) : int(phrase.end_s * SAMPLE_RATE)]


@dataclass(frozen=True)
class SpeechSet:
    """The speech fixtures of one test session."""

    english: SpeechSample
    mandarin: SpeechSample


def _require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise SpeechToolsMissing(f"missing {', '.join(missing)}: run `apt-get install espeak-ng sox`")


def synthesize_phrase(text: str, voice: str, workdir: Path, name: str) -> np.ndarray:
    """Speak `text` with espeak-ng and return 16 kHz mono int16 samples with silence trimmed at both ends."""
    raw = workdir / f"{name}.raw.wav"
    out = workdir / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(out),
         "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse"],
        check=True,
    )
    return read_wav(out)


def read_wav(path: Path) -> np.ndarray:
    """Read a 16 kHz mono int16 WAV into an int16 array."""
    with wave.open(str(path), "rb") as wav:
        if wav.getframerate() != SAMPLE_RATE or wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16 kHz mono int16")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).copy()


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """Write int16 samples as a 16 kHz mono WAV."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.asarray(samples, dtype=np.int16).tobytes())
    return path


def build_sample(
    phrases: list[str],
    voice: str,
    language: str,
    workdir: Path,
    *,
    lead_s: float = 0.6,
    gap_s: float = 1.2,
    tail_s: float = 1.0,
) -> SpeechSample:
    """Join synthesised phrases with silences of known length and write them to one WAV."""
    _require_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = [np.zeros(int(lead_s * SAMPLE_RATE), dtype=np.int16)]
    placed: list[Phrase] = []
    cursor = len(pieces[0])
    for index, text in enumerate(phrases):
        audio = synthesize_phrase(text, voice, workdir, f"{language}-{index}")
        placed.append(Phrase(text, cursor / SAMPLE_RATE, (cursor + len(audio)) / SAMPLE_RATE))
        pieces.append(audio)
        cursor += len(audio)
        silence = gap_s if index < len(phrases) - 1 else tail_s
        pieces.append(np.zeros(int(silence * SAMPLE_RATE), dtype=np.int16))
        cursor += len(pieces[-1])
    samples = np.concatenate(pieces)
    path = write_wav(workdir / f"{language}.wav", samples)
    return SpeechSample(path=path, language=language, phrases=placed, samples=samples)


def build_speech_set(workdir: Path) -> SpeechSet:
    """English (en-us) and Mandarin (cmn) samples with three phrases each."""
    return SpeechSet(
        english=build_sample(ENGLISH_PHRASES, "en-us", "English", workdir),
        mandarin=build_sample(MANDARIN_PHRASES, "cmn", "Chinese", workdir),
    )


def build_paused_recording(phrases: list[str], pauses_ms: list[int], voice: str, workdir: Path,
                           seed: int = 7) -> tuple[Path, np.ndarray]:
    """Phrases joined by the given pauses (0.5 s lead, 1.5 s tail), dithered by +-2 LSB so that any slice of it
    occurs once: a server's received audio can then be located in the file exactly."""
    _require_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    pieces = [np.zeros(SAMPLE_RATE // 2, dtype=np.int16)]
    for index, text in enumerate(phrases):
        pieces.append(synthesize_phrase(text, voice, workdir, f"paused-{index}"))
        pause_ms = pauses_ms[index] if index < len(pauses_ms) else 1500
        pieces.append(np.zeros(SAMPLE_RATE * pause_ms // 1000, dtype=np.int16))
    joined = np.concatenate(pieces).astype(np.int32)
    dithered = joined + np.random.default_rng(seed).integers(-2, 3, len(joined))
    samples = np.clip(dithered, -32768, 32767).astype(np.int16)
    return write_wav(workdir / "paused.wav", samples), samples
