"""Kept recordings transcribed at start (tray_client/recovery.py): offered with one notice, or kept with the
command to retry when the server cannot take them."""

from __future__ import annotations

import sys

import numpy as np

from dictation_devtools.scripted_server import ScriptedServer
from dictation_devtools.servers import free_port
from dictation_devtools.stand_in_backends import KnownPhrase
from tray_client.config import ClientConfig
from tray_client.keep import save_audio
from tray_client.recovery import offer_notice, offered, transcribe_waiting
from tray_client.untranscribed import folder

PHRASE = KnownPhrase("open ai is here", np.random.default_rng(3).integers(-8000, 8000, 32_000).astype(np.int16))


def test_each_kept_recording_is_transcribed_with_the_users_rules_and_offered_once():
    save_audio("run-1", PHRASE.audio.tobytes())
    with ScriptedServer([PHRASE]) as server:
        result = transcribe_waiting(ClientConfig(server=server.url, replacements={"open ai": "OpenAI"}))
    (event,) = offered(result)
    assert (event.utterance_id, event.text, event.raw) == ("run-1", "OpenAI is here", "open ai is here")
    level, message, code = offer_notice(result)
    assert (level, code) == ("warning", "recovered_text") and "1 utterance(s)" in message and "Recent" in message
    assert not list(folder().glob("*.wav")) and (folder() / "transcribed" / "run-1.wav").exists()
    assert offer_notice(transcribe_waiting(ClientConfig(server=server.url))) is None, "nothing left: no notice"


def test_a_server_that_cannot_be_reached_keeps_every_recording_and_says_how_to_retry():
    save_audio("run-1", PHRASE.audio.tobytes())
    save_audio("run-2", PHRASE.audio.tobytes())
    result = transcribe_waiting(ClientConfig(server=f"ws://127.0.0.1:{free_port()}"))
    assert offered(result) == [] and result.left == 2
    level, message, code = offer_notice(result)
    assert (level, code) == ("warning", "recovery") and "2 kept recording(s)" in message
    assert "untranscribed --transcribe" in message
    assert sorted(path.name for path in folder().glob("*.wav")) == ["run-1.wav", "run-2.wav"]


def test_a_python_without_httpx_keeps_the_recordings_and_says_how_to_fix_it(monkeypatch):
    """Seen under Wine: the tray's Python lacked httpx, the start-up transcription died with ModuleNotFoundError in
    a worker thread, and the user got no notice at all: the words kept through a kill were never offered."""
    save_audio("run-1", PHRASE.audio.tobytes())
    monkeypatch.setitem(sys.modules, "httpx", None)  # `import httpx` raises ModuleNotFoundError
    result = transcribe_waiting(ClientConfig(server=f"ws://127.0.0.1:{free_port()}"))
    assert offered(result) == [] and result.left == 1
    level, message, code = offer_notice(result)
    assert (level, code) == ("warning", "recovery")
    assert "pip install httpx" in message and "untranscribed --transcribe" in message
    assert [path.name for path in folder().glob("*.wav")] == ["run-1.wav"]
