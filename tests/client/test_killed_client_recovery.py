"""A real client killed with its words held for a down server gives them back at the next start: transcribed once
the server answers, offered (history, the tray's Recent, a notice), never typed.

The first run is the real client process (`python -m tray_client --no-tray`), dictating a WAV while the server is
down, killed with SIGKILL (as `taskkill /F`, a crash or a power cut: no clean-up runs). The next start is the same
pipeline that the tray and the headless run start, with the real server (scripted backend) on the port the first
run was trying.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.client.protocol_server import free_port
from tests.client.test_pipeline import Events
from tray_client.config import ClientConfig
from tray_client.events import FinalText, Notice, RecoveredText
from tray_client.history.recorder import HistoryRecorder, HistorySnapshot
from tray_client.history.store import history_path
from tray_client.pipeline import Pipeline, spool_root
from tray_client.untranscribed import folder

pytestmark = pytest.mark.slow


def held_audio(root: Path) -> dict[str, int]:
    """The write-ahead files under the spool root: utterance id -> bytes."""
    return {path.stem: path.stat().st_size for path in root.glob("*/*.pcm")}


def test_a_client_killed_while_the_server_was_down_offers_its_words_at_the_next_start(speech, recording_sink):
    sample = speech.english
    port = free_port()
    client = subprocess.Popen(
        [sys.executable, "-m", "tray_client", "--no-tray", "--server", f"ws://127.0.0.1:{port}", "--input-wav",
         str(sample.path), "--fast", "--output", "stdout", "--unreachable-exit-s", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    try:
        # Every phrase is on disk (an utterance holds its phrase and some pre-roll) while the server is down.
        phrase_bytes = [2 * len(sample.phrase_audio(index)) for index in range(len(sample.phrases))]
        assert wait_for(lambda: len(held_audio(spool_root())) == len(phrase_bytes)
                        and sum(held_audio(spool_root()).values()) >= sum(phrase_bytes), 120), \
            f"held audio: {held_audio(spool_root())}"
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait(timeout=30)
    assert client.stdout is not None and client.stdout.read() == b"", "nothing can have been typed"

    snapshots: list[HistorySnapshot] = []
    with ScriptedServer.for_sample(sample, port=port) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, no_tray=True), source=_Silent(), sink=recording_sink)
        history = HistoryRecorder(history_path(), days=30, output=lambda: "type", on_snapshot=snapshots.append)
        history.start()
        pipeline.subscribe(history.on_event)
        events = Events(pipeline)
        pipeline.start()
        try:
            assert events.wait(lambda e: any(n.code == "recovered_text" for n in e.of(Notice)), 120), \
                [n.message for n in events.of(Notice)]
            assert wait_for(lambda: snapshots and len(snapshots[-1].recent) == len(sample.phrases), 30)
        finally:
            pipeline.shutdown(grace_seconds=0.5)
            history.close()
    texts = [phrase.text for phrase in sample.phrases]
    assert sorted(event.text for event in events.of(RecoveredText)) == sorted(texts)
    (notice,) = [n for n in events.of(Notice) if n.code == "recovered_text"]
    assert f"{len(texts)} utterance(s)" in notice.message and "Recent" in notice.message
    recent = snapshots[-1].recent
    assert sorted(entry.text for entry in recent) == sorted(texts), "not offered in Recent"
    assert {entry.output for entry in recent} == {"recovered"} and {entry.target_app for entry in recent} == {""}
    assert recording_sink.emitted == [] and events.of(FinalText) == [], "recovered words were typed"
    assert list(folder().glob("*.wav")) == [] and len(list((folder() / "transcribed").glob("*.wav"))) == len(texts)
    assert held_audio(spool_root()) == {}


class _Silent:
    """A microphone that never speaks (the user has not started dictating yet)."""

    finite = False
    description = "silence"

    async def frames(self):  # type: ignore[no-untyped-def]
        import asyncio

        await asyncio.Event().wait()
        yield  # pragma: no cover


@pytest.mark.parametrize("hang_up", [signal.SIGTERM, signal.SIGHUP])
def test_a_headless_run_hung_up_at_logout_saves_its_held_words_as_wavs(speech, hang_up):
    sample = speech.english
    client = subprocess.Popen(
        [sys.executable, "-m", "tray_client", "--no-tray", "--server", f"ws://127.0.0.1:{free_port()}",
         "--input-wav", str(sample.path), "--fast", "--output", "stdout", "--unreachable-exit-s", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    try:
        phrase_bytes = sum(2 * len(sample.phrase_audio(index)) for index in range(len(sample.phrases)))
        assert wait_for(lambda: len(held_audio(spool_root())) == len(sample.phrases)
                        and sum(held_audio(spool_root()).values()) >= phrase_bytes, 120)
        client.send_signal(hang_up)
        _, stderr = client.communicate(timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 130, stderr.decode("utf-8", "replace")[-3000:]
    assert len(list(folder().glob("*.wav"))) == len(sample.phrases), stderr.decode("utf-8", "replace")[-3000:]
    assert held_audio(spool_root()) == {}, "saved as WAV and still held: the next start would keep it twice"
