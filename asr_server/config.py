"""The server's settings: one dataclass with documented defaults, loaded once from TOML plus CLI overrides.

Every field of `ServerConfig` is a TOML key (`--config server.toml`) and a CLI flag (`--chunk-seconds 1.0`,
booleans as `--insecure-no-auth` / `--no-insecure-no-auth`). The CLI wins over the file, the file wins over
the defaults. `--help` prints the same documentation as this module.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from asr_server.errors import ConfigError
from dictation_core.config import ConfigLoader
from dictation_core.config import setting_doc as _doc

BACKENDS = ("vllm", "transformers")
DEVICES = ("auto", "cpu", "cuda")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class ServerConfig:
    """All server settings. Immutable; the defaults are safe for one desktop GPU that also drives a display."""

    model: str = field(default="", metadata=_doc(
        "Model directory or Hugging Face id (e.g. Qwen/Qwen3-ASR-1.7B). A relative path is made absolute, "
        "because vLLM workers start in another directory."))
    backend: str = field(default="vllm", metadata=_doc(
        "Inference engine: \"vllm\" (vLLM's OpenAI-compatible server at --engine-url, on the GPU: continuous "
        "batching, priorities, aborts) or \"transformers\" (in this process, CPU or GPU)."))
    engine_url: str = field(default="http://127.0.0.1:8000/v1", metadata=_doc(
        "vllm backend: base URL of `vllm serve` / `qwen-asr-serve` (one server, one with --data-parallel-size N, "
        "or a router in front of replicas). Start it with --scheduling-policy priority."))
    engine_api_key: str | None = field(default=None, metadata=_doc(
        "vllm backend: the engine's --api-key, sent as a Bearer token (unset: none)."))
    engine_timeout_seconds: float = field(default=8.0, metadata=_doc(
        "vllm backend: longest wait for one decode request, retries included, before it fails with an engine "
        "error (the client then resends). Below the client's 10 s final timeout, so a hung engine is reported "
        "by the server before the client gives up."))
    engine_retry_seconds: float = field(default=4.0, metadata=_doc(
        "vllm backend: how long a request that failed in transport (engine restarting, 502/503/504) is retried "
        "before its utterance gets an engine error; below the client's 10 s final timeout."))
    shed_queue_depth: int = field(default=16, metadata=_doc(
        "vllm backend: while this many requests wait in the engine's queue (vllm:num_requests_waiting), partial "
        "steps are skipped; finals are never skipped."))
    host: str = field(default="127.0.0.1", metadata=_doc(
        "Address to listen on. Loopback by default (WSL2 forwards it to Windows); any other address needs "
        "--token or --insecure-no-auth."))
    port: int = field(default=8765, metadata=_doc("TCP port for WebSocket and GET /healthz (0 = a free port)."))
    token: str | None = field(default=None, metadata=_doc(
        "Shared secret clients send as `Authorization: Bearer T` or `?token=T`; required off loopback."))
    insecure_no_auth: bool = field(default=False, metadata=_doc(
        "Allow listening beyond loopback without a token (only on a network you trust)."))
    device: str = field(default="auto", metadata=_doc(
        "transformers backend: \"auto\" (CUDA when available), \"cpu\" or \"cuda\". vLLM always uses the GPU."))
    language: str | None = field(default=None, metadata=_doc(
        "Force this language for every session that does not choose one in its hello (e.g. Chinese); "
        "unset means the model detects it."))
    chunk_seconds: float = field(default=1.0, metadata=_doc(
        "Seconds of new audio per streaming decode step; the first partial comes after this much speech."))
    window_seconds: float = field(default=20.0, metadata=_doc(
        "Longest audio window re-fed to the model; past it the text so far is committed and a fresh window "
        "starts, so cost grows linearly with utterance length (Qwen3-ASR issue #148)."))
    refeed_ratio: float = field(default=4.0, metadata=_doc(
        "Most seconds of audio partial steps re-feed per second of speech: late in a long window, partials come "
        "every window/ratio seconds instead of every chunk, so decoder load stays linear. Finals are not delayed."))
    max_utterance_seconds: float = field(default=120.0, metadata=_doc(
        "Longest utterance: past it the server sends its final and a too_long error, and the rest of the audio "
        "until stop becomes a continuation utterance with id \"<id>.2\" (nothing is dropped)."))
    max_sessions: int = field(default=8, metadata=_doc(
        "Most concurrent connections; more get HTTP 503. Also the largest batch of one decode step."))
    max_batch_size: int = field(default=0, metadata=_doc(
        "Most utterance steps in one decode call (0 = --max-sessions). 1 serializes decoding like the original "
        "server, for comparison."))
    max_partial_batch_size: int = field(default=16, metadata=_doc(
        "Most partial (not yet stopped) steps in one decode call (0 = --max-batch-size). A final waits for the "
        "decode call in progress, so smaller partial batches bound how long it waits under load."))
    max_session_steps: int = field(default=2, metadata=_doc(
        "Most decode steps one connection has at the engine at once; its further steps wait in its own queue, "
        "so a flood from one connection cannot delay anybody else's final."))
    max_session_backlog: int = field(default=8, metadata=_doc(
        "Most steps waiting in one connection's own queue; past it a stopped utterance gets a busy error with "
        "its id instead of its final (the client sends it again), and partial steps are skipped."))
    max_outbox_messages: int = field(default=256, metadata=_doc(
        "Most messages waiting to be sent to one client; a client that stops reading is closed (code 1008, "
        "with the reason) at this bound instead of making the server hold its messages."))
    idle_timeout_seconds: float = field(default=1800.0, metadata=_doc(
        "Close a connection that sends nothing for this long (0 = never), to free its session slot."))
    gpu_memory_utilization: float = field(default=0.5, metadata=_doc(
        "The engine's (vLLM's) fraction of the GPU's memory for weights and KV cache; scripts/start_server.sh "
        "sizes it and passes it to the engine it starts (vLLM's own default, 0.9, does not fit a GPU that also "
        "drives a display). asr_server itself does not use it."))
    max_model_len: int = field(default=4096, metadata=_doc(
        "The engine's (vLLM's) longest prompt + audio + output in tokens, passed to it by "
        "scripts/start_server.sh; 4096 holds a 20 s window with room to spare."))
    max_new_tokens: int = field(default=256, metadata=_doc(
        "Most tokens one decode step may generate (about 150 words; bounds a runaway decode)."))
    unfixed_chunk_num: int = field(default=2, metadata=_doc(
        "The first N steps of a window decode without the previous text as prefix (it is still unstable)."))
    unfixed_token_num: int = field(default=5, metadata=_doc(
        "Later steps reuse the previous text minus its last K tokens as the prompt prefix."))
    max_frame_bytes: int = field(default=65536, metadata=_doc(
        "Largest WebSocket frame accepted (64 KiB = 2 s of audio); larger ones get a bad_message error."))
    max_context_chars: int = field(default=2000, metadata=_doc(
        "Longest glossary (hello context) accepted, so prompts stay well inside max_model_len."))
    allowed_hosts: tuple[str, ...] = field(default=(), metadata=_doc(
        "Host names (the HTTP Host header, without port) this server answers besides IP addresses, localhost "
        "and --host: add the names clients use to reach it (e.g. [\"desktop.lan\"]). Any other name is refused "
        "(403), which stops DNS rebinding. [\"*\"] turns the check off."))
    allowed_origins: tuple[str, ...] = field(default=(), metadata=_doc(
        "Web pages (Origin, e.g. \"https://app.example\") that may open a WebSocket or upload from a browser, "
        "CORS included. By default only the server's own origin; any other page is refused (403)."))
    hello_timeout_seconds: float = field(default=5.0, metadata=_doc(
        "Close a WebSocket that has not sent a valid first message (hello or start) within this many seconds "
        "(1008); until then it holds no session slot."))
    max_pending_per_ip: int = field(default=32, metadata=_doc(
        "Most connections from one IP address that are not yet sessions (handshakes, WebSockets before their "
        "first message, uploads being read); more are closed at once."))
    max_messages_per_second: int = field(default=2000, metadata=_doc(
        "Most messages (frames) read from one connection per second; past it the connection is not read until "
        "the second is over, so one flooding client cannot take the event loop from the others (a client sends "
        "about 30 a second)."))
    max_write_buffer_bytes: int = field(default=1 << 20, metadata=_doc(
        "Most bytes waiting to be written to one client (answers to its pings included); a client that does "
        "not read past this is closed (1008)."))
    max_bad_messages_per_second: int = field(default=10, metadata=_doc(
        "Most bad_message errors answered per connection per second; the rest are counted and logged once a "
        "second, unanswered."))
    max_upload_mb: float = field(default=25.0, metadata=_doc(
        "POST /v1/audio/transcriptions: largest audio file accepted, in MB (OpenAI's limit is 25); larger get 413."))
    upload_timeout_seconds: float = field(default=600.0, metadata=_doc(
        "POST /v1/audio/transcriptions: longest one upload may take once read, decoding and transcribing; then "
        "it is closed."))
    upload_head_timeout_seconds: float = field(default=5.0, metadata=_doc(
        "POST /v1/audio/transcriptions: the request line and headers must arrive within this many seconds."))
    upload_body_timeout_seconds: float = field(default=60.0, metadata=_doc(
        "POST /v1/audio/transcriptions: the whole body must arrive within this many seconds (408 past it)."))
    max_upload_seconds: float = field(default=7200.0, metadata=_doc(
        "POST /v1/audio/transcriptions: longest audio accepted, in seconds of sound (2 hours); checked on the "
        "file's declared length and again while decoding, so a small file that decodes to hours costs nothing."))
    max_uploads: int = field(default=2, metadata=_doc(
        "POST /v1/audio/transcriptions: most uploads read or transcribed at once (each holds its body and "
        "about 230 MB per hour of decoded audio); more get 503."))
    max_uploads_per_ip: int = field(default=2, metadata=_doc(
        "POST /v1/audio/transcriptions: most uploads at once from one IP address; more get 429."))
    log_level: str = field(default="INFO", metadata=_doc("Logging level: DEBUG, INFO, WARNING or ERROR."))
    config_file: str | None = field(default=None, metadata=_doc(
        "TOML file with any of these settings as keys (snake_case); flags override it."))

    def __post_init__(self) -> None:
        _check(self)

    @property
    def is_loopback(self) -> bool:
        """Whether `host` only accepts connections from this machine (the only place no token is needed)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def _check(config: ServerConfig) -> None:
    """Validate at the edge, so a bad value fails at start with a message that names the flag."""
    if config.backend not in BACKENDS:
        raise ConfigError(f"--backend {config.backend!r}: choose one of {', '.join(BACKENDS)}")
    if config.device not in DEVICES:
        raise ConfigError(f"--device {config.device!r}: choose one of {', '.join(DEVICES)}")
    if config.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"--log-level {config.log_level!r}: choose one of {', '.join(LOG_LEVELS)}")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"--port {config.port}: use 0..65535 (0 picks a free port)")
    positive = {
        "chunk_seconds": config.chunk_seconds, "window_seconds": config.window_seconds,
        "max_utterance_seconds": config.max_utterance_seconds, "max_sessions": config.max_sessions,
        "max_model_len": config.max_model_len, "max_new_tokens": config.max_new_tokens,
        "max_frame_bytes": config.max_frame_bytes, "refeed_ratio": config.refeed_ratio,
        "engine_timeout_seconds": config.engine_timeout_seconds, "max_session_steps": config.max_session_steps,
        "max_upload_mb": config.max_upload_mb, "upload_timeout_seconds": config.upload_timeout_seconds,
        "max_outbox_messages": config.max_outbox_messages, "hello_timeout_seconds": config.hello_timeout_seconds,
        "max_pending_per_ip": config.max_pending_per_ip, "max_write_buffer_bytes": config.max_write_buffer_bytes,
        "max_bad_messages_per_second": config.max_bad_messages_per_second,
        "max_messages_per_second": config.max_messages_per_second,
        "upload_head_timeout_seconds": config.upload_head_timeout_seconds,
        "upload_body_timeout_seconds": config.upload_body_timeout_seconds,
        "max_upload_seconds": config.max_upload_seconds, "max_uploads": config.max_uploads,
        "max_uploads_per_ip": config.max_uploads_per_ip,
    }
    for name, value in positive.items():
        if value <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} {value}: must be greater than 0")
    if config.window_seconds < config.chunk_seconds:
        raise ConfigError(f"--window-seconds {config.window_seconds} is shorter than --chunk-seconds "
                          f"{config.chunk_seconds}: make the window at least one chunk long")
    if not 0 < config.gpu_memory_utilization <= 1:
        raise ConfigError(f"--gpu-memory-utilization {config.gpu_memory_utilization}: use a fraction in (0, 1]")
    if config.max_batch_size < 0 or config.max_partial_batch_size < 0:
        raise ConfigError("--max-batch-size and --max-partial-batch-size: use 0 (no separate limit) or more")
    if config.idle_timeout_seconds < 0 or config.unfixed_chunk_num < 0 or config.unfixed_token_num < 0 \
            or config.max_context_chars < 0:
        raise ConfigError("--idle-timeout-seconds, --unfixed-chunk-num, --unfixed-token-num and "
                          "--max-context-chars must not be negative")
    if config.engine_retry_seconds < 0 or config.shed_queue_depth < 0 or config.max_session_backlog < 0:
        raise ConfigError("--engine-retry-seconds, --shed-queue-depth and --max-session-backlog must not be "
                          "negative")
    if not config.engine_url.startswith(("http://", "https://")):
        raise ConfigError(f"--engine-url {config.engine_url!r}: use the engine's OpenAI base URL, such as "
                          "http://127.0.0.1:8000/v1")
    if config.token is not None and not config.token:
        raise ConfigError("--token is empty: pass a non-empty secret or leave it out")
    if not config.is_loopback and not config.token and not config.insecure_no_auth:
        raise ConfigError(f"--host {config.host} accepts connections from other machines: set --token SECRET "
                          "(clients send it as a Bearer token) or, on a trusted network only, --insecure-no-auth")


def resolve_model(model: str) -> str:
    """An existing local path becomes absolute; a Hugging Face id (`org/name`) is kept; anything else fails.

    vLLM spawns workers that may start in another directory, so a relative path must be made absolute.
    """
    if not model:
        raise ConfigError("no model: pass --model DIR (a downloaded checkpoint) or a Hugging Face id such as "
                          "Qwen/Qwen3-ASR-1.7B")
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"--model {model}: is a file; pass the checkpoint directory that holds config.json")
        return str(path.resolve())
    looks_like_path = (model.startswith((".", "/", "~")) or "\\" in model or model.count("/") != 1
                       or ":" in model)
    if looks_like_path:
        raise ConfigError(f"--model {model}: no such directory ({path.resolve()}); pass an existing checkpoint "
                          "directory or a Hugging Face id such as Qwen/Qwen3-ASR-1.7B")
    return model


LOADER = ConfigLoader(
    ServerConfig, prog="python -m asr_server",
    description="Streaming Qwen3-ASR over WebSocket (protocol v1): many sessions batched on one model.",
    epilog="Every flag is also a TOML key in --config FILE (snake_case); flags override the file.",
    error=ConfigError, flags={"config_file": "--config"})


def load_config(argv: list[str] | None = None, *, resolve: bool = True) -> ServerConfig:
    """Defaults, then the TOML file (`--config FILE`), then the CLI flags in `argv`; the model path resolved."""
    values = LOADER.values(argv)
    if resolve:
        values["model"] = resolve_model(str(values.get("model", "")))
    return ServerConfig(**values)


def help_text() -> str:
    """The `--help` text, for the README and its test."""
    return LOADER.help_text()
