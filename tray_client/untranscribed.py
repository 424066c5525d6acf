"""`python -m tray_client untranscribed`: the utterances whose audio was kept because no transcript came (the
server was down at Quit, the app crashed, the engine failed twice), and getting their words back.

    python -m tray_client untranscribed                  list them, oldest first
    python -m tray_client untranscribed --transcribe     transcribe each now: print its text, add it to the
                                                         history (tray: Recent > Copy), and move the WAV into
                                                         untranscribed/transcribed/

Why the server's `POST /v1/audio/transcriptions` and not a WebSocket session: a saved WAV is a whole recording,
which is what that endpoint takes (cut at quiet points when long), behind the same token and limits.
Why nothing is typed: the user is at a prompt now, not in the window the words were meant for.
A WAV whose transcription fails stays where it is, and the command exits 1 saying why.
The app does the same by itself at start once the server answers (tray_client/recovery.py), and offers the text.
"""

from __future__ import annotations

import argparse
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tray_client import config as config_module
from tray_client.history.store import HistoryEntry, HistoryStore, history_path
from tray_client.keep import HOW_TO_TRANSCRIBE, kept
from tray_client.text.profiles import base_profile
from tray_client.text.stage import TextStage

__all__ = ["HOW_TO_TRANSCRIBE", "Heard", "TranscribeError", "Transcribed", "folder", "history_entry", "main",
           "transcribe_audio", "transcribe_wav", "transcriptions_url", "waiting_wavs"]

UPLOAD_TIMEOUT_S = 120.0  # a long recording on a CPU server takes a while; the server cuts it into windows


def folder() -> Path:
    """Where keep.save_audio and the crash recovery put the WAVs (tray_client/keep.py)."""
    return kept().untranscribed


def transcriptions_url(server: str) -> str:
    """The HTTP endpoint on the WebSocket server's port: ws://host:port -> http://host:port/v1/audio/..."""
    parts = urlsplit(server)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, "/v1/audio/transcriptions", "", ""))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tray_client untranscribed",
                                     description="List, or transcribe now, the audio of utterances that got no "
                                                 "transcript.")
    parser.add_argument("--transcribe", action="store_true", help="send each WAV to the server now")
    parser.add_argument("--server", help="the server (default: the config file's server)")
    parser.add_argument("--token", help="its token (default: the config file's token)")
    return parser


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    args = _parser().parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")  # CJK on a cp1252 console or a C locale
    waiting = waiting_wavs()
    if not waiting:
        sys.stdout.write(f"no untranscribed audio in {folder()}\n")
        return 0
    if not args.transcribe:
        for path in waiting:
            sys.stdout.write(f"{_stamp(path.stat().st_mtime)}  {_seconds(path):6.1f} s  {path}\n")
        sys.stdout.write(f"{len(waiting)} recording(s); get their text with: python -m tray_client untranscribed "
                         "--transcribe\n")
        return 0
    config = config_module.load_config([])
    return _transcribe_all(waiting, transcriptions_url(args.server or config.server),
                           config.token if args.token is None else args.token, config)


class TranscribeError(RuntimeError):
    """A WAV could not be transcribed; the message says why and how to fix it. The file is kept."""


@dataclass(frozen=True)
class Transcribed:
    """One kept recording's words, through the user's text rules, and where its WAV went."""

    utterance_id: str
    text: str
    raw: str
    language: str
    audio_s: float
    wav: Path


@dataclass(frozen=True)
class Heard:
    """What the server heard in one upload, through the user's text rules."""

    text: str
    raw: str
    language: str
    audio_s: float


def transcribe_audio(name: str, wav: bytes, url: str, token: str | None, config: config_module.ClientConfig) -> Heard:
    """Send one WAV's bytes to the server's /v1/audio/transcriptions (blocking: a worker thread). Raises
    TranscribeError, saying how to fix it, when the server cannot be reached or refuses it."""
    try:
        import httpx
    except ImportError as error:  # a Python set up by hand, without the client's dependencies: say how to fix it
        raise TranscribeError(f"this Python ({sys.executable}) has no httpx, which sends kept audio to the server "
                              f"({error}); install it with: pip install httpx") from error

    stage, profile = TextStage(max_chars=config.max_final_chars), base_profile(config)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    form = {"response_format": "verbose_json", "language": config.language or "", "prompt": profile.context}
    try:
        response = httpx.post(url, headers=headers, timeout=UPLOAD_TIMEOUT_S, files={"file": (name, wav, "audio/wav")},
                              data={key: value for key, value in form.items() if value})
    except httpx.HTTPError as error:
        raise TranscribeError(f"the server at {url} cannot be reached ({error}); start it (python -m asr_server) "
                              f"or give --server") from error
    if response.status_code != 200:
        raise TranscribeError(f"the server refused {name}: HTTP {response.status_code} "
                              f"{response.text.strip()[:300]}")
    answer = response.json()
    raw, language = str(answer.get("text", "")), str(answer.get("language", ""))
    text = stage.preview(raw, profile, language)  # sanitized, in the chosen script, with replacements
    return Heard(text, raw, language, float(answer.get("duration", 0.0)))


def transcribe_wav(path: Path, url: str, token: str | None, config: config_module.ClientConfig) -> Transcribed:
    """Send one WAV to the server's /v1/audio/transcriptions and move it into `transcribed/` (the history entry
    is the caller's). Raises TranscribeError (the WAV stays) when the server cannot be reached or refuses it."""
    try:
        heard = transcribe_audio(path.name, path.read_bytes(), url, token, config)
    except TranscribeError as error:
        raise TranscribeError(f"{error}. {path} is kept.") from error
    done = path.parent / "transcribed"
    done.mkdir(parents=True, exist_ok=True)
    path.replace(done / path.name)
    return Transcribed(path.stem, heard.text, heard.raw, heard.language, heard.audio_s, done / path.name)


def history_entry(done: Transcribed, output: str) -> HistoryEntry:
    """The history row of a recording transcribed later (no latency: the words came from a kept file)."""
    return HistoryEntry(time=time.time(), text=done.text, raw=done.raw, language=done.language,
                        audio_s=done.audio_s, latency_s=None, silence_s=None, server_s=None, typing_s=None,
                        target_app="", output=output, utterance_id=done.utterance_id)


def waiting_wavs() -> list[Path]:
    """The kept recordings not transcribed yet, oldest first."""
    return sorted(folder().glob("*.wav"), key=lambda path: path.stat().st_mtime)


def _transcribe_all(waiting: list[Path], url: str, token: str, config: config_module.ClientConfig) -> int:
    store = HistoryStore(history_path())
    try:
        for path in waiting:
            try:
                done = transcribe_wav(path, url, token, config)
            except TranscribeError as error:
                sys.stderr.write(f"{error}\n")
                return 1
            store.add(history_entry(done, "stdout"))
            sys.stdout.write(f"{done.utterance_id}: {done.text}\n")
    finally:
        store.close()
    return 0


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (OSError, wave.Error, ZeroDivisionError):
        return 0.0
