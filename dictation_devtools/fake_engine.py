"""vLLM's OpenAI-compatible server (`vllm serve` / `qwen-asr-serve`), faked at its HTTP API for tests.

vLLM needs a GPU, so tests stand this in at the engine boundary. It speaks the part of the API asr_server uses,
in the shapes vLLM's own source defines (vllm/entrypoints/openai/chat_completion/protocol.py, chat_utils.py):

- `POST /v1/chat/completions`, streamed (SSE `data: {chunk}` ... `data: [DONE]`) or not. The messages are
  turned into a conversation the way vLLM does for a chat template that loops over `message['content']`
  ("openai" content format): a string content becomes `[{"type": "text", "text": s}]`, an `input_audio` or
  `audio_url` part becomes `{"type": "audio"}` and its WAV goes to the multimodal data. The conversation is then
  rendered with the checkpoint's own tokenizer and chat template (`add_generation_prompt`,
  `continue_final_message`, as vLLM passes them to transformers) and tokenized without special tokens.
  It validates as vLLM 0.26 does (measured on an H100, docs/engine.md): `continue_final_message` together with
  `add_generation_prompt` is refused with 400; so is audio of 200 samples (12.5 ms) or fewer, which Whisper's
  feature extractor cannot frame (its reflect padding needs more than n_fft/2 = 200 samples); a `priority` other
  than 0 on an engine started without `--scheduling-policy priority` is accepted and silently ignored (served
  first come, first served). `refuses_priority=True` stands in for older vLLM, which refused it with 400.
- `GET /health`, `GET /v1/models` and `GET /metrics` (`vllm:num_requests_waiting`, `vllm:num_requests_running`).

Scheduling: at most `max_running` requests decode at once; the others wait, ordered by (priority, arrival) like
vLLM's priority policy (lower value first). A request whose client disconnects is aborted, waiting or running.
What a request answers comes from `answer(call)` (the full assistant text; the engine returns only what
follows the prompt's assistant prefix, as a model continuing it would) and how long it runs from
`decode_seconds(call)`. Subclasses may replace `_run` with an iteration-level cost model for benchmarks.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import io
import itertools
import json
import select
import socket
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from dictation_core.protocol import SAMPLE_RATE

ASSISTANT = "<|im_start|>assistant\n"
# vLLM's audio processing fails on this many samples or fewer (WhisperFeatureExtractor: reflect padding of n_fft/2).
MIN_REFUSED_SAMPLES = 200


class BadRequest(Exception):
    """What vLLM answers with 400 and an error body."""


class Aborted(Exception):
    """The client went away; vLLM aborts the request."""


@dataclass(eq=False)
class EngineCall:
    """One chat completion as the engine saw it."""

    body: dict[str, Any]
    prompt: str
    prompt_ids: list[int]
    audio: np.ndarray
    priority: int
    arrival: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    outcome: str = "waiting"  # waiting, running, done, aborted
    text: str = ""

    @property
    def assistant_prefix(self) -> str:
        """What the prompt already holds of the assistant turn (forced language header, rollback prefix)."""
        return self.prompt.split(ASSISTANT)[-1] if ASSISTANT in self.prompt else ""


def audio_marker_text(audio: np.ndarray) -> str:
    """`amp<N> n<samples>`: N is the constant int16 amplitude a test client filled its audio with."""
    amplitude = round(float(np.median(audio)) * 32768) if len(audio) else 0
    return f"amp{amplitude} n{len(audio)}"


def marker_answer(call: EngineCall) -> str:
    """Default script: `language English<asr_text>amp<N> n<samples>` from the audio it was given."""
    prefix = call.assistant_prefix
    header = "language English<asr_text>"
    if prefix.startswith("language ") and "<asr_text>" in prefix:
        header = prefix[: prefix.index("<asr_text>") + len("<asr_text>")]
    return header + audio_marker_text(call.audio)


def continuation(prefix: str, full: str) -> str:
    """What a model continuing `prefix` generates to reach `full` (a space then `full`'s tail if they disagree)."""
    if full.startswith(prefix):
        return full[len(prefix):]
    return " " + full.rpartition("<asr_text>")[2]


def decode_wav(data: bytes) -> np.ndarray:
    """16 kHz mono 16-bit WAV bytes -> float32 in [-1, 1] (what vLLM's audio loader yields at the model's rate)."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            if (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) != (SAMPLE_RATE, 1, 2):
                raise BadRequest(f"fake engine takes 16 kHz mono 16-bit WAV, got {reader.getparams()}")
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as error:
        raise BadRequest(f"audio is not a WAV file: {error}") from error
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def _audio_part(part: dict[str, Any]) -> bytes:
    if part["type"] == "input_audio":
        audio = part.get("input_audio") or {}
        if audio.get("format") not in ("wav", None):
            raise BadRequest(f"input_audio format {audio.get('format')!r}: the fake engine takes wav")
        return base64.b64decode(audio["data"], validate=True)
    url = (part.get("audio_url") or {}).get("url", "")
    head, _, data = url.partition(",")
    if not head.startswith("data:audio/") or not head.endswith(";base64"):
        raise BadRequest(f"audio_url {url[:40]!r}: the fake engine takes data:audio/...;base64 URLs")
    return base64.b64decode(data, validate=True)


def conversation_and_audio(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """vLLM's parse_chat_messages for the "openai" content format: text parts as dicts, media as {"type": ...}."""
    conversation, audio = [], []
    for message in messages:
        content = message.get("content")
        parts = [] if content is None else [{"type": "text", "text": content}] if isinstance(content, str) \
            else content
        items: list[dict[str, Any]] = []
        for part in parts:
            kind = part.get("type")
            if kind == "text":
                items.append({"type": "text", "text": part["text"]})
            elif kind in ("input_audio", "audio_url"):
                audio.append(decode_wav(_audio_part(part)))
                items.append({"type": "audio"})
            else:
                raise BadRequest(f"Unsupported chat content part type: {kind!r}")
        conversation.append({"role": message["role"], "content": items})
    return conversation, audio


class FakeEngine:
    """A running fake vLLM server on a free loopback port. Use as a context manager, or `start()`/`close()`."""

    def __init__(self, checkpoint: Path | str, *, answer: Callable[[EngineCall], str] = marker_answer,
                 decode_seconds: Callable[[EngineCall], float] = lambda call: 0.0, max_running: int = 8,
                 priority_scheduling: bool = True, refuses_priority: bool = False,
                 served_model: str = "qwen3-asr-test", port: int = 0) -> None:
        from transformers import AutoTokenizer

        self.checkpoint = str(checkpoint)
        self.tokenizer = AutoTokenizer.from_pretrained(self.checkpoint)
        self.answer = answer
        self.decode_seconds = decode_seconds
        self.max_running = max_running
        self.priority_scheduling = priority_scheduling
        self.refuses_priority = refuses_priority
        self.served_model = served_model
        self.calls: list[EngineCall] = []
        self.refused: list[str] = []
        self._port = port
        self._lock = threading.Condition()
        self._waiting: list[tuple[int, int, EngineCall]] = []
        self._running = 0
        self._order = itertools.count()
        self._killed = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> FakeEngine:
        """Listen on 127.0.0.1 (the same port again after `kill`, so a client sees the engine come back)."""
        engine = self
        self._killed.clear()

        class Handler(_Handler):
            pass

        Handler.engine = engine
        server = _Server(("127.0.0.1", self._port), Handler)
        self._httpd = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-engine", daemon=True)
        self._thread.start()
        return self

    def kill(self) -> None:
        """The engine process dies: stop listening and drop every request in progress without an answer."""
        self._killed.set()
        with self._lock:
            self._lock.notify_all()
            sockets = list(self._sockets)
        for sock in sockets:  # keep-alive connections die with the process too
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)

    def close(self) -> None:
        """Stop (same as kill: nothing is left to answer)."""
        self.kill()

    def __enter__(self) -> FakeEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The bound port."""
        return self._port

    @property
    def url(self) -> str:
        """The OpenAI base URL, as asr_server's --engine-url takes it."""
        return f"http://127.0.0.1:{self._port}/v1"

    # -- what tests look at -----------------------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Requests queued behind the running ones (`vllm:num_requests_waiting`)."""
        with self._lock:
            return len(self._waiting)

    @property
    def running(self) -> int:
        """Requests decoding now."""
        with self._lock:
            return self._running

    def calls_with(self, outcome: str) -> list[EngineCall]:
        """Calls that ended (or stand) with `outcome`."""
        with self._lock:
            return [call for call in self.calls if call.outcome == outcome]

    def render(self, body: dict[str, Any]) -> EngineCall:
        """Validate and render one chat completion request as vLLM would (raises BadRequest)."""
        if body.get("continue_final_message") and body.get("add_generation_prompt", True):
            raise BadRequest("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
        priority = body.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise BadRequest(f"priority {priority!r} is not an integer")
        if priority != 0 and not self.priority_scheduling and self.refuses_priority:
            raise BadRequest(f"Got priority {priority} but Priority scheduling is not enabled.")
        if body.get("model") not in (None, self.served_model):
            raise BadRequest(f"The model `{body.get('model')}` does not exist.")
        conversation, audio = conversation_and_audio(body.get("messages") or [])
        if len(audio) != 1:
            raise BadRequest(f"expected exactly one audio item, got {len(audio)}")
        if len(audio[0]) <= MIN_REFUSED_SAMPLES:
            raise BadRequest(f"Failed to apply Qwen3ASRProcessor on data={{'text': '<|audio_pad|>', 'audio': "
                             f"[array of {len(audio[0])} samples]}} with kwargs={{}}")
        try:
            prompt = self.tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=body.get("add_generation_prompt", True),
                continue_final_message=body.get("continue_final_message", False))
        except ValueError as error:
            raise BadRequest(str(error)) from error
        ids = self.tokenizer.encode(prompt, add_special_tokens=False)
        return EngineCall(body, prompt, ids, audio[0], priority)

    def metrics_text(self) -> str:
        """The lines of vLLM's Prometheus exposition that asr_server reads."""
        labels = f'{{engine="0",model_name="{self.served_model}"}}'
        with self._lock:
            waiting, running = len(self._waiting), self._running
        return ("# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
                "# TYPE vllm:num_requests_running gauge\n"
                f"vllm:num_requests_running{labels} {float(running)}\n"
                "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                "# TYPE vllm:num_requests_waiting gauge\n"
                f"vllm:num_requests_waiting{labels} {float(waiting)}\n")

    # -- scheduling -------------------------------------------------------------------------------------------

    def run(self, call: EngineCall, gone: Callable[[], bool]) -> str:
        """Queue, wait for a slot in priority order, decode; raise Aborted if the client goes away."""
        with self._lock:
            self.calls.append(call)
            entry = (call.priority if self.priority_scheduling else 0, next(self._order), call)
            heapq.heappush(self._waiting, entry)
            try:
                while not (self._running < self.max_running and self._waiting[0] is entry):
                    if gone() or self._killed.is_set():
                        raise Aborted
                    self._lock.wait(0.01)
            except Aborted:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
                call.outcome = "aborted"
                self._lock.notify_all()
                raise
            heapq.heappop(self._waiting)
            self._running += 1
            call.outcome, call.started = "running", time.monotonic()
        try:
            return self._run(call, gone)
        finally:
            with self._lock:
                self._running -= 1
                call.finished = time.monotonic()
                self._lock.notify_all()

    def _run(self, call: EngineCall, gone: Callable[[], bool]) -> str:
        """Decode one admitted request: wait its decode time (aborting on disconnect), then answer."""
        deadline = time.monotonic() + self.decode_seconds(call)
        while True:
            if gone() or self._killed.is_set():
                call.outcome = "aborted"
                raise Aborted
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.005))
        call.text = continuation(call.assistant_prefix, self.answer(call))
        call.outcome = "done"
        return call.text


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: with dozens of sessions' requests connecting at once, the kernel drops
    # SYNs and clients retry after 1 s, 3 s, ... which is no engine's behaviour (uvicorn's backlog is 2048).
    request_queue_size = 2048
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    engine: FakeEngine
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.engine._lock:
            self.engine._sockets.add(self.connection)

    def finish(self) -> None:
        with self.engine._lock:
            self.engine._sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/health":
            self._reply(HTTPStatus.OK, b"", "text/plain")
        elif path == "/metrics":
            self._reply(HTTPStatus.OK, self.engine.metrics_text().encode(), "text/plain; version=0.0.4")
        elif path == "/v1/models":
            model = {"id": self.engine.served_model, "object": "model", "created": int(time.time()),
                     "owned_by": "vllm", "root": self.engine.checkpoint, "parent": None, "max_model_len": 4096}
            self._json(HTTPStatus.OK, {"object": "list", "data": [model]})
        else:
            self._json(HTTPStatus.NOT_FOUND, {"detail": "Not Found"})

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/v1/chat/completions":
            self._json(HTTPStatus.NOT_FOUND, {"detail": "Not Found"})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            call = self.engine.render(body)
        except (BadRequest, ValueError, KeyError, TypeError) as error:
            self.engine.refused.append(str(error))
            self._json(HTTPStatus.BAD_REQUEST, {"error": {"message": str(error), "type": "BadRequestError",
                                                          "param": None, "code": 400}})
            return
        try:
            text = self.engine.run(call, self._client_gone)
        except Aborted:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if body.get("stream"):
            self._stream(body, text)
        else:
            self._json(HTTPStatus.OK, self._completion(body, call, text))

    def _client_gone(self) -> bool:
        """True once the client closed its end (vLLM aborts the request then)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _completion(self, body: dict[str, Any], call: EngineCall, text: str) -> dict[str, Any]:
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": self.engine.served_model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "logprobs": None, "finish_reason": "stop", "stop_reason": None}],
                "usage": {"prompt_tokens": len(call.prompt_ids), "completion_tokens": len(text.split()),
                          "total_tokens": len(call.prompt_ids) + len(text.split())}}

    def _stream(self, body: dict[str, Any], text: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        pieces = [{"role": "assistant", "content": ""}] + [{"content": word} for word in _pieces(text)]
        try:
            for delta in pieces:
                self._chunk(ident, created, delta, None)
            self._chunk(ident, created, {}, "stop")
            self._write_chunk(b"data: [DONE]\n\n")
            self._write_chunk(b"")
        except OSError:
            self.close_connection = True

    def _chunk(self, ident: str, created: int, delta: dict[str, Any], finish: str | None) -> None:
        chunk = {"id": ident, "object": "chat.completion.chunk", "created": created,
                 "model": self.engine.served_model,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        self._write_chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        self._reply(status, json.dumps(body, ensure_ascii=False).encode(), "application/json")

    def _reply(self, status: HTTPStatus, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _pieces(text: str) -> Iterator[str]:
    """Split generated text into stream deltas that join back to it exactly."""
    start = 0
    for index in range(1, len(text)):
        if text[index] == " ":
            yield text[start:index]
            start = index
    if start < len(text):
        yield text[start:]
