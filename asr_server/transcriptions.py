"""`POST /v1/audio/transcriptions`: OpenAI's file transcription API on the WebSocket port, for apps that take an
OpenAI-compatible URL (WhisperWriter, OpenWhispr, VoiceInk, Buzz).

Multipart form fields: `file` (WAV, FLAC, OGG or MP3; any rate, mono or not), `model` (accepted, not used: the
server has one model), `language` (ISO 639-1 like `en` / `zh`, or Qwen's name like `English`), `prompt` (used as
the glossary context, as a session's hello context is), `response_format` (`json`, `text` or `verbose_json`).
The same token as WebSocket clients is required (Bearer header or ?token=), the same Host and Origin rules apply
(origin.py: a web page may upload only from an allowed origin, with CORS), and at most --max-uploads run at once
(--max-uploads-per-ip from one address), counted before the body is read. The file is decoded in a small pool of
worker threads, never on the event loop, and refused past --max-upload-seconds of sound (audio_decode.py). Long recordings are cut at quiet points into windows of at most --window-seconds
(audio_windows.py); every window is decoded at partial priority, so live dictation's finals go first.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from asr_server.audio_decode import AudioFileError, TooLongError, decode_upload
from asr_server.audio_windows import quiet_windows
from asr_server.auth import headers_token_matches
from asr_server.budget import AddressBudget
from asr_server.config import ServerConfig
from asr_server.engine.base import DecodeFailed, DecodeRequest, EngineInfo, StepOutput
from asr_server.http_upload import HttpRequest, HttpResponse, PostHandler
from asr_server.origin import OriginPolicy
from dictation_core.joining import join_text
from dictation_core.protocol import SAMPLE_RATE, normalize_language

log = logging.getLogger(__name__)

PATH = "/v1/audio/transcriptions"
FORMATS = ("json", "text", "verbose_json")
# ISO 639-1/-3 codes that apps send, to Qwen3-ASR's language names.
_ISO = {"zh": "Chinese", "en": "English", "yue": "Cantonese", "ar": "Arabic", "de": "German", "fr": "French",
        "es": "Spanish", "pt": "Portuguese", "id": "Indonesian", "it": "Italian", "ko": "Korean", "ru": "Russian",
        "th": "Thai", "vi": "Vietnamese", "ja": "Japanese", "tr": "Turkish", "hi": "Hindi", "ms": "Malay",
        "nl": "Dutch", "sv": "Swedish", "da": "Danish", "fi": "Finnish", "pl": "Polish", "cs": "Czech",
        "fil": "Filipino", "tl": "Filipino", "fa": "Persian", "el": "Greek", "hu": "Hungarian",
        "mk": "Macedonian", "ro": "Romanian"}
_SKIPPED_RETRY_SECONDS = 0.2  # a window the engine shed (queue full) is sent again after this


class RequestError(Exception):
    """A client mistake: answered with `status` and an OpenAI-style error body."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.param = param


def error_response(status: int, message: str, param: str | None = None) -> HttpResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return HttpResponse(status, (json.dumps(body, ensure_ascii=False) + "\n").encode())


@dataclass(frozen=True)
class Segment:
    """One window of the file and what it decoded to."""

    start: float
    end: float
    language: str
    text: str


class TranscriptionEndpoint(PostHandler):
    """Answers `POST /v1/audio/transcriptions` through the server's decoder (`submit`, as sessions use it)."""

    def __init__(self, config: ServerConfig, engine: Callable[[], EngineInfo | None],
                 submit: Callable[[DecodeRequest], Future[StepOutput | None]], policy: OriginPolicy | None = None) -> None:
        self._config = config
        self._engine = engine
        self._submit = submit
        self._policy = policy or OriginPolicy.build(config.host, config.allowed_hosts, config.allowed_origins)
        self._active = 0
        self._per_address = AddressBudget(config.max_uploads_per_ip)
        # Decoding a file is CPU work that must not run on the event loop; at most --max-uploads at once.
        self._decoders = ThreadPoolExecutor(max_workers=config.max_uploads, thread_name_prefix="upload-decode")
        self.body_limit = int(config.max_upload_mb * 1024 * 1024)
        self.deadline = config.upload_timeout_seconds

    @property
    def active(self) -> int:
        """Uploads being read, decoded or transcribed now (for /healthz)."""
        return self._active

    def close(self) -> None:
        """Stop the decoding threads (a decode in progress finishes on its own)."""
        self._decoders.shutdown(wait=False, cancel_futures=True)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """Host, Origin, path, token, model loaded, capacity: all decided on the head, before the body is read.
        None holds one of --max-uploads (and of --max-uploads-per-ip) until `release`."""
        refusal = self._policy.check(request.headers.get("host"), request.headers.get("origin"))
        if refusal is not None:
            log.warning("refused an HTTP request from %s: %s", request.remote, refusal.message)
            return error_response(403, refusal.message)
        path = urlsplit(request.target).path
        if request.method == "OPTIONS" and path == PATH:
            return self._preflight(request)
        if request.method != "POST" or path != PATH:
            return error_response(404, f"no such endpoint: {request.method} {path} "
                                  f"(this server answers POST {PATH} and WebSocket)")
        if self._config.token and not headers_token_matches(self._config.token, request.headers, request.target):
            log.warning("refused an upload from %s: missing or wrong token", request.remote)
            return error_response(401, "missing or wrong token: send 'Authorization: Bearer <token>'")
        if self._engine() is None:
            return error_response(503, "the model is still loading; retry")
        if self._active >= self._config.max_uploads:
            return error_response(503, f"server busy: {self._active} uploads already (--max-uploads); retry")
        address = _address(request.remote)
        if not self._per_address.take(address):
            return error_response(429, f"{self._per_address.limit} uploads from {address} are already running "
                                  "(--max-uploads-per-ip); send one at a time")
        self._active += 1
        return None

    def release(self, request: HttpRequest) -> None:
        self._active -= 1
        self._per_address.give_back(_address(request.remote))

    async def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            response = await self._transcribe(request)
        except RequestError as error:
            response = error_response(error.status, str(error), error.param)
        return _with_cors(response, request.headers.get("origin"))

    def too_large(self) -> HttpResponse:
        return error_response(413, f"the upload is over --max-upload-mb ({self._config.max_upload_mb:g} MB)", "file")

    def _preflight(self, request: HttpRequest) -> HttpResponse:
        """CORS preflight: only an allowed origin gets here (check refused the others), and it may POST."""
        origin = request.headers.get("origin")
        if origin is None:
            return HttpResponse(204, b"", "text/plain")
        return HttpResponse(204, b"", "text/plain", {
            "access-control-allow-origin": origin, "access-control-allow-methods": "POST",
            "access-control-allow-headers": "authorization, content-type", "access-control-max-age": "600",
            "vary": "origin"})

    async def _transcribe(self, request: HttpRequest) -> HttpResponse:
        form = parse_form(request.headers.get("content-type", ""), request.body)
        if "file" not in form or not form["file"]:
            raise RequestError(400, "the form has no 'file' field with the audio", "file")
        response_format = form.get("response_format", b"json").decode("utf-8", "replace").strip() or "json"
        if response_format not in FORMATS:
            raise RequestError(400, f"response_format {response_format!r} is not supported; use one of "
                               f"{', '.join(FORMATS)}", "response_format")
        language = self._language(form.get("language", b"").decode("utf-8", "replace"))
        context = form.get("prompt", b"").decode("utf-8", "replace")
        if len(context) > self._config.max_context_chars:
            raise RequestError(400, f"prompt of {len(context)} characters is over the "
                               f"{self._config.max_context_chars} limit (--max-context-chars)", "prompt")
        loop = asyncio.get_running_loop()
        data = form.pop("file")
        audio, windows = await loop.run_in_executor(self._decoders, self._decode_file, data)
        del data
        log.info("upload from %s: %.1f s of audio in %d window(s)", request.remote, len(audio) / SAMPLE_RATE,
                 len(windows))
        # A long file is many windows: at most --max-session-steps at the decoder at once, as for a session.
        slots = asyncio.Semaphore(self._config.max_session_steps)
        outputs = await asyncio.gather(*(self._decode(audio[a:b], context, language, slots) for a, b in windows))
        segments = [Segment(a / SAMPLE_RATE, b / SAMPLE_RATE, out.language, out.text)
                    for (a, b), out in zip(windows, outputs, strict=True)]
        return render(segments, response_format, len(audio) / SAMPLE_RATE)

    def _decode_file(self, data: bytes) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """On a decoding thread: the audio and its windows (finding quiet points reads the whole file too)."""
        try:
            audio = decode_upload(data, self._config.max_upload_seconds)
        except TooLongError as error:
            raise RequestError(413, str(error), "file") from error
        except AudioFileError as error:
            raise RequestError(400, str(error), "file") from error
        return audio, quiet_windows(audio, SAMPLE_RATE, self._config.window_seconds)

    def _language(self, value: str) -> str | None:
        name = _ISO.get(value.strip().lower(), value)
        language = normalize_language(name)
        engine = self._engine()
        supported = engine.supported_languages if engine else ()
        if language is not None and supported and language not in supported:
            raise RequestError(400, f"language {value!r} is not supported; use an ISO 639-1 code or one of "
                               f"{', '.join(supported)}", "language")
        return language

    async def _decode(self, audio: np.ndarray, context: str, language: str | None,
                      slots: asyncio.Semaphore) -> StepOutput:
        async with slots:
            return await self._decode_window(audio, context, language)

    async def _decode_window(self, audio: np.ndarray, context: str, language: str | None) -> StepOutput:
        while True:
            step = self._submit(DecodeRequest(label="upload", context=context, language=language, audio=audio,
                                              prefix_raw=None, rollback_tokens=0, urgent=False))
            try:
                output = await asyncio.wrap_future(step)  # cancelled with the upload: the step is withdrawn too
            except DecodeFailed as error:
                raise RequestError(502, f"decoding failed: {error}") from error
            if output is not None:
                return output
            await asyncio.sleep(_SKIPPED_RETRY_SECONDS)  # shed by a full engine queue: not lost, sent again


def render(segments: list[Segment], response_format: str, duration: float) -> HttpResponse:
    """The body OpenAI's API gives for each format; the windows' texts joined by the dictation joining rule."""
    text = ""
    for segment in segments:
        text = join_text(text, segment.text) if text else segment.text.strip()
    if response_format == "text":
        return HttpResponse(200, (text + "\n").encode(), "text/plain; charset=utf-8")
    body: dict[str, object] = {"text": text}
    if response_format == "verbose_json":
        language = next((s.language for s in segments if s.language), "")
        body = {"task": "transcribe", "language": language.lower(), "duration": round(duration, 3), "text": text,
                "segments": [{"id": i, "start": round(s.start, 3), "end": round(s.end, 3), "text": s.text}
                             for i, s in enumerate(segments)]}
    return HttpResponse(200, (json.dumps(body, ensure_ascii=False) + "\n").encode())


def parse_form(content_type: str, body: bytes) -> dict[str, bytes]:
    """multipart/form-data fields by name (python-multipart's streaming parser, all in memory)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise RequestError(400, "send the audio as multipart/form-data with a 'file' field "
                           f"(got Content-Type {content_type or 'none'!r})")
    form = _Form()
    try:
        parser = MultipartParser(params[b"boundary"], form.callbacks())
        parser.write(body)
        parser.finalize()
    except Exception as error:
        raise RequestError(400, f"malformed multipart body: {error}") from error
    return form.fields


class _Form:
    """Collects python-multipart's part events into {name: bytes}."""

    def __init__(self) -> None:
        self.fields: dict[str, bytes] = {}
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self._data: list[bytes] = []

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {"on_part_begin": self._begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_part_data": self._part_data, "on_part_end": self._end}

    def _begin(self) -> None:
        self._headers, self._name, self._value, self._data = {}, b"", b"", []

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])

    def _end(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, disposition = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name:
            self.fields[name] = b"".join(self._data)


def _address(remote: str) -> str:
    """`127.0.0.1:5555` -> `127.0.0.1` (the port differs on every connection)."""
    return remote.rpartition(":")[0] or remote


def _with_cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    """An answer a page from an allowed origin may read (check refused every other origin)."""
    if origin is None:
        return response
    return HttpResponse(response.status, response.body, response.content_type,
                        {**response.headers, "access-control-allow-origin": origin, "vary": "origin"})
