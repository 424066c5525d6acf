"""The History page's audio over real HTTP, with the real server (scripted backend) behind Re-transcribe and
Transcribe: an entry's kept audio plays as WAV and is heard again; a recording a crash left waits with a
Transcribe button that puts its words in the history; each refusal says why."""

from __future__ import annotations

import json
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from dictation_devtools.servers import free_port
from tests.client.webapp.test_server_guard import request, signed_in, writer
from tray_client.history.recorder import RECOVERED_OUTPUT
from tray_client.history.store import HistoryEntry, HistoryStore
from tray_client.keep import Kept, wav_bytes
from tray_client.webapp.api import AppHooks
from tray_client.webapp.guard import Guard
from tray_client.webapp.server import WebServer


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Guard, Kept, Path]]:
    folders = Kept(tmp_path / "state")
    config = tmp_path / "config.toml"
    server = WebServer(AppHooks(config_file=str(config), history_file=tmp_path / "history.sqlite3", kept=folders))
    guard = server.start()
    yield guard, folders, config
    server.stop()


def seed(tmp_path: Path, utterance_id: str, text: str) -> int:
    store = HistoryStore(tmp_path / "history.sqlite3")
    store.add(HistoryEntry(time.time(), text, text, "English", 2.0, 0.5, 0.3, 0.15, 0.05, "gedit", "type", utterance_id))
    row = store.find(limit=1)[0][0]
    store.close()
    return row


def test_kept_audio_plays_and_is_heard_again_through_the_server(served, tmp_path: Path, speech) -> None:
    guard, folders, config = served
    phrase = speech.english.phrases[0]
    audio = speech.english.phrase_audio(0)
    folders.audio.mkdir(parents=True)
    (folders.audio / "s1-4.pcm").write_bytes(audio.astype("<i2").tobytes())
    kept_row = seed(tmp_path, "s1-4", "an old text")
    bare_row = seed(tmp_path, "s1-5", "no audio kept")
    with ScriptedServer.for_sample(speech.english) as server:
        config.write_text(f'server = "{server.url}"\n')
        listing = json.loads(request(guard, "GET", "/api/history", signed_in(guard)).read_body)
        assert {e["id"]: e["audio"] for e in listing["entries"]} == {kept_row: True, bare_row: False}
        played = request(guard, "GET", f"/api/history/{kept_row}/audio", signed_in(guard))
        assert played.status == 200 and played.getheader("Content-Type") == "audio/wav"
        wav_file = tmp_path / "played.wav"
        wav_file.write_bytes(played.read_body)
        with wave.open(str(wav_file), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getnframes()) == (16000, 1, len(audio))
        heard = request(guard, "POST", f"/api/history/{kept_row}/retranscribe", writer(guard))
        assert heard.status == 200, heard.read_body
        assert json.loads(heard.read_body)["text"] == phrase.text
        none = request(guard, "POST", f"/api/history/{bare_row}/retranscribe", writer(guard))
        assert none.status == 404 and b"keep_audio_days" in none.read_body
    config.write_text(f'server = "ws://127.0.0.1:{free_port()}"\n')  # the server is gone now
    down = request(guard, "POST", f"/api/history/{kept_row}/retranscribe", writer(guard))
    assert down.status == 502 and b"cannot be reached" in down.read_body and b"python -m asr_server" in down.read_body
    deleted = request(guard, "DELETE", f"/api/history/{kept_row}", writer(guard))
    assert deleted.status == 200 and not (folders.audio / "s1-4.pcm").exists(), "deleting an entry deletes its audio"


def test_a_recording_left_by_a_crash_is_transcribed_into_the_history(served, tmp_path: Path, speech) -> None:
    guard, folders, config = served
    folders.untranscribed.mkdir(parents=True)
    left = folders.untranscribed / "s9-1.wav"
    left.write_bytes(wav_bytes(speech.english.phrase_audio(1).astype("<i2").tobytes()))
    listing = json.loads(request(guard, "GET", "/api/recovered", signed_in(guard)).read_body)
    assert [item["name"] for item in listing["recordings"]] == ["s9-1.wav"]
    played = request(guard, "GET", "/api/recovered/s9-1.wav/audio", signed_in(guard))
    assert played.status == 200 and played.read_body == left.read_bytes()
    assert request(guard, "GET", "/api/recovered/..%2Fconfig.toml/audio", signed_in(guard)).status == 404
    config.write_text(f'server = "ws://127.0.0.1:{free_port()}"\n')
    down = request(guard, "POST", "/api/recovered/s9-1.wav/transcribe", writer(guard))
    assert down.status == 502 and left.exists(), "a failed upload keeps the recording"
    with ScriptedServer.for_sample(speech.english) as server:
        config.write_text(f'server = "{server.url}"\n')
        done = request(guard, "POST", "/api/recovered/s9-1.wav/transcribe", writer(guard))
    assert done.status == 200, done.read_body
    assert json.loads(done.read_body)["text"] == speech.english.phrases[1].text
    assert not left.exists() and (folders.untranscribed / "transcribed" / "s9-1.wav").exists()
    store = HistoryStore(tmp_path / "history.sqlite3")
    ((_row, entry),) = store.find()
    store.close()
    assert (entry.text, entry.output, entry.utterance_id) == (speech.english.phrases[1].text, RECOVERED_OUTPUT, "s9-1")
    listing = json.loads(request(guard, "GET", "/api/recovered", signed_in(guard)).read_body)
    assert listing["recordings"] == []
