"""The headless CLI contract: `python -m tray_client --no-tray --server URL --input-wav FILE --output stdout`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from tests.client.protocol_server import Faults, ProtocolServer, free_port, phrase_transcriber
from tray_client.config import log_path

pytestmark = pytest.mark.slow  # every test here starts the app (python -m tray_client)


def run_cli(*args: str, timeout: float = 90, **kwargs) -> subprocess.CompletedProcess:
    options = {"text": True, **kwargs}
    return subprocess.run([sys.executable, "-m", "tray_client", "--no-tray", *args], capture_output=True,
                          timeout=timeout, **options)


def test_headless_wav_prints_one_final_per_line_and_exits_zero(speech):
    sample = speech.mandarin
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases),
                        Faults(refuse_token="t0ken", drop_after_bytes=30_000, drops=1)) as server:
        result = run_cli("--server", server.url, "--token", "t0ken", "--input-wav", str(sample.path),
                         "--output", "stdout", "--fast")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [phrase.text for phrase in sample.phrases]
    # Logs go to stderr and to the rotating file in the user's log directory (under tmp here).
    assert "utterance" in result.stderr
    assert "utterance" in log_path().read_text(encoding="utf-8")


def test_headless_exits_non_zero_with_a_clear_message_when_the_server_stays_unreachable(speech):
    url = f"ws://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_cli("--server", url, "--input-wav", str(speech.english.path), "--output", "stdout", "--fast",
                     "--unreachable-exit-s", "1.5")
    assert result.returncode == 3
    assert f"the server {url} was unreachable" in result.stderr
    assert "python -m asr_server" in result.stderr
    assert result.stdout == ""
    assert time.monotonic() - started < 30


def test_bad_flag_value_exits_with_usage_error():
    result = run_cli("--mode", "shout")
    assert result.returncode == 2 and "mode='shout'" in result.stderr


def test_headless_type_output_without_a_display_fails_fast(speech, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with ProtocolServer(lambda i, a: "words") as server:
        result = run_cli("--server", server.url, "--input-wav", str(speech.english.path), "--output", "type",
                         "--fast")
    assert result.returncode == 3 and "--output stdout" in result.stderr


def test_headless_refused_token_exits_at_once_telling_the_user_to_fix_it(speech):
    with ProtocolServer(lambda i, a: "words", Faults(refuse_token="right")) as server:
        started = time.monotonic()
        result = run_cli("--server", server.url, "--token", "wrong", "--input-wav", str(speech.english.path),
                         "--output", "stdout", "--fast")
    assert result.returncode == 3
    assert "refused the token (HTTP 401" in result.stderr and "--token" in result.stderr
    assert result.stdout == ""
    assert time.monotonic() - started < 15  # not after the unreachable timeout: retrying cannot help
    assert server.record.handshakes == 1


def test_headless_stdout_is_utf8_whatever_the_locale(speech):
    sample = speech.mandarin
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    with ScriptedServer.for_sample(sample) as server:
        result = run_cli("--server", server.url, "--input-wav", str(sample.path), "--output", "stdout", "--fast",
                         text=False, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.decode("utf-8").splitlines() == [phrase.text for phrase in sample.phrases]


def test_headless_exits_non_zero_when_the_server_cannot_transcribe_an_utterance(speech):
    sample = speech.english
    # Every answer for the first utterance fails (its replay too): with the VAD on the pipeline thread the second
    # utterance can reach the server before that replay, so a plain count of failures could split between them.
    faults = Faults(engine_fail_first=True)
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases), faults) as server:
        result = run_cli("--server", server.url, "--input-wav", str(sample.path), "--output", "stdout", "--fast")
    # The first utterance failed twice (its replay too) and is reported; the others are output.
    assert result.returncode == 3
    assert result.stdout.splitlines() == [phrase.text for phrase in sample.phrases[1:]], result.stderr[-6000:]
    assert "an utterance got no transcript" in result.stderr and "1 utterance(s) never got a transcript" in result.stderr


def test_help_documents_every_setting():
    """Found broken once: a "%" in a setting's doc made --help crash inside argparse."""
    from dataclasses import fields

    from tray_client.config import ClientConfig

    result = subprocess.run([sys.executable, "-m", "tray_client", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    for f in fields(ClientConfig):
        flag = "--" + f.name.replace("_", "-")
        assert flag in result.stdout, flag
