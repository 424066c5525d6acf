"""POST /v1/audio/transcriptions on the WebSocket port: OpenAI's request and response shapes, long files cut in
pauses, the same token and limits as sessions, and every bad input answered with a clear error."""

from __future__ import annotations

import io
import itertools
import json
import socket
import wave

import httpx
import numpy as np
import pytest

from asr_server.audio_windows import quiet_windows
from dictation_devtools.servers import running_server
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend
from dictation_devtools.ws_client import dictate, run

RATE = 16000
PATH = "/v1/audio/transcriptions"


def _phrase(text: str, seconds: float, seed: int) -> KnownPhrase:
    noise = np.random.default_rng(seed).integers(-8000, 8000, int(seconds * RATE))
    return KnownPhrase(text, noise.astype(np.int16))


PHRASES = [_phrase("alpha one", 3.0, 1), _phrase("bravo two", 2.5, 2), _phrase("charlie three", 3.5, 3),
           _phrase("delta four", 2.0, 4)]


def _recording(gap_seconds: float = 0.8) -> tuple[bytes, list[tuple[int, int]]]:
    """A WAV file of the phrases with quiet gaps; also each phrase's sample range."""
    pieces, spans, at = [], [], 0
    quiet = np.random.default_rng(9).integers(-30, 30, int(gap_seconds * RATE)).astype(np.int16)
    for phrase in PHRASES:
        pieces += [quiet, phrase.audio]
        at += len(quiet)
        spans.append((at, at + len(phrase.audio)))
        at += len(phrase.audio)
    pieces.append(quiet)
    return _wav(np.concatenate(pieces)), spans


def _wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server():
    with running_server(backend_factory=lambda config: ScriptedBackend(PHRASES), window_seconds=5.0,
                        token="s3cret", max_upload_mb=1.0) as running:
        yield running


def _post(server, files=None, data=None, token: str | None = "s3cret", **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"http://127.0.0.1:{server.port}{PATH}", files=files, data=data, headers=headers,
                      timeout=60, **kwargs)


def test_a_long_file_is_cut_in_pauses_and_every_phrase_comes_back_once_in_order(server):
    wav, spans = _recording()
    response = _post(server, files={"file": ("talk.wav", wav, "audio/wav")},
                     data={"model": "whisper-1", "response_format": "verbose_json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "alpha one bravo two charlie three delta four"
    segments = body["segments"]
    assert len(segments) >= 3, "a 15 s file with --window-seconds 5 takes several windows"
    assert all(s["end"] - s["start"] <= 5.0 + 1e-6 for s in segments)
    assert segments[0]["start"] == 0 and segments[-1]["end"] == pytest.approx(body["duration"], abs=1e-3)
    for segment in segments[:-1]:  # every cut falls in a gap, never inside a phrase
        cut = round(segment["end"] * RATE)
        assert not any(start < cut < end for start, end in spans), (cut, spans)
    assert body["language"] == "english" and body["task"] == "transcribe"


def test_response_formats_json_and_text_and_the_prompt_and_language(server):
    wav = _wav(np.concatenate([np.zeros(4000, np.int16), PHRASES[1].audio, np.zeros(4000, np.int16)]))
    plain = _post(server, files={"file": ("a.wav", wav)}, data={"response_format": "text", "language": "zh",
                                                                "prompt": "Qwen, 术语"})
    assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/plain")
    assert plain.text == "bravo two\n"
    default = _post(server, files={"file": ("a.wav", wav)})
    assert default.json() == {"text": "bravo two"}


def test_audio_at_another_rate_is_resampled(server):
    tone = (np.sin(np.arange(3 * 44100) * 2 * np.pi * 440 / 44100) * 8000).astype(np.int16)
    response = _post(server, files={"file": ("tone.wav", _wav(tone, 44100))}, data={"response_format": "verbose_json"})
    assert response.status_code == 200
    assert response.json()["duration"] == pytest.approx(3.0, abs=0.01)


@pytest.mark.parametrize(("files", "data", "status", "words"), [
    (None, {"model": "x"}, 400, "multipart/form-data"),
    ({"other": ("a.wav", b"RIFF")}, None, 400, "'file'"),
    ({"file": ("a.wav", b"this is not audio")}, None, 400, "could not read the audio"),
    ({"file": ("a.wav", b"x")}, {"response_format": "srt"}, 400, "json, text, verbose_json"),
    ({"file": ("a.wav", b"x")}, {"language": "Klingon"}, 400, "not supported"),
    ({"file": ("a.wav", b"x")}, {"prompt": "p" * 2001}, 400, "--max-context-chars"),
])
def test_bad_requests_get_an_openai_style_error_that_says_what_to_fix(server, files, data, status, words):
    response = _post(server, files=files, data=data) if files else _post(server, data=data)
    assert response.status_code == status
    assert words in response.json()["error"]["message"]
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_the_token_is_required_and_a_refused_upload_is_not_read(server):
    wav, _ = _recording()
    assert _post(server, files={"file": ("a.wav", wav)}, token=None).status_code == 401
    assert _post(server, files={"file": ("a.wav", wav)}, token="wrong").status_code == 401
    too_big = _post(server, files={"file": ("big.wav", b"\0" * (1024 * 1024 + 1))})
    assert too_big.status_code == 413 and "--max-upload-mb" in too_big.json()["error"]["message"]


def test_other_paths_get_404_and_the_websocket_side_still_works(server):
    response = httpx.post(f"http://127.0.0.1:{server.port}/v1/chat/completions", json={},
                          headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 404 and PATH in response.json()["error"]["message"]
    assert httpx.get(f"http://127.0.0.1:{server.port}/healthz").json()["status"] == "ok"
    pcm = PHRASES[0].audio.astype("<i2").tobytes()
    messages = run(dictate(server.url, [pcm], headers={"Authorization": "Bearer s3cret"}))
    assert [m["text"] for m in messages if m["type"] == "final"] == ["alpha one"]


def test_expect_100_continue_and_a_chunked_body_are_understood(server):
    """curl sends `Expect: 100-continue` for large forms and waits for the 100 before the body."""
    wav = _wav(np.concatenate([np.zeros(800, np.int16), PHRASES[3].audio]))
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + wav + f"\r\n--{boundary}--\r\n".encode()
    head = (f"POST {PATH}?token=s3cret HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}"
            f"\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        assert sock.recv(64).startswith(b"HTTP/1.1 100 ")
        for start in range(0, len(body), 50000):
            chunk = body[start:start + 50000]
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status, _, rest = reply.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 200")
    assert json.loads(rest.partition(b"\r\n\r\n")[2]) == {"text": "delta four"}


def test_quiet_windows_cover_the_audio_exactly_within_the_limit():
    rng = np.random.default_rng(0)
    speech = rng.standard_normal(16000 * 23).astype(np.float32)
    speech[16000 * 8: 16000 * 8 + 3200] = 0.0  # a 200 ms pause 8 s in
    windows = quiet_windows(speech, 16000, 10.0, search_seconds=4.0)
    assert windows[0][0] == 0 and windows[-1][1] == len(speech)
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(windows))
    assert all(0 < end - start <= 160000 for start, end in windows)
    assert 16000 * 8 <= windows[0][1] <= 16000 * 8 + 3200, "the first cut lands in the pause"
    assert quiet_windows(speech[:16000], 16000, 10.0) == [(0, 16000)]
    assert quiet_windows(np.zeros(0, np.float32), 16000, 10.0) == []


def test_with_the_vllm_engine_the_windows_go_to_the_engine_over_http(tiny_checkpoint):
    from dictation_devtools.fake_engine import FakeEngine

    with FakeEngine(tiny_checkpoint) as engine, \
            running_server(tiny_checkpoint, backend="vllm", engine_url=engine.url, window_seconds=4.0) as server:
        wav = _wav(np.concatenate([np.full(3 * RATE, 1000, np.int16), np.zeros(RATE // 2, np.int16),
                                   np.full(3 * RATE, 1000, np.int16)]))
        response = _post(server, files={"file": ("a.wav", wav)}, data={"response_format": "verbose_json"},
                         token=None)
        assert response.status_code == 200, response.text
        segments = response.json()["segments"]
        assert len(segments) == 2 and len(engine.calls_with("done")) == 2
        assert all(call.priority == 1 for call in engine.calls), "uploads go at partial priority: finals first"
        assert segments[0]["text"].startswith("amp1000 n")
