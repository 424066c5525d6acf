"""`python -m tray_client untranscribed`: the kept audio is listed, and transcribed later through the real server's
POST /v1/audio/transcriptions (the scripted stand-in backend knows the words); a failure keeps every file."""

from __future__ import annotations

import numpy as np

from dictation_devtools.servers import free_port, running_server
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend
from tray_client import config as config_module
from tray_client.__main__ import main
from tray_client.history.store import HistoryStore, history_path
from tray_client.keep import save_audio
from tray_client.untranscribed import folder, transcriptions_url


def _phrase(text: str, seed: int) -> KnownPhrase:
    return KnownPhrase(text, np.random.default_rng(seed).integers(-8000, 8000, 2 * 16_000).astype(np.int16))


PHRASES = [_phrase("open ai is here", 1), _phrase("你好世界", 2)]


def _keep_both() -> None:
    for index, phrase in enumerate(PHRASES):
        save_audio(f"run-{index + 1}", phrase.audio.tobytes())


def test_the_urls_of_the_websocket_server_map_to_its_http_endpoint():
    assert transcriptions_url("ws://127.0.0.1:8765") == "http://127.0.0.1:8765/v1/audio/transcriptions"
    assert transcriptions_url("wss://box.lan:443/") == "https://box.lan:443/v1/audio/transcriptions"


def test_kept_audio_is_listed_then_transcribed_into_the_history_with_the_users_text_rules(capsys):
    config_module.config_path().parent.mkdir(parents=True, exist_ok=True)
    config_module.config_path().write_text('chinese_script = "traditional"\n[replacements]\n"open ai" = "OpenAI"\n',
                                           encoding="utf-8")
    _keep_both()
    assert main(["untranscribed"]) == 0
    listing = capsys.readouterr().out
    assert "run-1.wav" in listing and "run-2.wav" in listing and "2 recording(s)" in listing
    assert "2.0 s" in listing
    with running_server(backend_factory=lambda config: ScriptedBackend(PHRASES)) as server:
        assert main(["untranscribed", "--transcribe", "--server", server.url]) == 0
    assert capsys.readouterr().out.splitlines() == ["run-1: OpenAI is here", "run-2: 你好世界"]
    assert list(folder().glob("*.wav")) == []
    assert sorted(path.name for path in (folder() / "transcribed").glob("*.wav")) == ["run-1.wav", "run-2.wav"]
    store = HistoryStore(history_path())
    try:
        entries = {entry.utterance_id: entry for entry in store.recent(0)}
    finally:
        store.close()
    assert entries["run-1"].raw == "open ai is here" and entries["run-1"].text == "OpenAI is here"
    assert entries["run-2"].text == "你好世界" and entries["run-2"].audio_s == 2.0


def test_an_unreachable_server_keeps_every_file_and_says_how_to_fix_it(capsys):
    _keep_both()
    assert main(["untranscribed", "--transcribe", "--server", f"ws://127.0.0.1:{free_port()}"]) == 1
    error = capsys.readouterr().err
    assert "cannot be reached" in error and "python -m asr_server" in error and "run-1.wav is kept" in error
    assert sorted(path.name for path in folder().glob("*.wav")) == ["run-1.wav", "run-2.wav"]


def test_a_refused_token_keeps_the_file(capsys):
    _keep_both()
    with running_server(backend_factory=lambda config: ScriptedBackend(PHRASES), token="right") as server:
        assert main(["untranscribed", "--transcribe", "--server", server.url, "--token", "wrong"]) == 1
    assert "HTTP 401" in capsys.readouterr().err
    assert len(list(folder().glob("*.wav"))) == 2
